// The scheduler's judgement, as pure functions beside decide.ts: how many experiments a slot may
// have in flight, whether a draft must move onto a newer best before it trains, and what a finished
// run means when other experiments moved the best while it ran. One rule runs through all of it:
// a result counts only for the exact code that produced it.

import type { Outcome } from './decide.js';
import { noiseVerdict, type Noise } from './noise.js';
import { short } from '../git/repo.js';
import type { Direction } from './types.js';

/** Experiments one slot may have in flight: the one it trains and `lookahead` drafted ahead. */
export function slotCapacity(lookahead: number): number {
  return 1 + lookahead;
}

/** A draft made on an older best is moved onto the current one before it trains. */
export function needsRebase(draftBase: string, bestCommit: string): boolean {
  return short(draftBase) !== short(bestCommit);
}

/**
 * The row's account of every base a change was measured on: the earlier bests it beat (each moved
 * on while it ran) and the one its last runs count for. Empty when it never moved.
 */
export function measuredOn(beaten: readonly string[], last: string): string {
  if (beaten.length === 0) return '';
  return ` (beat ${beaten.join(', then ')}; re-measured on the new best ${short(last)})`;
}

export type Settlement =
  | { kind: 'keep'; margin?: string }
  | { kind: 'discard'; reason?: string }
  | { kind: 'crash' }
  /** Better, but not yet by more than the noise allows: train the same code again with a new seed. */
  | { kind: 'confirm' }
  /** It beat the best it started from, but the best has moved: train its change again on the new best. */
  | { kind: 'rerun' };

export interface RunFacts {
  outcome: Outcome; // the latest run's
  values: number[]; // every measured run of this code so far
  runBase: string; // the commit the runs' code was built on
  runsLeft: number; // confirmation runs it may still get
}

export interface BestNow {
  commit: string;
  values: number[]; // the best's runs: its value is their mean
  /** The runs of the kept commit the run started from, when that is not the best any more. */
  runBaseValues: number[] | null;
}

/**
 * Keep only what was measured better than the best, beyond the noise, on exactly that code, on the
 * mean of all its runs (noise.ts's noiseVerdict: never on a first run alone while --confirm-runs
 * allow another). A run built on an older best is judged against that base; if it beat it, it is
 * re-trained on the new best (its improvement might not add up with the other one); if it did not,
 * it is discarded. There is no bound on the re-runs: a change that keeps beating its base is never
 * let go because other slots kept first (which run finishes first is luck). Each re-run needs
 * another keep to have landed while it ran, so the chase ends when the others stop winning.
 */
export function settle(run: RunFacts, best: BestNow | null, direction: Direction, noise: Noise | null): Settlement {
  if (run.outcome.kind === 'crash') return { kind: 'crash' };
  if (best === null) return { kind: 'keep' };
  const moved = needsRebase(run.runBase, best.commit);
  const verdict = noiseVerdict(moved ? (best.runBaseValues ?? best.values) : best.values, run.values, noise, direction, run.runsLeft);
  if (verdict.kind === 'confirm') return { kind: 'confirm' };
  if (verdict.kind === 'discard') return { kind: 'discard', reason: verdict.reason };
  return moved ? { kind: 'rerun' } : { kind: 'keep', margin: verdict.margin };
}
