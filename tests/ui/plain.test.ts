// Plain mode, line by line: what a log file under nohup looks like.

const savedTz = process.env.TZ;
process.env.TZ = 'UTC'; // timestamps are local time; pin the zone so the lines are exact

import { afterAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/types.js';
import { createPlainLogger } from '../../src/ui/plain.js';
import { startUi } from '../../src/ui/index.js';
import { at, config, discardRow, gpuConfig, keepRow, scriptedNight, threeGpuNight } from './fixtures.js';
import { Writable } from 'node:stream';

afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

function logOf(events: EngineEvent[], banner?: string): string[] {
  let out = '';
  const logger = createPlainLogger((t) => (out += t), { banner });
  for (const e of events) logger.onEvent(e);
  logger.close();
  return out.split('\n').slice(0, -1);
}

describe('plain mode', () => {
  it('says when a row is the mean of several runs, and the verdict against the noise', () => {
    const standing = { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'b000002', value: 0.9912, description: 'raise matrix lr to 0.04' } };
    const lines = logOf([
      { type: 'result', at: at(10), experiment: 1, row: { ...keepRow, values: [0.9902, 0.9912, 0.9922] }, standing, verdict: 'better by 0.006700, noise allows 0.004100 (σ 0.002000, 4 degrees of freedom)', noise: { sigma: 0.002, df: 4 } },
      { type: 'result', at: at(20), experiment: 2, row: { ...discardRow, description: 'swap relu^2 for gelu (within noise: better by 0.000100, noise allows 0.004100 (σ 0.002000, 4 degrees of freedom))' }, standing, verdict: 'within noise: better by 0.000100, noise allows 0.004100 (σ 0.002000, 4 degrees of freedom)' },
      { type: 'result', at: at(30), experiment: 3, row: discardRow, standing, verdict: 'not better' },
    ]);
    expect(lines[0]).toMatch(/#1 keep {4}val_bpb 0\.991200 \(best, .* vs baseline\) {2}"raise matrix lr to 0\.04" · mean of 3 runs · better by 0\.006700, noise allows 0\.004100 \(σ 0\.002000, 4 degrees of freedom\)$/);
    expect(lines[1]).toMatch(/ · within noise: better by 0\.000100/);
    expect(lines[2]).toMatch(/"swap relu\^2 for gelu"$/); // "not better" goes without saying
  });

  it('says when a submission is refused as a duplicate', () => {
    const lines = logOf([{ type: 'agent', at: at(5), experiment: 7, activity: { kind: 'duplicate', of: 3, description: 'swap relu^2\nfor gelu' } }]);
    expect(lines).toEqual(['2026-11-26 03:00:05  #7 refused a duplicate: identical code to #3 "swap relu^2 for gelu", not trained again']);
  });

  it('writes one timestamped line per meaningful event, and no streamed text', () => {
    const events: EngineEvent[] = [
      ...scriptedNight(),
      { type: 'agent', at: at(1006), experiment: 4, activity: { kind: 'tool-result', name: 'str_replace', isError: true, summary: 'old_str not found in train.py' } },
      { type: 'agent', at: at(1007), experiment: 4, activity: { kind: 'retry', attempt: 1, waitMs: 5000, reason: 'overloaded_error' } },
      { type: 'committed', at: at(1010), experiment: 4, commit: 'e000005', description: 'add 5% lr warmup', restored: ['prepare.py'] },
      { type: 'phase', at: at(1011), phase: 'training', experiment: 4 },
      { type: 'training', at: at(1041), experiment: 4, elapsedSec: 30, timeoutSec: 600, logTail: ['step 10'] },
      { type: 'training', at: at(1072), experiment: 4, elapsedSec: 61, timeoutSec: 600, logTail: ['step 20 | loss 3.3'] },
      { type: 'training', at: at(1100), experiment: 4, elapsedSec: 89, timeoutSec: 600, logTail: ['step 30'] },
      { type: 'training', at: at(1133), experiment: 4, elapsedSec: 122, timeoutSec: 600, logTail: ['step 40 | loss 3.2'] },
      { type: 'result', at: at(1320), experiment: 4, row: { ...keepRow, commit: 'e000005', value: 0.9893, description: 'add 5% lr warmup' }, standing: { baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'e000005', value: 0.9893, description: 'add 5% lr warmup' } } },
      { type: 'skipped', at: at(1400), experiment: 5, reason: 'the agent made no change' },
      { type: 'stopping', at: at(1500), reason: 'q pressed: stopping after this experiment' },
      { type: 'finished', at: at(1501), reason: 'stopped by q', exitCode: 0 },
    ];
    expect(logOf(events, 'DEMO — scripted model, toy trainer, no GPU, no API key')).toEqual([
      '2026-11-26 03:00:00  *** DEMO — scripted model, toy trainer, no GPU, no API key ***',
      '2026-11-26 03:00:00  started nov26 on autoresearch/nov26 · agent claude-sonnet-4-5 · val_bpb (lower is better) · timeout 10m00s',
      '2026-11-26 03:00:01  #0 baseline: training train.py as it stands',
      '2026-11-26 03:01:01  #0 training 1m00s / timeout 10m00s  | step 100 | loss 3.2',
      '2026-11-26 03:05:01  #0 training 5m00s / timeout 10m00s  | step 900 | loss 2.9',
      '2026-11-26 03:05:10  #0 keep    val_bpb 0.997900 (baseline)  "baseline"',
      '2026-11-26 03:05:11  #1 agent: proposing',
      '2026-11-26 03:05:13  #1 tool str_replace train.py: MATRIX_LR = 0.02 → 0.04',
      '2026-11-26 03:05:17  #1 committed b000002 "raise matrix lr to 0.04"',
      '2026-11-26 03:05:18  #1 training',
      '2026-11-26 03:06:20  #1 training 1m02s / timeout 10m00s  | step 120 | loss 3.1',
      '2026-11-26 03:10:40  #1 keep    val_bpb 0.991200 (best, -0.67% vs baseline)  "raise matrix lr to 0.04"',
      '2026-11-26 03:10:41  #2 agent: proposing',
      '2026-11-26 03:10:50  #2 committed c000003 "swap relu^2 for gelu"',
      '2026-11-26 03:10:51  #2 training',
      '2026-11-26 03:16:00  #2 discard val_bpb 0.995000 (best 0.991200)  "swap relu^2 for gelu"',
      '2026-11-26 03:16:01  #3 agent: proposing',
      '2026-11-26 03:16:10  #3 committed d000004 "double the depth to 16 layers"',
      '2026-11-26 03:16:11  #3 training',
      '2026-11-26 03:16:40  #3 crash   "double the depth to 16 layers (OOM)"',
      '2026-11-26 03:16:41  #4 agent: proposing',
      '2026-11-26 03:16:44  #4 tool str_replace train.py: WARMUP_RATIO = 0.0 → 0.05',
      '2026-11-26 03:16:46  #4 tool str_replace failed: old_str not found in train.py',
      '2026-11-26 03:16:47  #4 API retry 1 in 5s: overloaded_error',
      '2026-11-26 03:16:50  #4 committed e000005 "add 5% lr warmup" (restored prepare.py)',
      '2026-11-26 03:16:51  #4 training',
      '2026-11-26 03:17:52  #4 training 1m01s / timeout 10m00s  | step 20 | loss 3.3',
      '2026-11-26 03:18:53  #4 training 2m02s / timeout 10m00s  | step 40 | loss 3.2',
      '2026-11-26 03:22:00  #4 keep    val_bpb 0.989300 (best, -0.86% vs baseline)  "add 5% lr warmup"',
      '2026-11-26 03:23:20  #5 skipped: the agent made no change',
      '2026-11-26 03:25:00  stopping: q pressed: stopping after this experiment',
      '2026-11-26 03:25:01  finished: stopped by q (exit 0) · 5 experiments: 3 keep, 1 discard, 1 crash · best val_bpb 0.989300 (e000005, 0.86% better than baseline) · cost $0.48 · ran 25m01s',
      '2026-11-26 03:25:01  all rows: autoresearch results --tag nov26',
    ]);
  });

  it('has no ANSI codes and no line breaks inside a line, whatever the model writes', () => {
    const lines = logOf([
      { type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config, resumed: false, rows: [] },
      { type: 'agent', at: at(1), experiment: 1, activity: { kind: 'text', text: 'streamed words\nare not logged' } },
      { type: 'agent', at: at(2), experiment: 1, activity: { kind: 'tool', name: 'str_replace', summary: 'a\nb\u001b[31mc' } },
      { type: 'committed', at: at(3), experiment: 1, commit: 'abc1234', description: 'two\nlines', restored: [] },
    ]);
    expect(lines).toHaveLength(5); // three events, then the summary close() writes (two lines)
    for (const l of lines) expect(l).not.toMatch(/\u001b/);
    expect(lines[1]).toBe('1970-01-01 00:00:02  #1 tool str_replace a b [31mc'.replace('1970-01-01 00:00:02', lines[1]!.slice(0, 19)));
    expect(lines.join('\n')).not.toContain('streamed words');
  });

  it("says when a cluster job waits in the queue (and why) and when it starts running, once each", () => {
    const tick = (t: number, elapsedSec: number, state: 'pending' | 'running', reason?: string) =>
      ({ type: 'training', at: at(t), experiment: 2, elapsedSec, timeoutSec: 600, logTail: [], state, jobId: '4242', ...(reason ? { reason } : {}) }) as EngineEvent;
    const lines = logOf([
      { type: 'phase', at: at(0), phase: 'training', experiment: 2 },
      tick(1, 0, 'pending', 'Priority'),
      tick(2, 0, 'pending', 'Priority'),
      tick(3, 0, 'pending', 'Resources'),
      tick(4, 0, 'running'),
      tick(5, 1, 'running'),
    ]);
    expect(lines.slice(1).map((l) => l.replace(/^\S+ \S+\s+/, ''))).toEqual(['#2 job 4242 PENDING (Priority)', '#2 job 4242 PENDING (Resources)', '#2 job 4242 RUNNING']);
  });

  it('shows a fractional timeout as given, not rounded down', () => {
    const lines = logOf([
      { type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config: { ...config, timeoutSec: 1.5 }, resumed: false, rows: [] },
      { type: 'training', at: at(1), experiment: 0, elapsedSec: 60, timeoutSec: 90.5, logTail: [] },
    ]);
    expect(lines[0]).toContain('timeout 1.5s');
    expect(lines[1]).toContain('training 1m00s / timeout 1m30.5s');
  });

  it('says whether runs are sandboxed', () => {
    const started = (sandboxed: boolean): EngineEvent => ({ type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config, resumed: false, rows: [], sandboxed });
    expect(logOf([started(true)])[0]).toMatch(/ · timeout 10m00s · sandboxed$/);
    expect(logOf([started(false)])[0]).toMatch(/ · timeout 10m00s · NOT sandboxed$/);
  });

  it('mentions the earlier rows on resume', () => {
    const lines = logOf([
      { type: 'started', at: at(0), tag: 'nov26', branch: 'autoresearch/nov26', agent: 'm', config, resumed: true, rows: [keepRow] },
      { type: 'finished', at: at(1), reason: 'done', exitCode: 0 },
    ]);
    expect(lines[0]).toBe('2026-11-26 03:00:00  resumed nov26 on autoresearch/nov26 · agent m · val_bpb (lower is better) · timeout 10m00s · 1 earlier rows, best 0.991200 (b000002)');
  });

  it('is what startUi gives when tui is false', async () => {
    let out = '';
    const stdout = new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    const ui = startUi({ tui: false, stdout, onGracefulStop: () => {}, banner: 'DEMO' });
    for (const e of scriptedNight().slice(0, 5)) ui.onEvent(e);
    await ui.close();
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe('2026-11-26 03:00:00  *** DEMO ***');
    expect(lines).toContain('2026-11-26 03:05:10  #0 keep    val_bpb 0.997900 (baseline)  "baseline"');
    expect(lines.at(-2)).toMatch(/finished: closed before the engine finished \(exit 1\)/);
  });

  it('with several GPUs, starts each experiment’s line with its GPU, and says the GPUs and the lookahead once', () => {
    const lines = logOf(threeGpuNight());
    expect(lines[0]).toBe('2026-11-26 03:00:00  started nov26 on autoresearch/nov26 · agent claude-sonnet-4-5 · val_bpb (lower is better) · timeout 10m00s · gpus 0,1,2 · lookahead 1 · sandboxed');
    expect(lines).toContain('2026-11-26 03:00:01  [gpu 0] #0 baseline: training train.py as it stands (measuring the unmodified code)');
    expect(lines).toContain('2026-11-26 03:09:40  [gpu 1] #2 discard val_bpb 0.995000 (best 0.991200)  "swap relu^2 for gelu"');
    // Interleaved experiments, each line saying which GPU and which experiment it is about.
    const from = lines.indexOf('2026-11-26 03:30:12  [gpu 0] #7 training (uv run train.py)');
    expect(lines.slice(from, from + 8)).toEqual([
      '2026-11-26 03:30:12  [gpu 0] #7 training (uv run train.py)',
      '2026-11-26 03:32:37  [gpu 1] #8 committed m000013 "muon momentum 0.95 → 0.9"',
      '2026-11-26 03:32:38  [gpu 1] #8 training (re-run on the new best f000006: uv run train.py)',
      '2026-11-26 03:32:40  [gpu 1] #11 agent: proposing',
      '2026-11-26 03:32:55  [gpu 1] #11 tool train.py: WARMDOWN_RATIO = 0.2 → 0.4',
      '2026-11-26 03:33:10  [gpu 2] #12 moving onto the new best',
      '2026-11-26 03:33:15  [gpu 0] #7 training 3m03s / timeout 10m00s  | step 00640 (61.0%) | loss: 3.190 | dt: 286ms',
      '2026-11-26 03:33:19  [gpu 2] #9 training 4m19s / timeout 10m00s  | step 00850 (86.3%) | loss: 3.102 | dt: 305ms',
    ]);
  });

  it('gives each GPU’s run its own progress line a minute, however their reports interleave', () => {
    const tick = (experiment: number, slot: string, t: number, elapsedSec: number): EngineEvent => ({ type: 'training', at: at(t), experiment, elapsedSec, timeoutSec: 600, logTail: [], slot });
    const lines = logOf([
      { type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config: gpuConfig, resumed: false, rows: [] },
      { type: 'phase', at: at(1), phase: 'training', experiment: 1, slot: '0' },
      { type: 'phase', at: at(2), phase: 'training', experiment: 2, slot: '1' },
      tick(1, '0', 30, 29),
      tick(2, '1', 31, 29),
      tick(1, '0', 62, 61),
      tick(2, '1', 63, 61),
      tick(1, '0', 92, 91),
      tick(2, '1', 93, 91),
      tick(1, '0', 123, 122),
    ]).slice(1, -2);
    expect(lines.map((l) => l.slice(21))).toEqual([
      '[gpu 0] #1 training',
      '[gpu 1] #2 training',
      '[gpu 0] #1 training 1m01s / timeout 10m00s',
      '[gpu 1] #2 training 1m01s / timeout 10m00s',
      '[gpu 0] #1 training 2m02s / timeout 10m00s',
    ]);
  });
});
