// The journal: every experiment of a tag with its runs, verdict, notes, files and where its code
// is, as one Markdown file for a person and for the model (which reads a copy in its worktree
// with its own tools). Rewritten whole from results.tsv's rows after every row, so it can never
// disagree with the ledger. The prompt lists each experiment in one line; this holds the rest.

import fs from 'node:fs';
import path from 'node:path';
import { experimentOf } from '../engine/duplicates.js';
import { mean } from '../engine/noise.js';
import type { Direction, ResultRow } from '../engine/types.js';
import { openForWrite, realDirectory } from '../proc/untrusted-file.js';
import { STATE_DIR, tagDir } from './state.js';

export const JOURNAL_FILE = 'journal.md';

/** The journal of a tag in the main checkout. */
export const journalPath = (repoDir: string, tag: string): string => path.join(tagDir(repoDir, tag), JOURNAL_FILE);

/** Where an experiment's worktree holds its copy, relative to the worktree: inside our ignored directory. */
export const WORKTREE_JOURNAL = `${STATE_DIR}/${JOURNAL_FILE}`;

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(6) : String(v));

/** Where a row's code can be read: the kept commit itself, or the ref a discarded or crashed one is kept under. */
export function codeRef(row: ResultRow, tag: string): string {
  return row.status === 'keep' ? row.commit : `refs/autoresearch/${tag}/discarded/${row.commit}`;
}

function entry(row: ResultRow, index: number, tag: string, metric: string): string {
  const n = experimentOf(row, index);
  const runs = row.values ?? [];
  const value =
    row.status === 'crash'
      ? runs.length > 0
        ? `crashed after ${runs.length} measured run${runs.length === 1 ? '' : 's'}: ${runs.map(fmt).join(', ')}`
        : 'crashed'
      : runs.length > 1
        ? `${fmt(mean(runs))} (mean of ${runs.length} runs: ${runs.map(fmt).join(', ')})`
        : fmt(row.value);
  const lines = [
    `### #${n} ${row.status} · ${row.commit} · ${metric} ${value}`,
    `- ${row.description}`,
    ...(row.verdict ? [`- verdict: ${row.verdict}`] : []),
    ...(row.base ? [`- built on: ${row.base}`] : []),
    ...(row.files && row.files.length > 0 ? [`- files: ${row.files.join(', ')}`] : []),
    `- code: \`git show ${codeRef(row, tag)}\``,
    ...(row.notes ? [`- notes: ${row.notes}`] : []),
    `- started ${row.startedAt || '?'}, ${Math.round(row.seconds)} s${row.slot !== undefined ? `, GPU ${row.slot}` : ''}`,
  ];
  return lines.join('\n');
}

/** The whole journal of a tag's rows (oldest first). */
export function renderJournal(rows: readonly ResultRow[], tag: string, metric: string, direction: Direction): string {
  const notes = rows.flatMap((r, i) => (r.notes ? [`- #${experimentOf(r, i)}: ${r.notes}`] : []));
  const counts = { keep: 0, discard: 0, crash: 0 };
  for (const r of rows) counts[r.status]++;
  return [
    `# Journal of tag "${tag}"`,
    '',
    `${metric}, ${direction === 'min' ? 'lower' : 'higher'} is better. ${rows.length} experiments: ${counts.keep} kept, ${counts.discard} discarded, ${counts.crash} crashed.`,
    `Written by autoresearch after every experiment, from results.tsv. Kept commits are on the branch autoresearch/${tag};`,
    `a discarded or crashed one stays under refs/autoresearch/${tag}/discarded/<commit>: \`git show <ref>\` prints its diff.`,
    '',
    '## Notes',
    '',
    ...(notes.length > 0 ? notes : ['(none yet)']),
    '',
    '## Experiments, oldest first',
    '',
    rows.map((r, i) => entry(r, i, tag, metric)).join('\n\n'),
    '',
  ].join('\n');
}

/** Write `text` at `file` whole, never through a link or anything else standing at its name (the worktree is the model's to write). */
export function writeJournalFile(file: string, text: string): void {
  realDirectory(path.dirname(file));
  const fd = openForWrite(file);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/** Rewrite the tag's journal in the main checkout. */
export function writeJournal(repoDir: string, tag: string, text: string): void {
  writeJournalFile(journalPath(repoDir, tag), text);
}
