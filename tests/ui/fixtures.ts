// Scripted engine events: a short night with a baseline, a keep, a discard and a crash, then
// an experiment in progress. Times are fixed so every rendering is reproducible.

import type { EngineConfig, EngineEvent, ResultRow, Status, Usage } from '../../src/engine/types.js';
import { makeEngineConfig } from '../../src/engine/config.js';

export const T0 = Date.UTC(2026, 10, 26, 3, 0, 0); // 2026-11-26 03:00:00 UTC

/** One experiment at a time (--lookahead 0, one slot): the night below is a strict sequence. */
export const config: EngineConfig = makeEngineConfig('/tmp/repo', 'nov26', { lookahead: 0 });

export function usage(costUsd: number, inputTokens = 12000, outputTokens = 800): Usage {
  return { inputTokens, outputTokens, cacheReadTokens: 30000, cacheWriteTokens: 4000, costUsd };
}

export function row(commit: string, value: number, status: Status, description: string, cost = 0.1, startedAt = T0): ResultRow {
  return {
    commit,
    value,
    memoryGb: status === 'crash' ? 0 : 44.2,
    status,
    description,
    tag: 'nov26',
    startedAt: new Date(startedAt).toISOString(),
    seconds: 330,
    usage: usage(cost),
  };
}

const s = (sec: number) => T0 + sec * 1000;

export const baselineRow = row('a000001', 0.9979, 'keep', 'baseline', 0);
export const keepRow = row('b000002', 0.9912, 'keep', 'raise matrix lr to 0.04', 0.12);
export const discardRow = row('c000003', 0.995, 'discard', 'swap relu^2 for gelu', 0.09);
export const crashRow = row('d000004', 0, 'crash', 'double the depth to 16 layers (OOM)', 0.15);

/** Events up to and including four results, then experiment 4 training. */
export function scriptedNight(): EngineEvent[] {
  return [
    { type: 'started', at: s(0), tag: 'nov26', branch: 'autoresearch/nov26', agent: 'claude-sonnet-4-5', config, resumed: false, rows: [] },
    { type: 'phase', at: s(1), phase: 'baseline', experiment: 0 },
    { type: 'training', at: s(61), experiment: 0, elapsedSec: 60, timeoutSec: 600, logTail: ['step 100 | loss 3.2'] },
    { type: 'training', at: s(301), experiment: 0, elapsedSec: 300, timeoutSec: 600, logTail: ['step 900 | loss 2.9'] },
    { type: 'result', at: s(310), experiment: 0, row: baselineRow, standing: { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'a000001', value: 0.9979, description: 'baseline' } } },
    { type: 'phase', at: s(311), phase: 'agent', experiment: 1 },
    { type: 'agent', at: s(312), experiment: 1, activity: { kind: 'text', text: 'The baseline is stable; the matrix learning rate looks conservative.' } },
    { type: 'agent', at: s(313), experiment: 1, activity: { kind: 'tool', name: 'str_replace', summary: 'train.py: MATRIX_LR = 0.02 → 0.04' } },
    { type: 'agent', at: s(314), experiment: 1, activity: { kind: 'tool-result', name: 'str_replace', isError: false, summary: 'ok' } },
    { type: 'agent', at: s(315), experiment: 1, activity: { kind: 'usage', usage: usage(0.12) } },
    { type: 'phase', at: s(316), phase: 'committing', experiment: 1 },
    { type: 'committed', at: s(317), experiment: 1, commit: 'b000002', description: 'raise matrix lr to 0.04', restored: [] },
    { type: 'phase', at: s(318), phase: 'training', experiment: 1 },
    { type: 'training', at: s(380), experiment: 1, elapsedSec: 62, timeoutSec: 600, logTail: ['step 120 | loss 3.1'] },
    { type: 'result', at: s(640), experiment: 1, row: keepRow, standing: { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'b000002', value: 0.9912, description: 'raise matrix lr to 0.04' } } },
    { type: 'phase', at: s(641), phase: 'agent', experiment: 2 },
    { type: 'committed', at: s(650), experiment: 2, commit: 'c000003', description: 'swap relu^2 for gelu', restored: [] },
    { type: 'phase', at: s(651), phase: 'training', experiment: 2 },
    { type: 'result', at: s(960), experiment: 2, row: discardRow, standing: { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'b000002', value: 0.9912, description: 'raise matrix lr to 0.04' } } },
    { type: 'phase', at: s(961), phase: 'agent', experiment: 3 },
    { type: 'committed', at: s(970), experiment: 3, commit: 'd000004', description: 'double the depth to 16 layers', restored: [] },
    { type: 'phase', at: s(971), phase: 'training', experiment: 3 },
    { type: 'result', at: s(1000), experiment: 3, row: crashRow, standing: { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'b000002', value: 0.9912, description: 'raise matrix lr to 0.04' } } },
    { type: 'phase', at: s(1001), phase: 'agent', experiment: 4 },
    { type: 'agent', at: s(1002), experiment: 4, activity: { kind: 'text', text: 'Depth 16 ran out of memory. I will instead try a longer warmup, ' } },
    { type: 'agent', at: s(1003), experiment: 4, activity: { kind: 'text', text: 'since the loss spikes early in training.' } },
    { type: 'agent', at: s(1004), experiment: 4, activity: { kind: 'tool', name: 'str_replace', summary: 'train.py: WARMUP_RATIO = 0.0 → 0.05' } },
    { type: 'agent', at: s(1005), experiment: 4, activity: { kind: 'usage', usage: usage(0.05) } },
  ];
}

export const at = s;

/** Three GPUs, one draft ahead of each: the config of threeGpuNight(). */
export const gpuConfig: EngineConfig = makeEngineConfig('/tmp/repo', 'nov26', { gpus: ['0', '1', '2'], lookahead: 1 });

const best6 = { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'f000006', value: 0.9871, description: 'add 5% lr warmup' } };
const best1 = { baseline: best6.baseline, best: { commit: 'b000002', value: 0.9912, description: 'raise matrix lr to 0.04' } };

/**
 * A night on three GPUs with --lookahead 1, 33 minutes in (at(2000)): six rows, then #7 and #9
 * training on gpus 0 and 2, #8 re-running on gpu 1 (the best moved while it ran), #10 drafted and
 * waiting for gpu 0, #11 being drafted for gpu 1, #12 moving onto the new best before gpu 2 frees up.
 */
export function threeGpuNight(): EngineEvent[] {
  const result = (experiment: number, r: ResultRow, slot: string): EngineEvent => ({
    type: 'result',
    at: s(300 + experiment * 140),
    experiment,
    row: { ...r, slot },
    standing: experiment < 5 ? best1 : best6,
    slot,
  });
  return [
    { type: 'started', at: s(0), tag: 'nov26', branch: 'autoresearch/nov26', agent: 'claude-sonnet-4-5', config: gpuConfig, resumed: false, rows: [], sandboxed: true },
    { type: 'phase', at: s(1), phase: 'baseline', experiment: 0, detail: 'measuring the unmodified code', slot: '0' },
    { type: 'result', at: s(310), experiment: 0, row: { ...baselineRow, slot: '0' }, standing: { baseline: best6.baseline, best: { commit: 'a000001', value: 0.9979, description: 'baseline' } }, slot: '0' },
    result(1, keepRow, '0'),
    result(2, discardRow, '1'),
    result(3, crashRow, '2'),
    result(4, row('e000005', 0.9931, 'discard', 'cosine schedule instead of linear decay', 0.08), '0'),
    result(5, row('f000006', 0.9871, 'keep', 'add 5% lr warmup', 0.11), '1'),
    result(6, row('g000007', 0.9902, 'discard', 'tie the embedding and unembedding weights', 0.1), '2'),

    { type: 'phase', at: s(1200), phase: 'agent', experiment: 7, slot: '0' },
    { type: 'agent', at: s(1225), experiment: 7, activity: { kind: 'usage', usage: usage(0.06) }, slot: '0' },
    { type: 'committed', at: s(1230), experiment: 7, commit: 'h000008', description: 'halve the batch, double the steps: more updates per second of budget', restored: [], slot: '0' },
    { type: 'phase', at: s(1231), phase: 'waiting', experiment: 7, detail: 'halve the batch, double the steps', slot: '0' },
    { type: 'phase', at: s(1260), phase: 'agent', experiment: 8, slot: '1' },
    { type: 'committed', at: s(1290), experiment: 8, commit: 'i000009', description: 'muon momentum 0.95 → 0.9', restored: [], slot: '1' },
    { type: 'phase', at: s(1300), phase: 'agent', experiment: 9, slot: '2' },
    { type: 'committed', at: s(1330), experiment: 9, commit: 'j000010', description: 'rotary base 10000 → 50000 for the longer context', restored: [], slot: '2' },
    { type: 'phase', at: s(1500), phase: 'agent', experiment: 10, slot: '0' },
    { type: 'committed', at: s(1530), experiment: 10, commit: 'k000011', description: 'weight decay 0.1 on the embeddings only', restored: [], slot: '0' },
    { type: 'phase', at: s(1531), phase: 'waiting', experiment: 10, detail: 'weight decay 0.1 on the embeddings only', slot: '0' },
    { type: 'phase', at: s(1600), phase: 'agent', experiment: 12, slot: '2' },
    { type: 'committed', at: s(1650), experiment: 12, commit: 'l000012', description: 'qk-norm before the rotary embedding', restored: [], slot: '2' },
    { type: 'phase', at: s(1651), phase: 'waiting', experiment: 12, detail: 'qk-norm before the rotary embedding', slot: '2' },
    { type: 'phase', at: s(1700), phase: 'training', experiment: 8, detail: 'uv run train.py', slot: '1' },
    { type: 'phase', at: s(1740), phase: 'training', experiment: 9, detail: 'uv run train.py', slot: '2' },
    { type: 'phase', at: s(1812), phase: 'training', experiment: 7, detail: 'uv run train.py', slot: '0' },
    // #8 beat its base, but the best moved (#5 was kept) while it ran: it is measured again on the new best.
    { type: 'phase', at: s(1956), phase: 'deciding', experiment: 8, slot: '1' },
    { type: 'committed', at: s(1957), experiment: 8, commit: 'm000013', description: 'muon momentum 0.95 → 0.9', restored: [], slot: '1' },
    { type: 'phase', at: s(1958), phase: 'training', experiment: 8, detail: 're-run on the new best f000006: uv run train.py', slot: '1' },
    { type: 'phase', at: s(1960), phase: 'agent', experiment: 11, slot: '1' },
    { type: 'agent', at: s(1970), experiment: 11, activity: { kind: 'text', text: 'Warmup helped; the schedule tail may be too short now.' }, slot: '1' },
    { type: 'agent', at: s(1975), experiment: 11, activity: { kind: 'tool', name: 'str_replace_based_edit_tool', summary: 'train.py: WARMDOWN_RATIO = 0.2 → 0.4' }, slot: '1' },
    { type: 'agent', at: s(1976), experiment: 11, activity: { kind: 'usage', usage: usage(0.03) }, slot: '1' },
    { type: 'phase', at: s(1990), phase: 'rebasing', experiment: 12, detail: 'qk-norm before the rotary embedding', slot: '2' },
    { type: 'training', at: s(1995), experiment: 7, elapsedSec: 183, timeoutSec: 600, logTail: ['step 00640 (61.0%) | loss: 3.190 | dt: 286ms'], slot: '0' },
    {
      type: 'training',
      at: s(1998),
      experiment: 8,
      elapsedSec: 40,
      timeoutSec: 600,
      logTail: ['step 00120 (13.3%) | loss: 3.401 | lrm: 1.00 | dt: 309ms', 'step 00121 (13.4%) | loss: 3.398 | lrm: 1.00 | dt: 310ms'],
      slot: '1',
    },
    { type: 'training', at: s(1999), experiment: 9, elapsedSec: 259, timeoutSec: 600, logTail: ['step 00850 (86.3%) | loss: 3.102 | dt: 305ms'], slot: '2' },
  ];
}
