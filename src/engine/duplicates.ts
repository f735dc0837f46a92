// No code is trained twice in a tag: before a submission trains, its editable files are compared
// with every experiment already measured and every one in flight. Pure: a fingerprint of the
// files' bytes, and the rule for which earlier experiments count as measured.

import { createHash } from 'node:crypto';
import type { ResultRow } from './types.js';

/** Git's id of a file's content (`git hash-object`): the same bytes give the same id, here and in git's trees. */
export function gitBlobId(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/**
 * The fingerprint of a version of the editable files: each path with its blob id (null: absent),
 * in path order. Computed from git's trees for commits and from the bytes for a working tree,
 * so both agree.
 */
export function fingerprint(blobs: ReadonlyArray<readonly [path: string, blobId: string | null]>): string {
  const lines = [...blobs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, id]) => `${p}\t${id ?? '-'}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex').slice(0, 16);
}

/** The fingerprint of files read from disk (null: the file is absent). */
export function fingerprintOfFiles(files: ReadonlyMap<string, Buffer | null>): string {
  return fingerprint([...files].map(([p, data]) => [p, data === null ? null : gitBlobId(data)] as const));
}

/**
 * Crash reasons that say nothing about the code: the run was stopped, or the machine, the disk or
 * the cluster failed it. The same code may be trained again after one of these; after any other
 * crash (OOM, timeout, nan, an exit code, no metric, a judge's refusal) it would fail the same way.
 */
const NOT_THE_CODE: readonly RegExp[] = [
  /^interrupted$/,
  /^no space left on device$/,
  /^node failure/,
  /^node failed to boot/,
  /^preempted$/,
  /^cancelled outside autoresearch/,
  /^sbatch refused the job/,
  /^SLURM lost track of job/,
  /^job output not on a shared filesystem$/,
];

/** The crash reason of a crash row: its verdict, or (rows written before verdicts were recorded) the last parenthesis of its description. */
export function crashReason(row: ResultRow): string | null {
  if (row.status !== 'crash') return null;
  if (row.verdict) return row.verdict;
  const m = /\(([^()]*)\)\s*$/.exec(row.description);
  return m ? m[1]! : null;
}

/** Whether a row's code counts as measured: kept, discarded, or crashed through its own fault. */
export function countsAsMeasured(row: ResultRow): boolean {
  if (row.status !== 'crash') return true;
  const reason = crashReason(row);
  return reason === null || !NOT_THE_CODE.some((re) => re.test(reason));
}

export type Duplicate =
  | { kind: 'measured'; experiment: number; description: string; row: ResultRow }
  | { kind: 'in-flight'; experiment: number; description: string };

/** The experiment number of a tag's row: recorded, or (older rows) its place among the tag's rows. */
export function experimentOf(row: ResultRow, index: number): number {
  return row.experiment ?? index;
}

/**
 * The earlier experiment whose code is exactly `code`, if any: one measured in this tag (the latest
 * such row), else one in flight. `rows` are the tag's rows, oldest first.
 */
export function findDuplicate(code: string, rows: readonly ResultRow[], inFlight: ReadonlyArray<{ experiment: number; description: string; code?: string }> = []): Duplicate | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!;
    if (row.code === code && countsAsMeasured(row)) return { kind: 'measured', experiment: experimentOf(row, i), description: row.description, row };
  }
  const other = inFlight.find((f) => f.code === code);
  return other ? { kind: 'in-flight', experiment: other.experiment, description: other.description } : null;
}
