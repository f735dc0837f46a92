// What the prompt shows of the past: every experiment of the tag, one line each, newest last, and
// the notes the model left. Pure functions of the tag's rows. The message must stay cheap as the
// night grows, so:
// - each experiment adds one bounded line, and nothing else in it grows with the night;
// - past FULL_ROWS_MIN rows, the oldest are folded in groups of FOLD_STEP (counts, and every kept
//   one still named), and the message says so and where the full journal is;
// - lines are cut into blocks of CHUNK rows aligned on row numbers, so every block but the newest
//   reads the same in every later experiment, and a prompt cache can hold them.

import { mean } from './noise.js';
import { crashReason, experimentOf } from './duplicates.js';
import type { Direction, ResultRow } from './types.js';

/** At least this many of the newest experiments are always listed line by line. */
export const FULL_ROWS_MIN = 300;
/** Older ones are folded this many at a time, so that a fold changes the message rarely. */
export const FOLD_STEP = 100;
/** History lines per cacheable block. */
export const CHUNK = 50;
/** Characters of a description on its history line. */
export const LINE_DESCRIPTION_CHARS = 110;
/** Notes shown (the newest), and characters of each. */
export const NOTES_SHOWN = 20;
export const NOTE_CHARS = 300;

export function clipText(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`;
}

function fmt(value: number): string {
  return Number.isFinite(value) ? value.toFixed(6) : String(value);
}

/** A few words on why a row ended as it did: "kept, better by 0.004", "within noise", "OOM". */
export function shortVerdict(row: ResultRow, index: number): string {
  if (row.status === 'crash') return clipText(crashReason(row) ?? 'crashed', 40);
  const verdict = row.verdict ?? '';
  if (row.status === 'keep') {
    if (experimentOf(row, index) === 0 || (verdict === '' && row.description === 'baseline')) return 'baseline';
    const by = /^better by [^,;]+/.exec(verdict);
    return by ? `kept, ${by[0]}` : 'kept';
  }
  if (verdict.startsWith('within noise')) return 'within noise';
  if (verdict === 'not better') return 'not better';
  if (/does not apply/.test(verdict) || /does not apply/.test(row.description)) return 'beat an older best, did not apply on the new one';
  return verdict ? clipText(verdict, 40) : 'not better';
}

/** A row's value as the prompt shows it: the mean, with how many runs it is the mean of. */
export function valueText(row: ResultRow): string {
  if (row.status === 'crash') return '-';
  const runs = row.values?.length ?? 1;
  return runs > 1 ? `${fmt(mean(row.values!))} (mean of ${runs})` : fmt(row.value);
}

/** The description without the verdict the row's description repeats at its end (the line shows it already). */
function ownDescription(row: ResultRow): string {
  const suffix = row.verdict ? ` (${row.verdict})` : '';
  return suffix && row.description.endsWith(suffix) ? row.description.slice(0, -suffix.length) : row.description;
}

/** One experiment, one line: number, commit, status, value, verdict, description. */
export function historyLine(row: ResultRow, index: number): string {
  return `#${experimentOf(row, index)} ${row.commit} ${row.status} ${valueText(row)} ${shortVerdict(row, index)} | ${clipText(ownDescription(row), LINE_DESCRIPTION_CHARS)}`;
}

/** How many of the oldest rows are folded: none up to FULL_ROWS_MIN + FOLD_STEP rows, then whole steps, always leaving at least FULL_ROWS_MIN. */
export function foldedCount(rows: number): number {
  if (rows < FULL_ROWS_MIN + FOLD_STEP) return 0;
  return Math.floor((rows - FULL_ROWS_MIN) / FOLD_STEP) * FOLD_STEP;
}

function better(a: number, b: number, direction: Direction): boolean {
  return direction === 'min' ? a < b : a > b;
}

/** One folded group: its counts and best, and every kept experiment in it by name. */
export function foldGroup(rows: readonly ResultRow[], firstIndex: number, direction: Direction): string {
  const count = { keep: 0, discard: 0, crash: 0 };
  let best: { row: ResultRow; index: number } | null = null;
  rows.forEach((row, i) => {
    count[row.status]++;
    if (row.status !== 'crash' && Number.isFinite(row.value) && (best === null || better(row.value, best.row.value, direction))) best = { row, index: firstIndex + i };
  });
  const first = experimentOf(rows[0]!, firstIndex);
  const last = experimentOf(rows[rows.length - 1]!, firstIndex + rows.length - 1);
  const b = best as { row: ResultRow; index: number } | null;
  const bestText = b ? `; best among them ${fmt(b.row.value)} (#${experimentOf(b.row, b.index)})` : '';
  const kept = rows.flatMap((row, i) => (row.status === 'keep' ? [`  ${historyLine(row, firstIndex + i)}`] : []));
  return [`#${first}–#${last}, folded: ${rows.length} experiments, ${count.keep} kept, ${count.discard} discarded, ${count.crash} crashed${bestText}.${kept.length ? ' Kept:' : ''}`, ...kept].join('\n');
}

export interface HistoryText {
  /** Folded groups and the full blocks of CHUNK lines: the same text in every later experiment until the next fold. */
  stable: string[];
  /** The newest lines (fewer than CHUNK) and the count. */
  growing: string;
  folded: number;
}

/** Every experiment of the tag, oldest first, split into what later experiments will see unchanged and what grows. */
export function historyText(rows: readonly ResultRow[], direction: Direction, journal: string): HistoryText {
  const folded = foldedCount(rows.length);
  const stable: string[] = [];
  for (let start = 0; start < folded; start += FOLD_STEP) stable.push(foldGroup(rows.slice(start, start + FOLD_STEP), start, direction));
  const fullEnd = Math.floor(rows.length / CHUNK) * CHUNK;
  for (let start = folded; start < fullEnd; start += CHUNK) stable.push(rows.slice(start, start + CHUNK).map((r, i) => historyLine(r, start + i)).join('\n'));
  const newest = rows.slice(fullEnd).map((r, i) => historyLine(r, fullEnd + i));
  const count =
    rows.length === 0
      ? 'No experiments yet.'
      : folded > 0
        ? `(${rows.length} experiments: the oldest ${folded} folded into groups above, the other ${rows.length - folded} listed one per line. Every one, with its runs, notes, files and diff, is in ${journal}.)`
        : `(${rows.length} experiments, all listed.)`;
  return { stable, growing: [...newest, count].join('\n'), folded };
}

/** The notes the model left, newest last: the last NOTES_SHOWN, each clipped, and how many older ones are not shown. Null when there are none. */
export function notesText(rows: readonly ResultRow[], journal: string): string | null {
  const notes = rows.flatMap((row, i) => (row.notes ? [`- #${experimentOf(row, i)}: ${clipText(row.notes, NOTE_CHARS)}`] : []));
  if (notes.length === 0) return null;
  const shown = notes.slice(-NOTES_SHOWN);
  const older = notes.length - shown.length;
  return [
    'Notes left by earlier experiments (what was learned; newest last):',
    ...(older > 0 ? [`(${older} older notes not shown here: they are in ${journal}.)`] : []),
    ...shown,
  ].join('\n');
}
