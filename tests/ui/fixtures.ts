// Scripted engine events: a short night with a baseline, a keep, a discard and a crash, then
// an experiment in progress. Times are fixed so every rendering is reproducible.

import type { EngineConfig, EngineEvent, ResultRow, Status, Usage } from '../../src/engine/types.js';
import { makeEngineConfig } from '../../src/engine/config.js';

export const T0 = Date.UTC(2026, 10, 26, 3, 0, 0); // 2026-11-26 03:00:00 UTC

export const config: EngineConfig = makeEngineConfig('/tmp/repo', 'nov26');

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
