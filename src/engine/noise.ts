// Keeping only what beats the noise. Two runs of the same train.py differ (0.005 val_bpb between
// seeds on an H200), and real gains are often smaller, so one run per experiment keeps luck. Here:
// the noise σ is pooled from every experiment measured more than once (the baseline first), the
// best's value is the mean of its runs, and a candidate is judged run by run, a group-sequential
// test: never kept on its first run alone, kept once its mean beats the best's by a bound that is
// strict at its early runs and looser at its last (O'Brien–Fleming's shape), dropped as soon as it
// is not better, or better by too little to be worth another run. The bounds were chosen on the
// bench (docs/benchmarks.md, "Noise-aware keeps, second round"). Pure functions; the loop does the runs.

import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Direction, ResultRow } from './types.js';

/**
 * The keep bound at a candidate's last allowed run, in standard errors of the difference (normal
 * scale: 0.7 is 75.8% one-sided confidence). Earlier runs need more: see keepBound.
 */
export const LAST_RUN_BOUND = 0.7;

/**
 * After its second or later run (not its last), a candidate better by less than this many standard
 * errors (69.1% one-sided) is not worth another run: the runs go to the next idea instead.
 */
export const FUTILITY_BOUND = 0.5;

export interface Noise {
  sigma: number; // pooled standard deviation of one run
  df: number; // its degrees of freedom: Σ (runs − 1) over the experiments it comes from
  runs?: number; // how many runs it comes from (Σ runs over those experiments), to say so
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation; 0 for fewer than two values. */
export function stdDev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

/** Each run's value of a row: its values when it was trained more than once, else its one value (none for a crash). */
export function runValues(row: ResultRow): number[] {
  return row.values ?? (row.status === 'crash' ? [] : [row.value]);
}

/** How many training runs a row's code got: a crash counts the run that crashed beside the measured ones. */
export function runCount(row: ResultRow): number {
  return row.runs ?? Math.max(1, runValues(row).length);
}

/** σ pooled over groups of runs of the same code; null while no group has two runs. */
export function pooledNoise(groups: readonly (readonly number[])[]): Noise | null {
  let df = 0;
  let squares = 0;
  let runs = 0;
  for (const g of groups) {
    if (g.length < 2) continue;
    const m = mean(g);
    df += g.length - 1;
    runs += g.length;
    squares += g.reduce((a, v) => a + (v - m) ** 2, 0);
  }
  return df > 0 ? { sigma: Math.sqrt(squares / df), df, runs } : null;
}

/**
 * The keep bound, in standard errors (normal scale), at a candidate's `run`-th run (1-based) of at
 * most `runs`: LAST_RUN_BOUND·√(runs/run), O'Brien–Fleming's shape (with 4 runs: 0.990, 0.808,
 * 0.7 at runs 2, 3, 4). None at the first run while another may follow: a keep sets the bar every
 * later candidate must clear, and one selected draw is a lucky bar.
 */
export function keepBound(run: number, runs: number): number {
  if (run === 1 && runs > 1) return Infinity;
  return LAST_RUN_BOUND * Math.sqrt(runs / run);
}

/** A bound in standard errors as a t value on `df` degrees of freedom, at the same one-sided confidence (σ is estimated). */
export function onT(bound: number, df: number): number {
  if (bound === Infinity) return Infinity;
  return tQuantile(normalCdf(bound, 0, 1), df);
}

export type NoiseVerdict =
  | { kind: 'keep'; margin: string }
  | { kind: 'discard'; reason: string }
  /** Better, but not by more than the noise allows yet: run it again with a new seed. */
  | { kind: 'confirm'; margin: string };

const fmt = (x: number) => x.toFixed(6);

/**
 * Judge a candidate's runs so far against the best's runs; `runsLeft` more runs are allowed after
 * these. Not better on average → discard at once. Better by more than the keep bound of this run
 * (keepBound, as a t value) → keep. Else another run while `runsLeft`, unless after a second or
 * later run it is better by less than FUTILITY_BOUND; at the last run, discard as within noise.
 * Without any noise estimate (every experiment run once), another run while `runsLeft`, then
 * better is enough: the classic rule. With no spread at all (σ 0), one run is the truth.
 */
export function noiseVerdict(best: readonly number[], candidate: readonly number[], noise: Noise | null, direction: Direction, runsLeft: number): NoiseVerdict {
  const gain = direction === 'min' ? mean(best) - mean(candidate) : mean(candidate) - mean(best);
  if (!(gain > 0)) return { kind: 'discard', reason: 'not better' };
  if (noise === null || noise.sigma === 0) {
    if (runsLeft > 0 && noise === null) return { kind: 'confirm', margin: `better by ${fmt(gain)}; no noise estimate yet` };
    return { kind: 'keep', margin: `better by ${fmt(gain)}` };
  }
  const run = candidate.length;
  const runs = run + Math.max(0, runsLeft);
  const se = noise.sigma * Math.sqrt(1 / best.length + 1 / candidate.length);
  const noiseText = `(σ ${fmt(noise.sigma)}, ${noise.df} degrees of freedom)`;
  const needed = onT(keepBound(run, runs), noise.df) * se;
  if (needed === Infinity) return { kind: 'confirm', margin: `better by ${fmt(gain)} on its first run, never kept alone ${noiseText}` };
  const margin = `better by ${fmt(gain)}, noise allows ${fmt(needed)} ${noiseText}`;
  if (gain > needed) return { kind: 'keep', margin };
  if (runsLeft <= 0) return { kind: 'discard', reason: `within noise: ${margin}` };
  const worth = onT(FUTILITY_BOUND, noise.df) * se;
  if (gain < worth) return { kind: 'discard', reason: `within noise: better by ${fmt(gain)} after ${run} runs, less than the ${fmt(worth)} worth another run ${noiseText}` };
  return { kind: 'confirm', margin };
}
