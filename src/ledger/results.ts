// results.tsv: the untracked, append-only record of every experiment, shared by all tags.
// The first five columns match Karpathy's notebooks exactly; ours follow them.

import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { runCount, stdDev } from '../engine/noise.js';
import type { ResultRow, Status } from '../engine/types.js';

export const RESULTS_FILE = 'results.tsv';

export const EXTRA_COLUMNS = [
  'tag',
  'started_at',
  'seconds',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_usd',
  'base',
  'slot',
  'runs',
  'std',
  'values',
  'experiment',
  'verdict',
  'files',
  'code',
  'notes',
] as const;

export function headerFor(metricName: string): string[] {
  return ['commit', metricName, 'memory_gb', 'status', 'description', ...EXTRA_COLUMNS];
}

const STATUSES: ReadonlySet<string> = new Set<Status>(['keep', 'discard', 'crash']);

/** One line, no tabs: descriptions come from a model and must not break the TSV. */
export function sanitizeDescription(text: string): string {
  return text.replace(/[\t\r\n\v\f]+/g, ' ').replace(/\s{2,}/g, ' ').trim() || '(no description)';
}

/** The header line of a results file measuring `metricName`, without its newline. */
export function formatHeader(metricName: string): string {
  return stringify([headerFor(metricName)], { delimiter: '\t', record_delimiter: '\n' }).slice(0, -1);
}

/**
 * One row as results.tsv holds it, without its newline. `columns`: how many the file's header has,
 * so that a file begun before a column was added keeps rows as wide as its header.
 */
export function formatRow(row: ResultRow, columns?: number): string {
  const cells = toCells(row);
  return stringify([columns === undefined ? cells : cells.slice(0, columns)], { delimiter: '\t', record_delimiter: '\n' }).slice(0, -1);
}

function toCells(row: ResultRow): string[] {
  return [
    row.commit,
    row.value.toFixed(6),
    row.memoryGb.toFixed(1),
    row.status,
    sanitizeDescription(row.description),
    row.tag,
    row.startedAt,
    String(Math.round(row.seconds)),
    String(row.usage.inputTokens),
    String(row.usage.outputTokens),
    String(row.usage.cacheReadTokens),
    String(row.usage.cacheWriteTokens),
    row.usage.costUsd.toFixed(4),
    row.base ?? '',
    row.slot ?? '',
    String(runCount(row)),
    stdDev(row.values ?? []).toFixed(6),
    (row.values ?? []).map((v) => v.toFixed(6)).join(';'),
    row.experiment === undefined ? '' : String(row.experiment),
    row.verdict === undefined ? '' : oneCell(row.verdict),
    (row.files ?? []).map(oneCell).join(';'),
    row.code ?? '',
    row.notes === undefined ? '' : oneCell(row.notes),
  ];
}

/** Free text for one cell: one line, no tabs. */
function oneCell(text: string): string {
  return text.replace(/[\t\r\n\v\f]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

function toNumber(cell: string | undefined): number {
  const n = Number(cell);
  return Number.isFinite(n) ? n : 0;
}

function fromCells(cells: string[]): ResultRow | null {
  const [commit, value, memory, status, description, tag, startedAt, seconds, inTok, outTok, cacheRead, cacheWrite, cost, base, slot, runsCell, , values, experimentCell, verdict, files, code, notes] =
    cells;
  const experiment = experimentCell ? Number(experimentCell) : NaN;
  const parsed = (values ?? '').split(';').filter((v) => v !== '').map(Number);
  // Several runs' values, or a crash's measured runs before it (one is enough there: a kept or
  // discarded row's single value is its value column).
  const runValues = parsed.every(Number.isFinite) && (parsed.length > 1 || (status === 'crash' && parsed.length > 0)) ? parsed : [];
  const runs = toNumber(runsCell);
  if (!commit || !status || !STATUSES.has(status)) return null;
  const metricValue = Number(value);
  if (value === undefined || value === '' || Number.isNaN(metricValue)) return null;
  return {
    commit,
    value: metricValue,
    memoryGb: toNumber(memory),
    status: status as Status,
    description: description ?? '',
    tag: tag ?? '',
    startedAt: startedAt ?? '',
    seconds: toNumber(seconds),
    usage: {
      inputTokens: toNumber(inTok),
      outputTokens: toNumber(outTok),
      cacheReadTokens: toNumber(cacheRead),
      cacheWriteTokens: toNumber(cacheWrite),
      costUsd: toNumber(cost),
    },
    ...(base ? { base } : {}),
    ...(slot ? { slot } : {}),
    ...(runValues.length > 0 ? { values: runValues } : {}),
    ...(Number.isInteger(runs) && runs > Math.max(1, runValues.length) ? { runs } : {}),
    ...(Number.isInteger(experiment) && experiment >= 0 ? { experiment } : {}),
    ...(verdict ? { verdict } : {}),
    ...(files ? { files: files.split(';').filter((f) => f !== '') } : {}),
    ...(code ? { code } : {}),
    ...(notes ? { notes } : {}),
  };
}

export interface ResultsFile {
  metricName: string | null; // the header's second column; null when the file is absent or empty
  rows: ResultRow[];
}

/**
 * Read every complete row. A last line without its newline was torn by a crash mid-write and is
 * ignored, as are lines that do not parse (a hand edit, a foreign file): reading never throws on content.
 */
export function parseResults(text: string): ResultsFile {
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.trim() === '') return { metricName: null, rows: [] };
  // Rows never span lines (descriptions are sanitised), so each line is a record. Plain lines are
  // split directly; only lines with quotes need the CSV parser. 100k rows read 4x faster this way.
  const records: string[][] = [];
  for (const raw of complete.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    if (!line.includes('"')) {
      records.push(line.split('\t'));
      continue;
    }
    try {
      const parsed: string[][] = parse(line, { delimiter: '\t', relax_column_count: true, relax_quotes: true });
      if (parsed[0]) records.push(parsed[0]);
    } catch {
      // a malformed hand edit: skip the line, keep the rest
    }
  }
  const [header, ...body] = records;
  const metricName = header?.[0] === 'commit' ? (header[1] ?? null) : null;
  const rows: ResultRow[] = [];
  for (const cells of metricName === null ? records : body) {
    const row = fromCells(cells);
    if (row) rows.push(row);
  }
  return { metricName, rows };
}

export function readResultsFile(path: string): ResultsFile {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { metricName: null, rows: [] };
    throw err;
  }
  return parseResults(text);
}

/** The rows of one tag, oldest first. */
export function rowsOfTag(rows: ResultRow[], tag: string): ResultRow[] {
  return rows.filter((r) => r.tag === tag);
}

function firstLine(fd: number): string {
  const buf = Buffer.alloc(4096);
  const n = fs.readSync(fd, buf, 0, buf.length, 0);
  const text = buf.subarray(0, n).toString('utf8');
  const end = text.indexOf('\n');
  return end >= 0 ? text.slice(0, end) : text;
}

/** Length of the file up to and including its last newline: what remains once a torn tail is cut. */
function completeLength(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

export class ResultsWriteError extends Error {
  override name = 'ResultsWriteError';
}

/** What was cut off the end of results.tsv, and where its bytes were saved. */
export interface TornTail {
  bytes: number;
  savedTo: string;
}

/** `<ledger>.torn-<UTC time>`, with a counter when that name is taken: a saved tail is never overwritten. */
function tornPath(ledger: string, now: Date): string {
  const base = `${ledger}.torn-${now.toISOString().replace(/[:.]/g, '-')}`;
  let candidate = base;
  for (let i = 2; fs.existsSync(candidate); i++) candidate = `${base}-${i}`;
  return candidate;
}

/**
 * Cut a torn last row (no newline: a crash mid-write) off an open ledger, after saving its bytes
 * beside it, so that no byte of the ledger is ever dropped unseen. Null when the file ends whole.
 */
function cutTail(fd: number, ledger: string, now: Date): TornTail | null {
  const size = fs.fstatSync(fd).size;
  const complete = completeLength(fd, size);
  if (complete === size) return null;
  const tail = Buffer.alloc(size - complete);
  fs.readSync(fd, tail, 0, tail.length, complete);
  const savedTo = tornPath(ledger, now);
  fs.writeFileSync(savedTo, tail, { flag: 'wx' });
  fs.ftruncateSync(fd, complete);
  return { bytes: tail.length, savedTo };
}

/**
 * A results.tsv begun by an older version has fewer columns, and its rows are written as wide as its
 * header, so the newer columns (the experiment number, verdict, notes…) would be lost. Widen its
 * header in place: the new header line, then every other byte as it was, written beside the file
 * and renamed over it (a crash leaves either file whole). Returns the columns added, or null.
 */
export function widenHeader(ledger: string, metricName: string): string[] | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(ledger);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ResultsWriteError(`Could not read ${ledger}: ${(err as Error).message}.`);
  }
  const end = bytes.indexOf(0x0a);
  if (end < 0) return null;
  const header = bytes.subarray(0, end).toString('utf8').replace(/\r$/, '').split('\t');
  const wanted = headerFor(metricName);
  if (header[0] !== 'commit' || header[1] !== metricName || header.length >= wanted.length) return null;
  if (!header.every((h, i) => h === wanted[i])) return null; // not a header of ours: leave it alone
  const tmp = `${ledger}.widen-${process.pid}.tmp`;
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, Buffer.concat([Buffer.from(formatHeader(metricName), 'utf8'), bytes.subarray(end)]));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, ledger);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new ResultsWriteError(`Could not add the new columns to ${ledger}'s header: ${(err as Error).message}.`);
  }
  return wanted.slice(header.length);
}

/** Cut a torn last row off results.tsv, saving its bytes to `results.tsv.torn-<time>` first. */
export function cutTornTail(ledger: string, now = new Date()): TornTail | null {
  let fd: number;
  try {
    fd = fs.openSync(ledger, fs.constants.O_RDWR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ResultsWriteError(`Could not open ${ledger} to check its last row: ${(err as Error).message}.`);
  }
  try {
    return cutTail(fd, ledger, now);
  } catch (err) {
    throw new ResultsWriteError(`${ledger} ends in a torn row, which could not be saved and cut off: ${(err as Error).message}.`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Append one row whole or not at all: a torn tail left by an earlier crash is cut off first, the
 * row goes out in a single write, and the file is fsynced before we return (the row is the ledger's
 * proof that an experiment finished, so it must survive a power cut that follows).
 */
export function appendResult(path: string, metricName: string, row: ResultRow): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    const size = fs.fstatSync(fd).size;
    let columns: number | undefined;
    if (size > 0) {
      const header = firstLine(fd).split('\t');
      if (header[0] === 'commit') columns = header.length;
      if (header[0] === 'commit' && header[1] !== undefined && header[1] !== metricName) {
        throw new ResultsWriteError(
          `${path} records "${header[1]}" but this run measures "${metricName}". Use --metric ${header[1]}, or move ${path} aside to start a new file.`,
        );
      }
      cutTail(fd, path, new Date()); // the loop does this at start and says so; this is the backstop
    }
    const prefix = fs.fstatSync(fd).size === 0 ? `${formatHeader(metricName)}\n` : '';
    const line = `${formatRow(row, prefix ? undefined : columns)}\n`;
    const data = Buffer.from(prefix + line, 'utf8');
    const at = fs.fstatSync(fd).size;
    let written = 0;
    try {
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written, at + written);
      fs.fsyncSync(fd);
    } catch (err) {
      // Leave no partial row behind (e.g. ENOSPC halfway): the file returns to its previous length.
      try {
        fs.ftruncateSync(fd, at);
      } catch {
        /* the original error is the one worth reporting */
      }
      throw err;
    }
  } catch (err) {
    if (err instanceof ResultsWriteError) throw err;
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'ENOSPC' ? ' The disk is full: free some space and start again with the same command to resume.' : '';
    throw new ResultsWriteError(`Could not append to ${path}: ${e.message}.${hint}`);
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
