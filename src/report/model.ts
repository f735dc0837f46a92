// The morning report's content, as plain data: what one tag's night was, found and learned. Pure:
// built from the tag's rows and what was read from disk and git (gather.ts), so every figure the
// page shows is unit-tested here, and render.ts only lays it out.

import { improvementPercent, standingOf } from '../engine/decide.js';
import { crashReason, experimentOf } from '../engine/duplicates.js';
import { mean, pooledNoise, runCount, runValues, stdDev } from '../engine/noise.js';
import { nearMisses } from '../engine/plateau.js';
import type { Direction, ResultRow, Status } from '../engine/types.js';
import { codeRef } from '../ledger/journal.js';
import { duplicatesSaved, type DuplicateRecord, type DuplicatesSaved } from '../commands/results.js';

/** The last lines of one kept run log (.autoresearch/<tag>/logs/NNNN-<commit>[-runK].log). */
export interface LogTail {
  name: string;
  lines: string[];
  /** Lines before these that the page leaves out (the file is on disk). */
  omitted: boolean;
}

/** What gather.ts reads for one tag: the rows and what lies beside them on disk and in git. */
export interface TagInput {
  tag: string;
  metric: string;
  direction: Direction;
  rows: ResultRow[]; // the tag's rows, oldest first
  refusals: DuplicateRecord[];
  /** `git show` of each row's code, by codeRef (the kept commit, or the discarded ref); absent: not found. */
  diffs: ReadonlyMap<string, string>;
  /** The run logs kept for each experiment number, in run order. */
  logs: ReadonlyMap<number, LogTail[]>;
  /** The progress chart (chart.ts), an SVG document. */
  chartSvg: string;
  journalPath: string;
}

export interface ExperimentView {
  n: number;
  commit: string;
  status: Status;
  /** The mean of its runs; null for a crash. */
  value: number | null;
  values: number[];
  runs: number;
  /** Spread (standard deviation) of its runs, when it has two or more. */
  sd: number | null;
  description: string;
  verdict: string | null;
  crashReason: string | null;
  notes: string | null;
  files: string[];
  startedAt: string;
  seconds: number;
  costUsd: number;
  slot: string | null;
  base: string | null;
  /** Where its code is: `git show <ref>`; null for the baseline, which changed nothing. */
  ref: string | null;
  diff: string | null;
  logs: LogTail[];
  /** Kept: how much better than the best before it (positive is better); null otherwise. */
  gain: number | null;
  /** Why it is a near miss (plateau.ts), when it is one. */
  nearMiss: string | null;
}

export interface NightLine {
  tag: string;
  metric: string;
  direction: Direction;
  /** ISO start of the first experiment and end of the last; null when no row has a time. */
  from: string | null;
  to: string | null;
  hours: number;
  experiments: number;
  counts: Record<Status, number>;
  baseline: { value: number; runs: number; commit: string } | null;
  best: { value: number; runs: number; commit: string; description: string } | null;
  noise: { sigma: number; df: number } | null;
  improvementPercent: number | null;
  /** Σ experiment wall time in hours (drafting included): at most the GPU time the night used. */
  gpuHours: number;
  costUsd: number;
  duplicates: DuplicatesSaved;
}

export interface TagReport {
  night: NightLine;
  experiments: ExperimentView[];
  /** Every kept change after the baseline, in order: the lab notebook. */
  found: ExperimentView[];
  nearMisses: ExperimentView[];
  notes: { n: number; commit: string; notes: string }[];
  chartSvg: string;
  journalPath: string;
}

/** Better is positive: how much `value` improves on `before`. */
export function gainOver(before: number, value: number, direction: Direction): number {
  return direction === 'min' ? before - value : value - before;
}

/** The hours from the first experiment's start to the last one's end; null ends when no row has a start. */
export function nightSpan(rows: readonly ResultRow[]): { from: string | null; to: string | null; hours: number } {
  let first = Infinity;
  let last = -Infinity;
  for (const r of rows) {
    const start = Date.parse(r.startedAt);
    if (!Number.isFinite(start)) continue;
    first = Math.min(first, start);
    last = Math.max(last, start + r.seconds * 1000);
  }
  if (!Number.isFinite(first)) return { from: null, to: null, hours: 0 };
  return { from: new Date(first).toISOString(), to: new Date(last).toISOString(), hours: (last - first) / 3_600_000 };
}

function isBaseline(row: ResultRow, index: number): boolean {
  return experimentOf(row, index) === 0 || (index === 0 && row.base === undefined && row.description === 'baseline');
}

export function buildTagReport(input: TagInput): TagReport {
  const { rows, direction, tag } = input;
  const misses = new Map(nearMisses(rows).map((m) => [m.experiment, m.why]));
  let bestBefore: number | null = null;
  const experiments = rows.map((row, i): ExperimentView => {
    const n = experimentOf(row, i);
    const values = runValues(row);
    const baseline = isBaseline(row, i);
    const ref = baseline ? null : codeRef(row, tag);
    let gain: number | null = null;
    if (row.status === 'keep') {
      if (bestBefore !== null && !baseline) gain = gainOver(bestBefore, row.value, direction);
      bestBefore = row.value;
    }
    return {
      n,
      commit: row.commit,
      status: row.status,
      value: row.status === 'crash' ? null : values.length > 1 ? mean(values) : row.value,
      values,
      runs: runCount(row),
      sd: values.length > 1 ? stdDev(values) : null,
      description: row.description,
      verdict: row.verdict ?? null,
      crashReason: crashReason(row),
      notes: row.notes ?? null,
      files: row.files ?? [],
      startedAt: row.startedAt,
      seconds: row.seconds,
      costUsd: row.usage.costUsd,
      slot: row.slot ?? null,
      base: row.base ?? null,
      ref,
      diff: ref !== null ? (input.diffs.get(ref) ?? null) : null,
      logs: input.logs.get(n) ?? [],
      gain,
      nearMiss: misses.get(n) ?? null,
    };
  });

  const counts = { keep: 0, discard: 0, crash: 0 };
  for (const r of rows) counts[r.status]++;
  const standing = standingOf(rows);
  const kept = experiments.filter((e) => e.status === 'keep');
  const first = kept[0];
  const last = kept[kept.length - 1];
  const noise = pooledNoise(rows.map(runValues));
  const span = nightSpan(rows);
  const night: NightLine = {
    tag,
    metric: input.metric,
    direction,
    ...span,
    experiments: rows.length,
    counts,
    baseline: first && first.value !== null ? { value: first.value, runs: first.runs, commit: first.commit } : null,
    best: last && last.value !== null ? { value: last.value, runs: last.runs, commit: last.commit, description: last.description } : null,
    noise: noise ? { sigma: noise.sigma, df: noise.df } : null,
    improvementPercent: improvementPercent(standing, direction),
    gpuHours: rows.reduce((a, r) => a + r.seconds, 0) / 3600,
    costUsd: rows.reduce((a, r) => a + r.usage.costUsd, 0),
    duplicates: duplicatesSaved(input.refusals, rows),
  };
  return {
    night,
    experiments,
    found: kept.filter((e) => e.ref !== null),
    // Newest first, as the prompt lists them.
    nearMisses: [...experiments].reverse().filter((e) => e.nearMiss !== null),
    notes: experiments.flatMap((e) => (e.notes ? [{ n: e.n, commit: e.commit, notes: e.notes }] : [])),
    chartSvg: input.chartSvg,
    journalPath: input.journalPath,
  };
}
