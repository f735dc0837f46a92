// The scheduler's judgement, as pure functions beside decide.ts: how many experiments a slot may
// have in flight, whether a draft must move onto a newer best before it trains, and what a finished
// run means when other experiments moved the best while it ran. One rule runs through all of it:
// a result counts only for the exact code that produced it.

import { isBetter } from './decide.js';
import type { Outcome } from './decide.js';
import { short } from '../git/repo.js';
import type { Direction } from './types.js';

/** Times an experiment is re-trained because the best moved under it, before it is let go. */
export const MAX_RERUNS = 2;

/** Experiments one slot may have in flight: the one it trains and `lookahead` drafted ahead. */
export function slotCapacity(lookahead: number): number {
  return 1 + lookahead;
}

/** A draft made on an older best is moved onto the current one before it trains. */
export function needsRebase(draftBase: string, bestCommit: string): boolean {
  return short(draftBase) !== short(bestCommit);
}

export type Settlement =
  | { kind: 'keep' }
  | { kind: 'discard' }
  | { kind: 'crash' }
  /** It beat the best it started from, but the best has moved: train its change again on the new best. */
  | { kind: 'rerun' };

export interface RunFacts {
  outcome: Outcome;
  runBase: string; // the commit the run's code was built on
  reruns: number; // how many times this experiment was already re-trained
}

export interface BestNow {
  commit: string;
  value: number;
  /** The metric of the kept commit the run started from, when it is not the best any more. */
  runBaseValue: number | null;
}

/**
 * Keep only what was measured better than the best on exactly that code. A run that beat the best
 * it started from, while another experiment moved the best, is re-trained on the new best (its
 * improvement might not add up with the other one); one that did not beat even its own base is
 * discarded at once.
 */
export function settle(run: RunFacts, best: BestNow | null, direction: Direction): Settlement {
  if (run.outcome.kind === 'crash') return { kind: 'crash' };
  if (best === null) return { kind: 'keep' };
  const value = run.outcome.value;
  if (!needsRebase(run.runBase, best.commit)) return isBetter(value, best.value, direction) ? { kind: 'keep' } : { kind: 'discard' };
  const baseValue = best.runBaseValue ?? best.value;
  if (!isBetter(value, baseValue, direction)) return { kind: 'discard' };
  return run.reruns < MAX_RERUNS ? { kind: 'rerun' } : { kind: 'discard' };
}
