import { describe, expect, it } from 'vitest';
import { batchOutcome, decide, describe as describeRow, improvementPercent, isBetter, judgeRun, standingOf, stopReason, type RunFacts } from '../../src/engine/decide.js';
import { ZERO_USAGE, type ResultRow } from '../../src/engine/types.js';

const ok = (log: string, over: Partial<RunFacts> = {}): RunFacts => ({ exitCode: 0, signal: null, timedOut: false, interrupted: false, log, ...over });

describe('judgeRun', () => {
  it('measures a clean run', () => {
    expect(judgeRun(ok('val_bpb: 0.9\npeak_vram_mb: 2048'), 'val_bpb')).toEqual({ kind: 'measured', value: 0.9, memoryGb: 2 });
  });
  it('names the reason of each crash', () => {
    expect(judgeRun(ok('', { timedOut: true, exitCode: null, signal: 'SIGTERM' }), 'val_bpb')).toMatchObject({ kind: 'crash', reason: 'timeout' });
    expect(judgeRun(ok('val_bpb: 0.9', { interrupted: true }), 'val_bpb')).toMatchObject({ reason: 'interrupted' });
    expect(judgeRun(ok('CUDA out of memory', { exitCode: 1 }), 'val_bpb')).toMatchObject({ reason: 'OOM' });
    expect(judgeRun(ok('Traceback', { exitCode: 2 }), 'val_bpb')).toMatchObject({ reason: 'exit 2' });
    expect(judgeRun(ok('', { exitCode: null, signal: 'SIGKILL' }), 'val_bpb')).toMatchObject({ reason: 'signal SIGKILL' });
    expect(judgeRun(ok('val_bpb: nan'), 'val_bpb')).toMatchObject({ reason: 'nan' });
    expect(judgeRun(ok('val_bpb: inf'), 'val_bpb')).toMatchObject({ reason: 'inf' });
    expect(judgeRun(ok('val_bpb: -inf'), 'val_bpb')).toMatchObject({ reason: '-inf' });
    expect(judgeRun(ok('val_bpb: inf', { exitCode: 1 }), 'val_bpb')).toMatchObject({ reason: 'inf' });
    expect(judgeRun(ok('step 1 loss nan', { exitCode: 1 }), 'val_bpb')).toMatchObject({ reason: 'nan' });
    expect(judgeRun(ok('done'), 'val_bpb')).toMatchObject({ reason: 'no val_bpb in log' });
  });
  it('treats a metric printed before a non-zero exit as a crash', () => {
    expect(judgeRun(ok('val_bpb: 0.5', { exitCode: 1 }), 'val_bpb')).toMatchObject({ kind: 'crash', reason: 'exit 1' });
  });
});

describe('decide', () => {
  const m = (value: number) => ({ kind: 'measured' as const, value, memoryGb: 1 });
  it('keeps only strict improvements in the chosen direction', () => {
    expect(decide(m(0.9), 1.0, 'min')).toBe('keep');
    expect(decide(m(1.0), 1.0, 'min')).toBe('discard');
    expect(decide(m(1.1), 1.0, 'min')).toBe('discard');
    expect(decide(m(1.1), 1.0, 'max')).toBe('keep');
    expect(decide(m(0.9), 1.0, 'max')).toBe('discard');
    expect(isBetter(1, 1, 'max')).toBe(false);
  });
  it('keeps the first measurement and never keeps a crash', () => {
    expect(decide(m(5), null, 'min')).toBe('keep');
    expect(decide({ kind: 'crash', reason: 'OOM', memoryGb: 0 }, null, 'min')).toBe('crash');
  });
  it('appends the crash reason to the description', () => {
    expect(describeRow('wider', { kind: 'crash', reason: 'OOM', memoryGb: 0 })).toBe('wider (OOM)');
    expect(describeRow('wider', m(1))).toBe('wider');
  });
});

const row = (status: ResultRow['status'], value: number, commit: string): ResultRow => ({
  commit, value, memoryGb: 1, status, description: commit, tag: 't', startedAt: '', seconds: 1, usage: ZERO_USAGE,
});

describe('batchOutcome', () => {
  const measured = (value: number) => ({ kind: 'measured' as const, value, memoryGb: 44 });
  const crash = (reason: string) => ({ kind: 'crash' as const, reason, memoryGb: 0 });

  it('a stop by the user stands for the runs, then any crash, else the first run', () => {
    expect(batchOutcome([measured(0.9), crash('OOM'), crash('interrupted')])).toEqual(crash('interrupted'));
    expect(batchOutcome([measured(0.9), crash('OOM'), measured(0.8)])).toEqual(crash('OOM'));
    expect(batchOutcome([measured(0.9), measured(0.8)])).toEqual(measured(0.9));
    expect(batchOutcome([measured(0.7)])).toEqual(measured(0.7));
  });
});

describe('standingOf', () => {
  it('takes the first keep as baseline and the last keep as best', () => {
    const s = standingOf([row('keep', 1, 'a'), row('discard', 1.1, 'b'), row('keep', 0.9, 'c'), row('crash', 0, 'd')]);
    expect(s.baseline).toEqual({ commit: 'a', value: 1 });
    expect(s.best).toEqual({ commit: 'c', value: 0.9, description: 'c' });
    expect(improvementPercent(s, 'min')).toBeCloseTo(10);
  });
  it('is empty without a kept row', () => {
    expect(standingOf([row('crash', 0, 'a')])).toEqual({ baseline: null, best: null });
  });
});

describe('stopReason', () => {
  const base = { experimentsDone: 0, maxExperiments: null, startedAtMs: 0, nowMs: 0, maxHours: null, costUsd: 0, maxCostUsd: null, stopRequested: null };
  it('goes on without limits', () => expect(stopReason(base)).toBeNull());
  it('stops at each limit', () => {
    expect(stopReason({ ...base, experimentsDone: 3, maxExperiments: 3 })).toMatch(/max-experiments 3/);
    expect(stopReason({ ...base, experimentsDone: 2, maxExperiments: 3 })).toBeNull();
    expect(stopReason({ ...base, nowMs: 2 * 3_600_000, maxHours: 2 })).toMatch(/max-hours 2/);
    expect(stopReason({ ...base, costUsd: 5.01, maxCostUsd: 5 })).toMatch(/max-cost \$5\.00/);
    expect(stopReason({ ...base, stopRequested: 'q pressed' })).toBe('q pressed');
  });
});
