// The reducer alone: counts, standing, the best-so-far series, bounded text, usage, run state.

import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/types.js';
import { improvementText } from '../../src/ui/components/Progress.js';
import { initialState, isPipelined, RECENT_MAX, reduce, reduceAll, sessionUsage, STREAM_MAX, totalUsage } from '../../src/ui/state.js';
import { at, baselineRow, config, crashRow, discardRow, keepRow, row, scriptedNight, threeGpuNight, usage } from './fixtures.js';

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

describe('reduce', () => {
  it('starts empty and waiting', () => {
    expect(initialState.runState).toBe('waiting');
    expect(initialState.counts).toEqual({ keep: 0, discard: 0, crash: 0 });
  });

  it('never mutates the state it is given', () => {
    let s = deepFreeze(initialState);
    for (const e of scriptedNight()) s = deepFreeze(reduce(s, deepFreeze(e)));
    expect(s.counts).toEqual({ keep: 2, discard: 1, crash: 1 });
  });

  it('counts results, follows the standing, and records the best so far after each row', () => {
    const s = reduceAll(scriptedNight());
    expect(s.runState).toBe('running');
    expect(s.counts).toEqual({ keep: 2, discard: 1, crash: 1 });
    expect(s.standing.baseline).toEqual({ commit: 'a000001', value: 0.9979 });
    expect(s.standing.best?.value).toBe(0.9912);
    expect(s.bestSeries).toEqual([0.9979, 0.9912, 0.9912, 0.9912]);
    expect(s.recent.map((r) => [r.experiment, r.row.status])).toEqual([
      [0, 'keep'],
      [1, 'keep'],
      [2, 'discard'],
      [3, 'crash'],
    ]);
    expect(s.experiment).toBe(4);
    expect(s.phase).toBe('agent');
    expect(improvementText(s)).toBe('0.67% better');
  });

  it('on resume, takes counts, standing, recent rows and cost from the earlier rows', () => {
    const rows = [baselineRow, keepRow, discardRow, crashRow];
    const s = reduce(initialState, { type: 'started', at: at(0), tag: 'nov26', branch: 'autoresearch/nov26', agent: 'm', config, resumed: true, rows });
    expect(s.resumed).toBe(true);
    expect(s.counts).toEqual({ keep: 2, discard: 1, crash: 1 });
    expect(s.standing).toEqual({ baseline: { commit: 'a000001', value: 0.9979 }, best: { commit: 'b000002', value: 0.9912, description: 'raise matrix lr to 0.04' } });
    expect(s.bestSeries).toEqual([0.9979, 0.9912, 0.9912, 0.9912]);
    expect(s.recent.map((r) => r.experiment)).toEqual([0, 1, 2, 3]);
    expect(totalUsage(s).costUsd).toBeCloseTo(0.36);
    expect(sessionUsage(s).costUsd).toBe(0);
    expect(s.experiment).toBe(4);
  });

  it('numbers resumed rows by position even when only the last ten are kept', () => {
    const rows = Array.from({ length: 25 }, (_, i) => row(`c${String(i).padStart(6, '0')}`, 1 - i / 1000, 'keep', `r${i}`));
    const s = reduce(initialState, { type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config, resumed: true, rows });
    expect(s.recent).toHaveLength(RECENT_MAX);
    expect(s.recent[0]).toMatchObject({ experiment: 15, row: { description: 'r15' } });
    expect(s.recent.at(-1)).toMatchObject({ experiment: 24, row: { description: 'r24' } });
  });

  it('reports improvement the right way round when higher is better', () => {
    const up: EngineEvent[] = [
      { type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config: { ...config, metric: 'accuracy', direction: 'max' }, resumed: false, rows: [] },
      { type: 'result', at: at(1), experiment: 0, row: row('a', 0.8, 'keep', 'baseline'), standing: { baseline: { commit: 'a', value: 0.8 }, best: { commit: 'a', value: 0.8, description: 'baseline' } } },
      { type: 'result', at: at(2), experiment: 1, row: row('b', 0.84, 'keep', 'x'), standing: { baseline: { commit: 'a', value: 0.8 }, best: { commit: 'b', value: 0.84, description: 'x' } } },
    ];
    const s = reduceAll(up);
    expect(s.direction).toBe('max');
    expect(improvementText(s)).toBe('5.00% better');
  });

  it('keeps the streamed text bounded, and starts it afresh with each agent call', () => {
    let s = reduceAll(scriptedNight());
    for (let i = 0; i < 500; i++) s = reduce(s, { type: 'agent', at: at(1006), experiment: 4, activity: { kind: 'text', text: `token${i} ` } });
    expect(s.streamText.length).toBe(STREAM_MAX);
    expect(s.streamText.endsWith('token499 ')).toBe(true);
    s = reduce(s, { type: 'phase', at: at(1007), phase: 'agent', experiment: 4, detail: 'fix attempt 1' });
    expect(s.streamText).toBe('');
    expect(s.tool).toBeNull();
    expect(s.phaseDetail).toBe('fix attempt 1');
  });

  it('tracks the tool call in progress and its result', () => {
    let s = reduceAll(scriptedNight());
    expect(s.tool).toEqual({ name: 'str_replace', summary: 'train.py: WARMUP_RATIO = 0.0 → 0.05', result: null });
    s = reduce(s, { type: 'agent', at: at(1006), experiment: 4, activity: { kind: 'tool-result', name: 'str_replace', isError: true, summary: 'old_str not found' } });
    expect(s.tool?.result).toEqual({ isError: true, summary: 'old_str not found' });
  });

  it('shows a submission refused as a duplicate on the tool line', () => {
    let s = reduceAll(scriptedNight());
    s = reduce(s, { type: 'agent', at: at(1006), experiment: 4, activity: { kind: 'duplicate', of: 2, description: 'swap relu^2 for gelu' } });
    expect(s.tool).toEqual({ name: 'submit_experiment', summary: '', result: { isError: true, summary: 'refused: identical code to #2, not trained again' } });
  });

  it('counts the running usage of the experiment in progress, across a restarted agent call, until its row lands', () => {
    let s = reduceAll(scriptedNight()); // $0.36 in rows, $0.05 running
    expect(totalUsage(s).costUsd).toBeCloseTo(0.41);
    s = reduce(s, { type: 'agent', at: at(1006), experiment: 4, activity: { kind: 'usage', usage: usage(0.08) } });
    expect(totalUsage(s).costUsd).toBeCloseTo(0.44);
    // A fix attempt's agent call counts from zero again: what came before is carried.
    s = reduce(s, { type: 'agent', at: at(1007), experiment: 4, activity: { kind: 'usage', usage: usage(0.01, 100, 10) } });
    expect(totalUsage(s).costUsd).toBeCloseTo(0.45);
    s = reduce(s, { type: 'result', at: at(1100), experiment: 4, row: row('e000005', 0.99, 'keep', 'y', 0.09), standing: s.standing });
    expect(totalUsage(s).costUsd).toBeCloseTo(0.45);
    expect(sessionUsage(s).costUsd).toBeCloseTo(0.45);
  });

  it('clears the previous experiment when a new one begins', () => {
    const training = reduceAll([
      ...scriptedNight(),
      { type: 'committed', at: at(1010), experiment: 4, commit: 'e000005', description: 'warmup', restored: ['prepare.py'] },
      { type: 'training', at: at(1020), experiment: 4, elapsedSec: 10, timeoutSec: 600, logTail: ['x'] },
    ]);
    expect(training.description).toBe('warmup');
    expect(training.notice).toContain('restored prepare.py');
    expect(training.training?.elapsedSec).toBe(10);
    const next = reduce(training, { type: 'phase', at: at(1400), phase: 'agent', experiment: 5 });
    expect(next.description).toBeNull();
    expect(next.commit).toBeNull();
    expect(next.training).toBeNull();
    expect(next.notice).toBeNull();
  });

  it('starts a training bar at zero as soon as a run begins, before the engine reports on it', () => {
    const s = reduceAll([...scriptedNight(), { type: 'phase', at: at(1010), phase: 'training', experiment: 4, detail: 'uv run train.py' }]);
    expect(s.training).toEqual({ experiment: 4, elapsedSec: 0, timeoutSec: 600, logTail: [], at: at(1010) });
  });

  it('keeps the last experiment number when the engine says it is done', () => {
    const s = reduceAll([...scriptedNight(), { type: 'phase', at: at(1100), phase: 'done', experiment: 5 }]);
    expect(s.phase).toBe('done');
    expect(s.experiment).toBe(4);
  });

  it('keeps words of consecutive turns apart', () => {
    let s = reduceAll(scriptedNight().slice(0, 7)); // up to the first streamed words of experiment 1
    s = reduce(s, { type: 'agent', at: at(312), experiment: 1, activity: { kind: 'tool', name: 'bash', summary: 'ls' } });
    s = reduce(s, { type: 'agent', at: at(313), experiment: 1, activity: { kind: 'text', text: 'Next.' } });
    expect(s.streamText).toBe('The baseline is stable; the matrix learning rate looks conservative. Next.');
  });

  it('moves to stopping, then finished', () => {
    let s = reduceAll(scriptedNight());
    s = reduce(s, { type: 'stopping', at: at(1100), reason: 'q pressed' });
    expect(s.runState).toBe('stopping');
    expect(s.stopReason).toBe('q pressed');
    s = reduce(s, { type: 'finished', at: at(1200), reason: 'q pressed', exitCode: 0 });
    expect(s.runState).toBe('finished');
    expect(s.phase).toBe('done');
    expect(s.finishedAt).toBe(at(1200));
    expect(s.finish).toEqual({ reason: 'q pressed', exitCode: 0 });
    // A late phase event cannot revive a finished run.
    expect(reduce(s, { type: 'phase', at: at(1201), phase: 'stopping', experiment: 4 }).runState).toBe('finished');
  });

  it('records recoveries and skips as notices', () => {
    let s = reduce(initialState, { type: 'recovered', at: at(0), message: 'reset a half-made commit' });
    expect(s.notice).toBe('reset a half-made commit');
    s = reduce(s, { type: 'skipped', at: at(1), experiment: 3, reason: 'no change' });
    expect(s.notice).toBe('#3 skipped: no change');
  });
});

describe('several experiments in flight', () => {
  const pipelined = { ...config, lookahead: 1 };
  /** One GPU, --lookahead 1: #4 trains while #5 is drafted. */
  const overlap: EngineEvent[] = [
    ...scriptedNight().map((e) => (e.type === 'started' ? { ...e, config: pipelined } : e)),
    { type: 'committed', at: at(1010), experiment: 4, commit: 'e000005', description: 'add 5% lr warmup', restored: [] },
    { type: 'phase', at: at(1012), phase: 'training', experiment: 4, detail: 'uv run train.py' },
    { type: 'phase', at: at(1013), phase: 'agent', experiment: 5 },
    { type: 'agent', at: at(1014), experiment: 5, activity: { kind: 'text', text: 'Next: a longer warmdown.' } },
    { type: 'training', at: at(1040), experiment: 4, elapsedSec: 28, timeoutSec: 600, logTail: ['step 9'] },
  ];

  it('tracks each experiment by number, with its GPU, phase and description, until its row or skip', () => {
    let s = reduceAll(threeGpuNight());
    expect(s.gpus).toEqual(['0', '1', '2']);
    expect(s.lookahead).toBe(1);
    expect(s.inFlight.map((f) => [f.experiment, f.slot, f.phase])).toEqual([
      [7, '0', 'training'],
      [8, '1', 'training'],
      [9, '2', 'training'],
      [10, '0', 'waiting'],
      [11, '1', 'agent'],
      [12, '2', 'rebasing'],
    ]);
    const eight = s.inFlight.find((f) => f.experiment === 8)!;
    expect(eight).toMatchObject({ commit: 'm000013', description: 'muon momentum 0.95 → 0.9', detail: 're-run on the new best f000006: uv run train.py' });
    expect(eight.training).toMatchObject({ elapsedSec: 40, logTail: expect.arrayContaining([expect.stringContaining('step 00121')]) });
    expect(s.inFlight.find((f) => f.experiment === 11)!.tool).toMatchObject({ name: 'str_replace_based_edit_tool', result: null });
    s = reduce(s, { type: 'result', at: at(2100), experiment: 9, row: { ...discardRow, slot: '2' }, standing: s.standing, slot: '2' });
    s = reduce(s, { type: 'skipped', at: at(2101), experiment: 11, reason: 'no idea left', slot: '1' });
    expect(s.inFlight.map((f) => f.experiment)).toEqual([7, 8, 10, 12]);
    expect(s.notice).toBe('#11 skipped: no idea left');
  });

  it('keeps the run on the Now fields while the next experiment is drafted on the same GPU', () => {
    const s = reduceAll(overlap);
    expect(s.experiment).toBe(4);
    expect(s.phase).toBe('training');
    expect(s.description).toBe('add 5% lr warmup');
    expect(s.training?.elapsedSec).toBe(28);
    // The draft's words are kept with it, not lost and not mixed into the run's.
    expect(s.inFlight.find((f) => f.experiment === 5)?.streamText).toBe('Next: a longer warmdown.');
    // Once #4's row lands, the Now fields follow the draft.
    const after = reduce(s, { type: 'result', at: at(1300), experiment: 4, row: row('e000005', 0.99, 'discard', 'add 5% lr warmup'), standing: s.standing });
    expect(after.experiment).toBe(5);
    expect(after.phase).toBe('agent');
    expect(after.streamText).toBe('Next: a longer warmdown.');
    expect(after.description).toBeNull();
  });

  it('follows the newest run on several GPUs, and does not jump with every tick of the others', () => {
    let s = reduceAll(threeGpuNight());
    expect([s.focus, s.experiment, s.slot]).toEqual([8, 8, '1']); // #8's re-run started last
    s = reduce(s, { type: 'training', at: at(2001), experiment: 9, elapsedSec: 261, timeoutSec: 600, logTail: ['step 851'], slot: '2' });
    s = reduce(s, { type: 'training', at: at(2002), experiment: 7, elapsedSec: 190, timeoutSec: 600, logTail: ['step 641'], slot: '0' });
    expect(s.experiment).toBe(8);
    expect(s.training?.logTail.at(-1)).toContain('step 00121');
    // #8 ends: the newest run left is #7's (started at 1812, #9's at 1740).
    s = reduce(s, { type: 'result', at: at(2003), experiment: 8, row: { ...keepRow, slot: '1' }, standing: s.standing, slot: '1' });
    expect([s.experiment, s.slot, s.description]).toEqual([7, '0', 'halve the batch, double the steps: more updates per second of budget']);
    expect(s.training?.logTail).toEqual(['step 641']);
  });

  it('counts each experiment’s running usage apart when their agent calls interleave', () => {
    let s = reduceAll(overlap); // rows $0.36, #4's call $0.05 so far
    const use = (experiment: number, cost: number, t: number): EngineEvent => ({ type: 'agent', at: at(t), experiment, activity: { kind: 'usage', usage: usage(cost) } });
    s = reduce(s, use(5, 0.02, 1050));
    s = reduce(s, use(4, 0.01, 1051)); // #4's fix attempt: a new call, counting from zero again
    s = reduce(s, use(5, 0.04, 1052));
    s = reduce(s, use(4, 0.03, 1053));
    // Rows, #4's first call and its fix, #5's one call: 0.36 + 0.05 + 0.03 + 0.04.
    expect(totalUsage(s).costUsd).toBeCloseTo(0.48);
    // #4's row carries all it spent; #5 is still running.
    s = reduce(s, { type: 'result', at: at(1300), experiment: 4, row: row('e000005', 0.99, 'discard', 'y', 0.08), standing: s.standing });
    expect(totalUsage(s).costUsd).toBeCloseTo(0.48);
  });

  it('still counts what a skipped or cut-short experiment spent', () => {
    let s = reduceAll(overlap);
    s = reduce(s, { type: 'agent', at: at(1050), experiment: 5, activity: { kind: 'usage', usage: usage(0.02) } });
    s = reduce(s, { type: 'skipped', at: at(1060), experiment: 5, reason: 'no change' });
    expect(s.inFlight.map((f) => f.experiment)).toEqual([4]);
    expect(totalUsage(s).costUsd).toBeCloseTo(0.43);
    s = reduce(s, { type: 'phase', at: at(1070), phase: 'agent', experiment: 6 });
    s = reduce(s, { type: 'agent', at: at(1071), experiment: 6, activity: { kind: 'usage', usage: usage(0.01) } });
    s = reduce(s, { type: 'finished', at: at(1080), reason: 'interrupted', exitCode: 130 });
    expect(s.inFlight).toEqual([]);
    expect(totalUsage(s).costUsd).toBeCloseTo(0.44);
    expect(sessionUsage(s).costUsd).toBeCloseTo(0.44); // every row of this night is from this session
  });

  it('lets go of an experiment whose end it never heard of, once its GPU holds a newer one beyond 1 + lookahead', () => {
    const two = reduceAll([
      { type: 'started', at: at(0), tag: 't', branch: 'autoresearch/t', agent: 'm', config: { ...config, gpus: ['0', '1'], lookahead: 1 }, resumed: false, rows: [] },
      { type: 'phase', at: at(1), phase: 'agent', experiment: 1, slot: '0' },
      { type: 'phase', at: at(2), phase: 'agent', experiment: 2, slot: '1' },
      { type: 'phase', at: at(3), phase: 'agent', experiment: 3, slot: '0' },
      { type: 'phase', at: at(4), phase: 'agent', experiment: 4, slot: '0' },
    ]);
    expect(two.inFlight.map((f) => [f.experiment, f.slot])).toEqual([
      [2, '1'],
      [3, '0'],
      [4, '0'],
    ]);
  });

  it('says when more than one experiment can be in flight', () => {
    expect(isPipelined({ gpus: null, lookahead: 0 })).toBe(false);
    expect(isPipelined({ gpus: null, lookahead: 1 })).toBe(true);
    expect(isPipelined({ gpus: ['0'], lookahead: 0 })).toBe(true);
  });
});
