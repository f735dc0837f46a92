// `autoresearch results`: what happened overnight, from results.tsv alone: a table of the rows,
// then baseline, best, improvement, counts, time and cost; or the same as JSON; or a plot.

import path from 'node:path';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { simpleGit } from 'simple-git';
import { improvementPercent, standingOf } from '../engine/decide.js';
import { pooledNoise, runCount, runValues } from '../engine/noise.js';
import type { Direction, ResultRow, Standing, Status, Usage } from '../engine/types.js';
import { addUsage, ZERO_USAGE } from '../engine/types.js';
import { readResultsFile, RESULTS_FILE } from '../ledger/results.js';
import { duplicatesPath, readTagConfig } from '../ledger/state.js';
import { experimentOf } from '../engine/duplicates.js';
import { directionWords, fit, formatCost, formatDuration, formatTimestamp, formatTokens, formatValue, oneLine, truncate } from '../ui/format.js';

export interface CommandIO {
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const RESULTS_HELP = `Usage: autoresearch results [--tag T] [--json] [--plot FILE] [--html FILE] [--direction min|max]

Summarise results.tsv in the current directory: every experiment of one tag (status, metric,
memory, description), then the baseline, the best (value, commit, description), the improvement,
the counts of kept / discarded / crashed experiments, the submissions refused as duplicates (and
the training they saved), the notes the model left, the time and the API cost. Each experiment's
runs, verdict, files and diff ref are in .autoresearch/<tag>/journal.md.

Options:
  --tag <tag>            which line of research (default: the tag of the current branch
                         autoresearch/<tag>, else the only tag in the file)
  --json                 print a JSON summary: { tag, metric, direction, counts, baseline, best,
                         noise, notes, duplicates, rows } (each row with runs and values: every
                         run's value; its experiment number, verdict, files, code and notes)
  --plot <file.svg|png>  also draw every experiment as a dot (kept ones green and labelled)
                         and the best-so-far as a step line
  --html <file.html>     also write the morning report: one self-contained page (no network)
                         with the night in one line, the chart, every kept change with its
                         diff, the notes and near misses, and every experiment (runs, verdict,
                         log tail, diff), sortable and filterable by status. Without --tag and
                         with several tags in results.tsv: every tag, side by side
  --direction min|max    whether lower or higher is better (default: what the run recorded in
                         .autoresearch/<tag>/config.json, else min)
  -h, --help             show this help
`;

export interface ResultsSummary {
  tag: string;
  metric: string;
  direction: Direction;
  counts: Record<Status, number>;
  baseline: Standing['baseline'];
  best: Standing['best'];
  /** The noise σ pooled from every experiment run more than once; null when none was. */
  noise: { sigma: number; df: number; runs?: number; from: string } | null;
  /** What the model learned, oldest first (submit_experiment's notes). */
  notes: { experiment: number; commit: string; notes: string }[];
  /** Submissions refused because their code was already measured or in flight: never trained. */
  duplicates: DuplicatesSaved;
  rows: ResultRow[];
}

export interface DuplicatesSaved {
  refused: number;
  /** Training runs not spent: one per refusal, as many as the original got when it was measured. */
  runsSaved: number;
  /** GPU time not spent, at the original's time per run (its row's seconds over its runs: drafting included, so an upper bound). */
  secondsSaved: number;
}

/** One refusal as the loop logs it in .autoresearch/<tag>/duplicates.jsonl. */
export interface DuplicateRecord {
  experiment: number;
  of: number;
}

/** The refusals of a tag, from its duplicates.jsonl (a line that does not parse is skipped). */
export function readDuplicates(cwd: string, tag: string): DuplicateRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(duplicatesPath(cwd, tag), 'utf8');
  } catch {
    return [];
  }
  const out: DuplicateRecord[] = [];
  for (const line of text.split('\n')) {
    try {
      const r = JSON.parse(line) as Partial<DuplicateRecord>;
      if (typeof r.experiment === 'number' && typeof r.of === 'number') out.push({ experiment: r.experiment, of: r.of });
    } catch {
      // a torn last line
    }
  }
  return out;
}

/** What the refusals saved, each at the cost of the experiment it repeated. */
export function duplicatesSaved(refusals: readonly DuplicateRecord[], rows: readonly ResultRow[]): DuplicatesSaved {
  let runsSaved = 0;
  let secondsSaved = 0;
  for (const r of refusals) {
    const i = rows.findIndex((row, index) => experimentOf(row, index) === r.of);
    const original = i >= 0 ? rows[i]! : null;
    const runs = original ? runCount(original) : 1;
    runsSaved += runs;
    if (original) secondsSaved += original.seconds;
  }
  return { refused: refusals.length, runsSaved, secondsSaved };
}

export function summarize(tag: string, metric: string, direction: Direction, rows: ResultRow[], refusals: readonly DuplicateRecord[] = []): ResultsSummary {
  const counts = { keep: 0, discard: 0, crash: 0 };
  for (const r of rows) counts[r.status]++;
  const standing = standingOf(rows);
  const repeated = rows.filter((r) => runValues(r).length > 1);
  const pooled = pooledNoise(repeated.map(runValues));
  const noise = pooled && {
    ...pooled,
    from: `pooled over ${repeated.length} experiment${repeated.length === 1 ? '' : 's'} run more than once (${repeated.reduce((a, r) => a + runValues(r).length, 0)} runs)`,
  };
  const notes = rows.flatMap((r, i) => (r.notes ? [{ experiment: experimentOf(r, i), commit: r.commit, notes: r.notes }] : []));
  return { tag, metric, direction, counts, baseline: standing.baseline, best: standing.best, noise, notes, duplicates: duplicatesSaved(refusals, rows), rows };
}

class UsageError extends Error {}

/** What plot.ts can draw; checked here too, so a bad name is refused before vega is even loaded. */
const PLOT_EXTENSIONS: readonly string[] = ['.svg', '.png'];

async function branchTag(cwd: string): Promise<string | null> {
  try {
    const branch = (await simpleGit(cwd).revparse(['--abbrev-ref', 'HEAD'])).trim();
    return branch.startsWith('autoresearch/') ? branch.slice('autoresearch/'.length) : null;
  } catch {
    return null; // not a git repository, or no commit yet: fall back to the file's tags
  }
}

function tagsOf(rows: ResultRow[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) seen.add(r.tag);
  return [...seen];
}

async function chooseTag(requested: string | undefined, tags: string[], cwd: string): Promise<string> {
  const list = tags.map((t) => (t === '' ? '(empty)' : t)).join(', ');
  if (requested !== undefined) {
    if (tags.includes(requested)) return requested;
    throw new UsageError(`results.tsv has no rows for tag "${requested}". Tags in the file: ${list}.`);
  }
  const fromBranch = await branchTag(cwd);
  if (fromBranch !== null && tags.includes(fromBranch)) return fromBranch;
  if (tags.length === 1) return tags[0]!;
  throw new UsageError(
    `results.tsv holds several tags: ${list}.` +
      (fromBranch !== null ? ` The current branch autoresearch/${fromBranch} has no rows.` : '') +
      ` Pick one with --tag, e.g. autoresearch results --tag ${tags[tags.length - 1]}`,
  );
}

function color(enabled: boolean, code: string, text: string): string {
  return enabled ? `\u001b[${code}m${text}\u001b[0m` : text;
}

const STATUS_CODE: Record<Status, string> = { keep: '32', discard: '90', crash: '31' };

function sumUsage(rows: readonly ResultRow[]): Usage {
  let u = ZERO_USAGE;
  for (const r of rows) u = addUsage(u, r.usage);
  return u;
}

/** The human-readable report. `columns` bounds the table's width on a terminal; a file gets every character. */
export function formatReport(s: ResultsSummary, opts: { columns: number | null; colors: boolean }): string {
  const { rows, metric } = s;
  const out: string[] = [];
  out.push(`results.tsv · tag ${s.tag} · ${metric} (${directionWords(s.direction)}) · ${rows.length} rows`);
  out.push('');
  let valueWidth = Math.max(metric.length, 8);
  for (const r of rows) valueWidth = Math.max(valueWidth, formatValue(r.value).length);
  const numWidth = Math.max(3, String(rows.length - 1).length);
  const head = `${fit('#', numWidth, 'right')}  ${fit('commit', 7)}  ${fit(metric, valueWidth, 'right')}  ${fit('mem GB', 6, 'right')}  ${fit('status', 7)}  description`;
  const fixed = numWidth + 2 + 7 + 2 + valueWidth + 2 + 6 + 2 + 7 + 2;
  const descWidth = opts.columns !== null ? Math.max(10, opts.columns - fixed) : null;
  out.push(color(opts.colors, '2', head));
  const bestCommit = s.best?.commit;
  // The hot loop on a 100k-row file: plain string concatenation, no per-row regexes
  // (the ledger already keeps descriptions on one line).
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const crash = r.status === 'crash';
    const desc = descWidth !== null && r.description.length > descWidth ? truncate(r.description, descWidth) : r.description;
    const line =
      String(experimentOf(r, i)).padStart(numWidth) + '  ' + r.commit.padEnd(7) + '  ' + (crash ? '—' : formatValue(r.value)).padStart(valueWidth) + '  ' +
      (crash ? '—' : r.memoryGb.toFixed(1)).padStart(6) + '  ' + r.status.padEnd(7) + '  ' + desc;
    out.push(opts.colors ? color(true, r.commit === bestCommit && r.status === 'keep' ? `1;${STATUS_CODE.keep}` : STATUS_CODE[r.status], line) : line);
  }
  out.push('');
  const label = (l: string) => l.padEnd(13);
  if (s.baseline) out.push(`${label('baseline')}${formatValue(s.baseline.value)}  ${s.baseline.commit}`);
  else out.push(`${label('baseline')}none yet (no run has been kept)`);
  if (s.best) out.push(`${label('best')}${color(opts.colors, '1;32', formatValue(s.best.value))}  ${s.best.commit}  "${oneLine(s.best.description)}"`);
  const pct = improvementPercent({ baseline: s.baseline, best: s.best }, s.direction);
  if (pct !== null && s.baseline && s.best) {
    const delta = s.best.value - s.baseline.value;
    out.push(`${label('improvement')}${Math.abs(pct).toFixed(2)}% ${pct >= 0 ? 'better' : 'worse'} than baseline (${delta >= 0 ? '+' : ''}${delta.toFixed(6)})`);
  }
  out.push(`${label('experiments')}${rows.length}: ${s.counts.keep} keep, ${s.counts.discard} discard, ${s.counts.crash} crash`);
  const runs = rows.reduce((a, r) => a + runCount(r), 0);
  if (runs > rows.length) out.push(`${label('runs')}${runs} (over one per experiment: the baseline's repeats, and the confirmation runs, with new seeds, of every first run better than the best)`);
  if (s.noise) out.push(`${label('noise')}σ ${formatValue(s.noise.sigma)} per run, ${s.noise.df} degrees of freedom, ${s.noise.from}`);
  if (s.duplicates.refused > 0) {
    const d = s.duplicates;
    out.push(
      `${label('duplicates')}${d.refused} submission${d.refused === 1 ? '' : 's'} refused, code already measured or in flight: ` +
        `${d.runsSaved} training run${d.runsSaved === 1 ? '' : 's'} not spent (up to ${formatDuration(d.secondsSaved)})`,
    );
  }
  if (s.notes.length > 0) {
    out.push(`${label('notes')}what the model learned, oldest first:`);
    const width = opts.columns !== null ? Math.max(20, opts.columns - 13 - 8) : null;
    for (const n of s.notes) out.push(`${' '.repeat(13)}#${String(n.experiment).padEnd(5)} ${width !== null ? truncate(n.notes, width) : n.notes}`);
  }
  const seconds = rows.reduce((a, r) => a + r.seconds, 0);
  const first = rows.length > 0 ? Date.parse(rows[0]!.startedAt) : NaN;
  let span = '';
  if (Number.isFinite(first)) {
    const lastRow = rows[rows.length - 1]!;
    const lastStart = Date.parse(lastRow.startedAt);
    const end = Number.isFinite(lastStart) ? lastStart + lastRow.seconds * 1000 : first;
    span = ` (${formatTimestamp(first)} → ${formatTimestamp(end)})`;
  }
  out.push(`${label('time')}${formatDuration(seconds)} of experiments${span}`);
  const u = sumUsage(rows);
  out.push(
    `${label('cost')}${formatCost(u.costUsd)} · tokens in ${formatTokens(u.inputTokens)}, out ${formatTokens(u.outputTokens)}, ` +
      `cache read ${formatTokens(u.cacheReadTokens)}, write ${formatTokens(u.cacheWriteTokens)}`,
  );
  return out.join('\n') + '\n';
}

/**
 * The summary as JSON, rows one per line: the same value as JSON.stringify(summary, null, 2) gives,
 * a quarter of the bytes on a long night, and still easy to read or grep.
 */
export function toJson(s: ResultsSummary): string {
  const { rows, ...head } = s;
  const top = JSON.stringify({ ...head, rows: [] }, null, 2);
  if (rows.length === 0) return top + '\n';
  const body = rows.map((r) => `    ${JSON.stringify({ ...r, runs: runCount(r), values: runValues(r) })}`).join(',\n');
  // A function replacement: a description may contain `$&`, which a replacement string would expand.
  return top.replace(/"rows": \[\]\n\}$/, () => `"rows": [\n${body}\n  ]\n}`) + '\n';
}

function isTty(stream: NodeJS.WritableStream): stream is NodeJS.WriteStream {
  return (stream as NodeJS.WriteStream).isTTY === true;
}

export async function resultsCommand(argv: string[], io: CommandIO): Promise<number> {
  let values: { tag?: string; json?: boolean; plot?: string; html?: string; direction?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        tag: { type: 'string' },
        json: { type: 'boolean' },
        plot: { type: 'string' },
        html: { type: 'string' },
        direction: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr.write(`autoresearch results: ${(err as Error).message}\n\n${RESULTS_HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(RESULTS_HELP);
    return 0;
  }
  if (values.direction !== undefined && values.direction !== 'min' && values.direction !== 'max') {
    io.stderr.write(`autoresearch results: --direction must be min or max, not "${values.direction}"\n`);
    return 2;
  }

  // Before the summary: a plot it cannot draw must not come after a screenful of output.
  if (values.plot !== undefined && !PLOT_EXTENSIONS.includes(path.extname(values.plot).toLowerCase())) {
    io.stderr.write(`autoresearch results: --plot ${values.plot}: the file name must end in .svg or .png\n`);
    return 2;
  }
  if (values.html !== undefined && !/\.html?$/i.test(values.html)) {
    io.stderr.write(`autoresearch results: --html ${values.html}: the file name must end in .html\n`);
    return 2;
  }

  const file = path.join(io.cwd, RESULTS_FILE);
  if (!fs.existsSync(file)) {
    io.stderr.write(
      `autoresearch results: no ${RESULTS_FILE} in ${io.cwd}. Run this in the research repository, after at least one experiment (autoresearch --tag <tag>).\n`,
    );
    return 1;
  }
  if (!fs.statSync(file).isFile()) {
    io.stderr.write(`autoresearch results: ${file} is not a file. The loop writes its results there: move it aside (mv ${RESULTS_FILE} ${RESULTS_FILE}.old).\n`);
    return 2;
  }
  const { metricName, rows: allRows } = readResultsFile(file);
  const tags = tagsOf(allRows);
  if (tags.length === 0) {
    io.stderr.write(`autoresearch results: ${file} has no complete rows yet.\n`);
    return 1;
  }
  let tag: string;
  try {
    tag = await chooseTag(values.tag, tags, io.cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // The report takes every tag when none is named; the summary and the plot need one.
    if (values.html !== undefined && values.tag === undefined && values.plot === undefined && !values.json) return writeHtml(values.html, tags, values.direction, metricName, allRows, io);
    io.stderr.write(`autoresearch results: ${err.message}\n`);
    return 2;
  }
  const config = readTagConfig(io.cwd, tag);
  const direction: Direction = (values.direction as Direction | undefined) ?? config?.direction ?? 'min';
  const metric = metricName ?? config?.metric ?? 'val_bpb';
  const rows = allRows.filter((r) => r.tag === tag);
  const summary = summarize(tag, metric, direction, rows, readDuplicates(io.cwd, tag));

  if (values.json) {
    io.stdout.write(toJson(summary));
  } else {
    const tty = isTty(io.stdout);
    const colors = tty && !process.env.NO_COLOR;
    io.stdout.write(formatReport(summary, { columns: tty ? (io.stdout as NodeJS.WriteStream).columns ?? 80 : null, colors }));
  }

  if (values.plot !== undefined) {
    try {
      const written = await (await import('./plot.js')).writePlot(path.resolve(io.cwd, values.plot), { tag, metric, direction, rows });
      // Keep --json output parseable: the note goes to stderr there.
      (values.json ? io.stderr : io.stdout).write(`plot written to ${written}\n`);
    } catch (err) {
      io.stderr.write(`autoresearch results: could not draw ${values.plot}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  if (values.html !== undefined) return writeHtml(values.html, values.tag !== undefined ? [tag] : tags, values.direction, metricName, allRows, io, values.json);
  return 0;
}

/** Write the report of `tags` (each with its own recorded direction and metric) and say where it is. */
async function writeHtml(file: string, tags: string[], direction: string | undefined, metricName: string | null, allRows: ResultRow[], io: CommandIO, json = false): Promise<number> {
  const inputs = tags.map((t) => {
    const config = readTagConfig(io.cwd, t);
    return { tag: t, metric: metricName ?? config?.metric ?? 'val_bpb', direction: (direction as Direction | undefined) ?? config?.direction ?? 'min', rows: allRows.filter((r) => r.tag === t) };
  });
  try {
    const written = await (await import('./report.js')).writeReport(file, io.cwd, inputs);
    (json ? io.stderr : io.stdout).write(`report written to ${written.path}\n`);
    return 0;
  } catch (err) {
    io.stderr.write(`autoresearch results: could not write ${file}: ${(err as Error).message}\n`);
    return 1;
  }
}

