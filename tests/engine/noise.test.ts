// The noise rule (noise.ts) and the scheduler's judgement that uses it (schedule.ts), as pure
// functions, checked against reference values of Student's t distribution. The bounds below were
// computed independently (python3: math.erf for Φ, Student's t CDF by Simpson integration of its
// density, inverted by bisection; no library shared with the code under test).

import { describe, expect, it } from 'vitest';
import { FUTILITY_BOUND, keepBound, LAST_RUN_BOUND, mean, noiseVerdict, onT, pooledNoise, stdDev } from '../../src/engine/noise.js';
import { measuredOn, needsRebase, settle, slotCapacity } from '../../src/engine/schedule.js';

describe('the bounds', () => {
  it('turn a bound in standard errors into a t value at the same one-sided confidence', () => {
    // 1.644854 standard errors is 95% one-sided: the t tables (NIST/SEMATECH e-Handbook, 1.3.6.7.2).
    expect(onT(1.644854, 1)).toBeCloseTo(6.313752, 4);
    expect(onT(1.644854, 4)).toBeCloseTo(2.131847, 4);
    expect(onT(1.644854, 30)).toBeCloseTo(1.697261, 4);
    // Φ(0.7) = 0.758036, Φ(0.5) = 0.691462, Φ(0.989949) = 0.838901 (python3, see above).
    expect(onT(0.7, 4)).toBeCloseTo(0.770614, 5);
    expect(onT(0.5, 2)).toBeCloseTo(0.58622, 5);
    expect(onT(0.7 * Math.SQRT2, 30)).toBeCloseTo(1.006555, 5);
    expect(onT(Infinity, 4)).toBe(Infinity);
  });

  it('are strict at a candidate\'s early runs and looser at its last (O\'Brien–Fleming\'s shape), never on a first run alone', () => {
    expect(LAST_RUN_BOUND).toBe(0.7);
    expect(FUTILITY_BOUND).toBe(0.5);
    expect(keepBound(1, 4)).toBe(Infinity);
    expect(keepBound(2, 4)).toBeCloseTo(0.989949, 6);
    expect(keepBound(3, 4)).toBeCloseTo(0.80829, 5);
    expect(keepBound(4, 4)).toBeCloseTo(0.7, 12);
    expect(keepBound(1, 1)).toBeCloseTo(0.7, 12); // --confirm-runs 0: the one run is the last
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
  const sigmaText = '(σ 0.005000, 4 degrees of freedom)';

  it('discards at once what is not better on average', () => {
    expect(noiseVerdict(best, [1.001], noise, 'min', 3)).toEqual({ kind: 'discard', reason: 'not better' });
    expect(noiseVerdict(best, [1.0], noise, 'min', 3).kind).toBe('discard'); // a tie is not progress
    expect(noiseVerdict(best, [0.999], noise, 'max', 3).kind).toBe('discard');
    expect(noiseVerdict(best, [0.99, 1.02], noise, 'min', 2)).toEqual({ kind: 'discard', reason: 'not better' });
  });

  it('never keeps on a first run while another may follow, however far beyond the noise', () => {
    expect(noiseVerdict(best, [0.95], noise, 'min', 3)).toEqual({ kind: 'confirm', margin: `better by 0.050000 on its first run, never kept alone ${sigmaText}` });
  });

  it('keeps at run k of K beyond 0.7·√(K/k) standard errors, as a t value', () => {
    // Run 2 of 4: se = 0.005·√(1/3 + 1/2) = 0.004564; bound 0.989949 → t(4) 1.128527 → needs 0.005151.
    expect(noiseVerdict(best, [0.994, 0.994], noise, 'min', 2)).toEqual({ kind: 'keep', margin: `better by 0.006000, noise allows 0.005151 ${sigmaText}` });
    expect(noiseVerdict(best, [0.995, 0.995], noise, 'min', 2)).toEqual({ kind: 'confirm', margin: `better by 0.005000, noise allows 0.005151 ${sigmaText}` });
    // Run 3 of 4: se = 0.004082; bound 0.808290 → t(4) 0.900174 → needs 0.003675.
    expect(noiseVerdict(best, [0.996, 0.996, 0.996], noise, 'min', 1).kind).toBe('keep');
    expect(noiseVerdict(best, [0.9965, 0.9965, 0.9965], noise, 'min', 1).kind).toBe('confirm');
    // Run 4 of 4: se = 0.003819; bound 0.7 → t(4) 0.770614 → needs 0.002943; short of it, within noise.
    expect(noiseVerdict(best, [0.997, 0.997, 0.997, 0.997], noise, 'min', 0).kind).toBe('keep');
    expect(noiseVerdict(best, [0.9972, 0.9972, 0.9972, 0.9972], noise, 'min', 0)).toEqual({
      kind: 'discard',
      reason: `within noise: better by 0.002800, noise allows 0.002943 ${sigmaText}`,
    });
  });

  it('drops, after a second or later run, what is better by less than 0.5 standard errors', () => {
    // Run 2 of 4: 0.5 → t(4) 0.541243 · 0.004564 = 0.002470 is worth another run; less is not.
    expect(noiseVerdict(best, [0.9976, 0.9976], noise, 'min', 2)).toEqual({
      kind: 'discard',
      reason: `within noise: better by 0.002400 after 2 runs, less than the 0.002470 worth another run ${sigmaText}`,
    });
    expect(noiseVerdict(best, [0.9975, 0.9975], noise, 'min', 2).kind).toBe('confirm');
  });

  it('with --confirm-runs 0 judges the one run at the last run\'s bound', () => {
    // se = 0.005·√(1/3 + 1) = 0.005774; 0.7 → t(4) 0.770614 → needs 0.004449.
    expect(noiseVerdict(best, [0.9955], noise, 'min', 0)).toEqual({ kind: 'keep', margin: `better by 0.004500, noise allows 0.004449 ${sigmaText}` });
    expect(noiseVerdict(best, [0.996], noise, 'min', 0).kind).toBe('discard');
  });

  it('is the classic strictly-better rule without any noise estimate and no runs to spare', () => {
    expect(noiseVerdict([1.0], [0.9999], null, 'min', 0)).toEqual({ kind: 'keep', margin: 'better by 0.000100' });
    expect(noiseVerdict([1.0], [1.0], null, 'min', 0).kind).toBe('discard');
    // With runs to spare it runs again rather than keep on one draw.
    expect(noiseVerdict([1.0], [0.9999], null, 'min', 1).kind).toBe('confirm');
    // No spread at all: one run is the truth.
    expect(noiseVerdict([1.0, 1.0], [0.9999], { sigma: 0, df: 1 }, 'min', 3)).toEqual({ kind: 'keep', margin: 'better by 0.000100' });
  });
});

describe('settle', () => {
  const measured = (value: number) => ({ kind: 'measured' as const, value, memoryGb: 1 });
  const best = { commit: 'bbbbbbb0000', values: [1.0, 1.0, 1.0], runBaseValues: null };

  it('keeps, discards or confirms a run built on the current best by the noise rule', () => {
    const noise = { sigma: 0.005, df: 4 };
    const run = (values: number[], runsLeft = 3) => ({ outcome: measured(mean(values)), values, runBase: 'bbbbbbb1111', runsLeft });
    // Clearly better on one run: confirmed all the same, so the new bar is a mean, not a lucky draw.
    expect(settle(run([0.98]), best, 'min', noise)).toEqual({ kind: 'confirm' });
    expect(settle(run([0.98, 0.981], 2), best, 'min', noise)).toEqual({ kind: 'keep', margin: expect.stringMatching(/^better by 0\.019500, noise allows/) });
    expect(settle(run([0.98], 0), best, 'min', noise)).toEqual({ kind: 'keep', margin: expect.stringMatching(/^better by 0\.020000/) });
    expect(settle(run([0.996]), best, 'min', noise)).toEqual({ kind: 'confirm' });
    expect(settle(run([0.996], 0), best, 'min', noise)).toEqual({ kind: 'discard', reason: expect.stringMatching(/^within noise/) });
    expect(settle(run([0.9976, 0.9976], 2), best, 'min', noise)).toEqual({ kind: 'discard', reason: expect.stringMatching(/^within noise: better by 0\.002400 after 2 runs/) });
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
