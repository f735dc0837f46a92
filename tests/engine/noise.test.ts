// The noise rule (noise.ts) and the scheduler's judgement that uses it (schedule.ts), as pure
// functions, checked against reference values of Student's t distribution.

import { describe, expect, it } from 'vitest';
import { criticalT, mean, noiseVerdict, pooledNoise, stdDev } from '../../src/engine/noise.js';
import { measuredOn, needsRebase, settle, slotCapacity } from '../../src/engine/schedule.js';

describe('the t distribution', () => {
  it('matches the tables at 95% one-sided', () => {
    // Reference values: any table of Student's t (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    expect(criticalT(1)).toBeCloseTo(6.313752, 5);
    expect(criticalT(2)).toBeCloseTo(2.919986, 5);
    expect(criticalT(5)).toBeCloseTo(2.015048, 5);
    expect(criticalT(10)).toBeCloseTo(1.812461, 5);
    expect(criticalT(30)).toBeCloseTo(1.697261, 5);
  });
});

describe('pooled noise', () => {
  it('pools the spread of every group of repeated runs, weighted by degrees of freedom', () => {
    expect(mean([1, 2, 3])).toBe(2);
    expect(stdDev([1, 2, 3])).toBeCloseTo(1, 12);
    expect(stdDev([5])).toBe(0);
    // Groups [1,2,3] (SS 2, df 2) and [10,12] (SS 2, df 1): σ² = 4/3; singles add nothing.
    const n = pooledNoise([[1, 2, 3], [10, 12], [7]]);
    expect(n?.df).toBe(3);
    expect(n?.runs).toBe(5);
    expect(n?.sigma).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(pooledNoise([[1], [2]])).toBeNull();
  });
});

describe('noiseVerdict', () => {
  const noise = { sigma: 0.005, df: 4 };
  const best = [1.0, 1.0, 1.0];

  it('discards at once what is not better on average', () => {
    expect(noiseVerdict(best, [1.001], noise, 'min', 2)).toEqual({ kind: 'discard', reason: 'not better' });
    expect(noiseVerdict(best, [1.0], noise, 'min', 2).kind).toBe('discard'); // a tie is not progress
    expect(noiseVerdict(best, [0.999], noise, 'max', 2).kind).toBe('discard');
  });

  it('keeps at once a gain well beyond the noise', () => {
    // se = 0.005 · √(1/3 + 1) = 0.005774; t(4) = 2.131847 → needs 0.012308
    const v = noiseVerdict(best, [0.987], noise, 'min', 2);
    expect(v).toEqual({ kind: 'keep', margin: 'better by 0.013000, noise allows 0.012308 (σ 0.005000, 4 degrees of freedom)' });
  });

  it('asks for another run in between, and calls it noise when the runs are spent', () => {
    expect(noiseVerdict(best, [0.99], noise, 'min', 1).kind).toBe('confirm');
    expect(noiseVerdict(best, [0.99], noise, 'min', 0)).toEqual({
      kind: 'discard',
      reason: 'within noise: better by 0.010000, noise allows 0.012308 (σ 0.005000, 4 degrees of freedom)',
    });
    // Three runs averaging 0.99: se = 0.005 · √(2/3) = 0.004082 → needs 0.008703 → kept.
    expect(noiseVerdict(best, [0.99, 0.991, 0.989], noise, 'min', 0).kind).toBe('keep');
  });

  it('is the classic strictly-better rule without any noise estimate and no runs to spare', () => {
    expect(noiseVerdict([1.0], [0.9999], null, 'min', 0)).toEqual({ kind: 'keep', margin: 'better by 0.000100' });
    expect(noiseVerdict([1.0], [1.0], null, 'min', 0).kind).toBe('discard');
    // With runs to spare it runs again rather than keep on one draw.
    expect(noiseVerdict([1.0], [0.9999], null, 'min', 1).kind).toBe('confirm');
  });
});

describe('settle', () => {
  const measured = (value: number) => ({ kind: 'measured' as const, value, memoryGb: 1 });
  const best = { commit: 'bbbbbbb0000', values: [1.0, 1.0, 1.0], runBaseValues: null };

  it('keeps, discards or confirms a run built on the current best by the noise rule', () => {
    const noise = { sigma: 0.005, df: 4 };
    const run = (values: number[], runsLeft = 2) => ({ outcome: measured(mean(values)), values, runBase: 'bbbbbbb1111', runsLeft });
    // Clearly better on one run: confirmed all the same, so the new bar is a mean, not a lucky draw.
    expect(settle(run([0.98]), best, 'min', noise)).toEqual({ kind: 'confirm' });
    expect(settle(run([0.98, 0.981, 0.979], 0), best, 'min', noise)).toEqual({ kind: 'keep', margin: expect.stringMatching(/^better by 0\.020000, noise allows/) });
    expect(settle(run([0.98], 0), best, 'min', noise)).toEqual({ kind: 'keep', margin: expect.stringMatching(/^better by 0\.020000/) });
    expect(settle(run([0.995]), best, 'min', noise)).toEqual({ kind: 'confirm' });
    expect(settle(run([0.995], 0), best, 'min', noise)).toEqual({ kind: 'discard', reason: expect.stringMatching(/^within noise/) });
    expect(settle({ ...run([0.98]), outcome: { kind: 'crash', reason: 'OOM', memoryGb: 0 } }, best, 'min', noise)).toEqual({ kind: 'crash' });
    expect(settle(run([0.98]), null, 'min', noise)).toEqual({ kind: 'keep' }); // the baseline: nothing to beat
  });

  it('judges a run built on an older best against that base, and re-runs a winner on the new best', () => {
    const moved = { ...best, runBaseValues: [1.05, 1.05] };
    const run = { outcome: measured(0.99), values: [0.99], runBase: 'aaaaaaa', runsLeft: 0 };
    expect(settle(run, moved, 'min', null)).toEqual({ kind: 'rerun' }); // beat its base 1.05
    expect(settle({ ...run, outcome: measured(1.06), values: [1.06] }, moved, 'min', null)).toEqual({ kind: 'discard', reason: 'not better' });
  });

  it('a winner is re-run however often the best moved: scheduling alone never discards it', () => {
    // Each time: it beat the base it ran on, and another slot kept first. No bound lets it go.
    for (let moves = 0; moves < 10; moves++) {
      const moved = { commit: `ccccccc${moves}`, values: [0.9], runBaseValues: [1.0 - moves * 0.01] };
      expect(settle({ outcome: measured(0.95 - moves * 0.01), values: [0.95 - moves * 0.01], runBase: `bbbbbbb${moves}`, runsLeft: 0 }, moved, 'min', null)).toEqual({ kind: 'rerun' });
    }
  });

  it('names every base a change was measured on', () => {
    expect(measuredOn([], 'abcdef1234')).toBe('');
    expect(measuredOn(['1111111'], '2222222999')).toBe(' (beat 1111111; re-measured on the new best 2222222)');
    expect(measuredOn(['1111111', '2222222', '3333333'], '4444444')).toBe(' (beat 1111111, then 2222222, then 3333333; re-measured on the new best 4444444)');
  });

  it('says when a draft must move, and how many experiments a slot holds', () => {
    expect(needsRebase('abcdef1234', 'abcdef1')).toBe(false);
    expect(needsRebase('abcdef1234', 'abcdef2')).toBe(true);
    expect(slotCapacity(0)).toBe(1);
    expect(slotCapacity(2)).toBe(3);
  });
});
