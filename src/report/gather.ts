// What the report reads beside results.tsv: each experiment's diff from git (kept commits on the
// branch, the others under refs/autoresearch/<tag>/discarded/) and the tail of its kept run logs.
// Git is asked a handful of times per tag, not once per experiment: a night of 500 experiments
// must not take minutes to report.

import fs from 'node:fs';
import path from 'node:path';
import { runGit } from '../git/repo.js';
import type { ResultRow } from '../engine/types.js';
import { codeRef } from '../ledger/journal.js';
import { logsDir } from '../ledger/state.js';
import type { LogTail } from './model.js';

/**
 * Lines of a run log the page shows: of the run that decided the row (its summary block or its
 * error), and of each earlier run of the same code (whose value the row lists already). Logs are
 * most of a long night's page: these keep 500 experiments near 3 MB (docs/report.md).
 */
export const LOG_TAIL_LINES = 20;
export const EARLIER_RUN_TAIL_LINES = 6;
/** The bytes read from a log's end to find its last lines. */
const LOG_TAIL_BYTES = 16 * 1024;
/** A diff longer than this is cut (the page points to `git show`); a rewrite of train.py is ~50 KB. */
const DIFF_MAX_BYTES = 256 * 1024;
/** Commits per `git show`, so the argument list stays short. */
const SHOW_BATCH = 100;

/** Full ids of the commits on `branch`, or none if it does not exist. */
async function branchCommits(cwd: string, branch: string): Promise<string[]> {
  try {
    return (await runGit(cwd, ['log', '--format=%H', branch, '--'])).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The discarded refs of a tag: ref name → commit id; none outside a git repository. */
async function discardedRefs(cwd: string, tag: string): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  let out: string;
  try {
    out = await runGit(cwd, ['for-each-ref', '--format=%(objectname) %(refname)', `refs/autoresearch/${tag}/discarded/`]);
  } catch {
    return refs; // results.tsv copied out of its repository: the page says each diff is missing
  }
  for (const line of out.split('\n')) {
    const [id, name] = line.split(' ');
    if (id && name) refs.set(name, id);
  }
  return refs;
}

/** Split the output of `git show --format=%x00%H A B …` into commit id → its diff. */
export function splitShow(output: string): Map<string, string> {
  const diffs = new Map<string, string>();
  for (const part of output.split('\0')) {
    const nl = part.indexOf('\n');
    if (nl < 0) continue;
    const id = part.slice(0, nl);
    if (!/^[0-9a-f]{40,64}$/.test(id)) continue;
    const diff = part.slice(nl + 1).replace(/^\n/, '');
    diffs.set(id, diff.length > DIFF_MAX_BYTES ? `${diff.slice(0, diff.lastIndexOf('\n', DIFF_MAX_BYTES))}\n` : diff);
  }
  return diffs;
}

/** Each row's diff, keyed by its codeRef (journal.ts); rows whose code git no longer has are left out. */
export async function readDiffs(cwd: string, tag: string, rows: readonly ResultRow[]): Promise<Map<string, string>> {
  const [kept, discarded] = await Promise.all([branchCommits(cwd, `refs/heads/autoresearch/${tag}`), discardedRefs(cwd, tag)]);
  const wanted = new Map<string, string>(); // codeRef → commit id
  for (const row of rows) {
    const ref = codeRef(row, tag);
    if (!/^[0-9a-f]{7,}$/.test(row.commit)) continue;
    const id = row.status === 'keep' ? kept.find((c) => c.startsWith(row.commit)) : discarded.get(ref);
    if (id) wanted.set(ref, id);
  }
  const ids = [...new Set(wanted.values())];
  const byId = new Map<string, string>();
  for (let i = 0; i < ids.length; i += SHOW_BATCH) {
    const out = await runGit(cwd, ['show', '--no-color', '--no-ext-diff', '--no-textconv', '--format=%x00%H', ...ids.slice(i, i + SHOW_BATCH), '--']);
    for (const [id, diff] of splitShow(out)) byId.set(id, diff);
  }
  const diffs = new Map<string, string>();
  for (const [ref, id] of wanted) {
    const diff = byId.get(id);
    if (diff !== undefined) diffs.set(ref, diff);
  }
  return diffs;
}

/** The last `lines` lines of a file, read from its end only (a kept log can be 5 MB). */
export function tailOf(file: string, lines = LOG_TAIL_LINES): { lines: string[]; omitted: boolean } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(length);
    fs.readSync(fd, buf, 0, length, size - length);
    const all = buf.toString('utf8').replace(/\r/g, '\n').replace(/\n+$/, '').split('\n');
    if (length < size) all.shift(); // most likely cut in the middle
    return { lines: all.slice(-lines), omitted: all.length > lines || length < size };
  } finally {
    fs.closeSync(fd);
  }
}

/** Sort key of a log's name: the runs before the last (`-runK`) by K, then the last one. */
function runOrder(name: string): number {
  const m = /-run(\d+)\.log$/.exec(name);
  return m ? Number(m[1]) : Infinity;
}

/** The kept logs of a tag by experiment number (.autoresearch/<tag>/logs/NNNN-<commit>[-runK].log), each's tail. */
export function readLogTails(cwd: string, tag: string): Map<number, LogTail[]> {
  const dir = logsDir(cwd, tag);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return new Map();
  }
  const byExperiment = new Map<number, string[]>();
  for (const name of names) {
    const m = /^(\d+)-.+\.log$/.exec(name);
    if (!m) continue;
    const n = Number(m[1]);
    byExperiment.set(n, [...(byExperiment.get(n) ?? []), name]);
  }
  const out = new Map<number, LogTail[]>();
  for (const [n, files] of byExperiment) {
    files.sort((a, b) => runOrder(a) - runOrder(b) || (a < b ? -1 : 1));
    const tails: LogTail[] = [];
    for (const name of files) {
      try {
        if (!fs.lstatSync(path.join(dir, name)).isFile()) continue;
        tails.push({ name, ...tailOf(path.join(dir, name), runOrder(name) === Infinity ? LOG_TAIL_LINES : EARLIER_RUN_TAIL_LINES) });
      } catch {
        // removed while we read: nothing to show
      }
    }
    out.set(n, tails);
  }
  return out;
}
