// Keeping only what beats the noise. Two runs of the same train.py differ (0.005 val_bpb between
// seeds on an H200), and real gains are often smaller, so one run per experiment keeps luck. Here:
// the noise σ is pooled from every experiment measured more than once (the baseline first), the
// best's value is the mean of its runs, and a candidate is kept only when its mean beats the
// best's mean by more than that noise allows, at 95% one-sided confidence (a t-test). Pure
// functions; the loop does the runs.

import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { Direction, ResultRow } from './types.js';

/** One-sided confidence a keep needs. */
export const CONFIDENCE = 0.95;

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

/** The t value a difference must reach for a keep, at CONFIDENCE one-sided with `df` degrees of freedom. */
export function criticalT(df: number): number {
  return tQuantile(CONFIDENCE, df);
}

export type NoiseVerdict =
  | { kind: 'keep'; margin: string }
  | { kind: 'discard'; reason: string }
  /** Better, but not by more than the noise allows yet: run it again with a new seed. */
  | { kind: 'confirm'; margin: string };

const fmt = (x: number) => x.toFixed(6);

/**
 * Judge a candidate's runs against the best's runs. Not better on average → discard at once.
 * Better by more than the noise allows → keep. In between → another run while `runsLeft`, else
 * discard as within noise. Without any noise estimate (every experiment run once), another run
 * while `runsLeft`, then better is enough: the classic rule. (settle() in schedule.ts confirms a
 * keep too while runs are left: this verdict alone is not the whole rule.)
 */
export function noiseVerdict(best: readonly number[], candidate: readonly number[], noise: Noise | null, direction: Direction, runsLeft: number): NoiseVerdict {
  const gain = direction === 'min' ? mean(best) - mean(candidate) : mean(candidate) - mean(best);
  if (!(gain > 0)) return { kind: 'discard', reason: 'not better' };
  if (noise === null || noise.sigma === 0) {
    if (runsLeft > 0 && noise === null) return { kind: 'confirm', margin: `better by ${fmt(gain)}; no noise estimate yet` };
    return { kind: 'keep', margin: `better by ${fmt(gain)}` };
  }
  const se = noise.sigma * Math.sqrt(1 / best.length + 1 / candidate.length);
  const needed = criticalT(noise.df) * se;
  const margin = `better by ${fmt(gain)}, noise allows ${fmt(needed)} (σ ${fmt(noise.sigma)}, ${noise.df} degrees of freedom)`;
  if (gain > needed) return { kind: 'keep', margin };
  if (runsLeft > 0) return { kind: 'confirm', margin };
  return { kind: 'discard', reason: `within noise: ${margin}` };
}
