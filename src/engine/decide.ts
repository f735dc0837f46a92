// The loop's judgement, as pure functions: what a finished run means, whether to keep it,
// where a tag stands, and when to stop. No I/O here, so every rule is unit-tested directly.

import { looksOutOfMemory, parseMemoryGb, parseMetric } from './metric.js';
import type { Direction, ResultRow, Standing, Status } from './types.js';

export interface RunFacts {
  exitCode: number | null; // null when killed by a signal
  signal: string | null;
  timedOut: boolean;
  interrupted: boolean; // the user stopped the program while this run was in flight
  log: string;
}

export type Outcome =
  | { kind: 'measured'; value: number; memoryGb: number }
  | { kind: 'crash'; reason: string; memoryGb: number };

/** Turn the facts of a finished run into a measurement or a crash with its reason. */
export function judgeRun(facts: RunFacts, metric: string): Outcome {
  const memoryGb = parseMemoryGb(facts.log);
  if (facts.interrupted) return { kind: 'crash', reason: 'interrupted', memoryGb: 0 };
  if (facts.timedOut) return { kind: 'crash', reason: 'timeout', memoryGb: 0 };
  const value = parseMetric(facts.log, metric);
  if (facts.exitCode !== 0) {
    if (looksOutOfMemory(facts.log)) return { kind: 'crash', reason: 'OOM', memoryGb: 0 };
    if (value !== null && !Number.isFinite(value)) return { kind: 'crash', reason: nonFinite(value), memoryGb: 0 };
    if (/\bnan\b.*loss|loss.*\bnan\b/i.test(facts.log)) return { kind: 'crash', reason: 'nan', memoryGb: 0 };
    const how = facts.exitCode === null ? `signal ${facts.signal ?? 'unknown'}` : `exit ${facts.exitCode}`;
    return { kind: 'crash', reason: how, memoryGb: 0 };
  }
  if (value === null) return { kind: 'crash', reason: `no ${metric} in log`, memoryGb: 0 };
  if (!Number.isFinite(value)) return { kind: 'crash', reason: nonFinite(value), memoryGb: 0 };
  return { kind: 'measured', value, memoryGb };
}

/** The crash label of a metric that is not a number: said as Python printed it, so `inf` is not called `nan`. */
export function nonFinite(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  return value > 0 ? 'inf' : '-inf';
}

/** Strictly better: a tie is not progress, so it never earns a commit on the branch. */
export function isBetter(value: number, best: number, direction: Direction): boolean {
  return direction === 'min' ? value < best : value > best;
}

export function decide(outcome: Outcome, best: number | null, direction: Direction): Status {
  if (outcome.kind === 'crash') return 'crash';
  if (best === null) return 'keep';
  return isBetter(outcome.value, best, direction) ? 'keep' : 'discard';
}

/**
 * What runs of one code that trained at once amount to: a stop by the user first, then any crash
 * (it stands for them all), else the first run's measurement (the one whose log the row keeps).
 */
export function batchOutcome(outcomes: readonly Outcome[]): Outcome {
  return outcomes.find((o) => o.kind === 'crash' && o.reason === 'interrupted') ?? outcomes.find((o) => o.kind === 'crash') ?? outcomes[0]!;
}

/** The description as logged: a crash carries its reason in parentheses at the end. */
export function describe(description: string, outcome: Outcome): string {
  return outcome.kind === 'crash' ? `${description} (${outcome.reason})` : description;
}

/**
 * Where a tag stands, from its rows alone. The baseline is its first kept row; the best is its
 * last kept row, because a row is only kept when it beats the best before it.
 */
export function standingOf(rows: ResultRow[]): Standing {
  const kept = rows.filter((r) => r.status === 'keep');
  const first = kept[0];
  const last = kept[kept.length - 1];
  return {
    baseline: first ? { commit: first.commit, value: first.value } : null,
    best: last ? { commit: last.commit, value: last.value, description: last.description } : null,
  };
}

/** Relative improvement of the best over the baseline, positive when better, in percent. */
export function improvementPercent(standing: Standing, direction: Direction): number | null {
  const { baseline, best } = standing;
  if (!baseline || !best || baseline.value === 0) return null;
  const change = (best.value - baseline.value) / Math.abs(baseline.value);
  return (direction === 'min' ? -change : change) * 100;
}

export interface StopFacts {
  experimentsDone: number; // this invocation, baseline excluded
  maxExperiments: number | null;
  startedAtMs: number;
  nowMs: number;
  maxHours: number | null;
  costUsd: number; // this invocation
  maxCostUsd: number | null;
  stopRequested: string | null;
}

/** Why the loop should not start another experiment, or null to go on. */
export function stopReason(f: StopFacts): string | null {
  if (f.stopRequested) return f.stopRequested;
  if (f.maxExperiments !== null && f.experimentsDone >= f.maxExperiments) {
    return `reached --max-experiments ${f.maxExperiments}`;
  }
  if (f.maxHours !== null && f.nowMs - f.startedAtMs >= f.maxHours * 3_600_000) {
    return `reached --max-hours ${f.maxHours}`;
  }
  if (f.maxCostUsd !== null && f.costUsd >= f.maxCostUsd) {
    return `reached --max-cost $${f.maxCostUsd.toFixed(2)} (spent $${f.costUsd.toFixed(2)})`;
  }
  return null;
}
