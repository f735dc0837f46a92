// The loop's on-disk state under .autoresearch/: the experiment in flight (so a restart after
// kill -9 knows what it was doing), the tag's settings, and where logs and transcripts go.

import fs from 'node:fs';
import path from 'node:path';
import type { Direction, ResultRow } from '../engine/types.js';

export const STATE_DIR = '.autoresearch';

export function tagDir(repoDir: string, tag: string): string {
  return path.join(repoDir, STATE_DIR, tag);
}

export const lockPath = (repoDir: string): string => path.join(repoDir, STATE_DIR, 'lock');
/** Submissions refused because their code was already measured or in flight: one JSON line each. */
export const duplicatesPath = (repoDir: string, tag: string): string => path.join(tagDir(repoDir, tag), 'duplicates.jsonl');
export const logsDir = (repoDir: string, tag: string): string => path.join(tagDir(repoDir, tag), 'logs');

export function experimentLogPath(repoDir: string, tag: string, experiment: number, commit: string): string {
  return path.join(logsDir(repoDir, tag), `${String(experiment).padStart(4, '0')}-${commit}.log`);
}

/**
 * Where prepare.py leaves its verdict on a run (see engine/judge.ts): inside the checkout the run
 * trains in, the one place a sandboxed run may write, under our own ignored directory.
 */
export const verdictPath = (checkout: string): string => path.join(checkout, STATE_DIR, 'verdict.json');

/** The git worktree an experiment is drafted and trained in, inside our own ignored directory. */
export const worktreePath = (repoDir: string, tag: string, experiment: number): string =>
  path.join(tagDir(repoDir, tag), 'worktrees', String(experiment).padStart(4, '0'));

/**
 * Written before each step that changes the tree; removed once the experiment's row is written.
 * One file per experiment in flight (.autoresearch/<tag>/inflight/NNNN.json); an older version
 * kept the single experiment it ran in .autoresearch/<tag>/inflight.json, still read on recovery.
 */
export interface InFlight {
  experiment: number;
  phase: 'baseline' | 'agent' | 'waiting' | 'training';
  base: string; // the best commit the experiment started from
  commit: string | null; // the experiment's commit, once made
  description: string | null;
  startedAt: string;
  runPid?: number; // process group of the training run, while one is running
  runId?: string; // the run's AUTORESEARCH_RUN marker, to find its processes that left the group
  /** The decided row, written here before it is appended: a measurement outlives a failed append. */
  row?: ResultRow;
  worktree?: string; // the experiment's worktree; absent for the baseline and the older single-file layout
  slot?: string; // the GPU it trains on
  jobId?: string; // a cluster executor's job, while one runs
  /** Training runs started so far, each with the next seed: a restart goes on past them, so no seed is used twice in a tag. */
  runs?: number;
  /** Each measured run's value of the code as it is now: a restart logs (or, for the baseline, goes on from) them. */
  values?: number[];
  /** The model's notes for the experiment, so that an interrupted one's row keeps them. */
  notes?: string;
  /** Runs of the same code training on other slots at the same time (the baseline's, a candidate's confirmations), while they run. */
  aside?: { run: number; runPid?: number; runId?: string; jobId?: string }[];
}

export interface TagConfig {
  metric: string;
  direction: Direction;
}

function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file); // atomic: a reader sees the old or the new file, never half of one
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

const inFlightPath = (repoDir: string, tag: string) => path.join(tagDir(repoDir, tag), 'inflight.json');
const configPath = (repoDir: string, tag: string) => path.join(tagDir(repoDir, tag), 'config.json');

export const readInFlight = (repoDir: string, tag: string): InFlight | null => readJson<InFlight>(inFlightPath(repoDir, tag));

const experimentsDir = (repoDir: string, tag: string) => path.join(tagDir(repoDir, tag), 'inflight');
const experimentPath = (repoDir: string, tag: string, n: number) => path.join(experimentsDir(repoDir, tag), `${String(n).padStart(4, '0')}.json`);

export const writeExperimentState = (repoDir: string, tag: string, f: InFlight): void => writeJsonAtomic(experimentPath(repoDir, tag, f.experiment), f);
export const readExperimentState = (repoDir: string, tag: string, n: number): InFlight | null => readJson<InFlight>(experimentPath(repoDir, tag, n));
export const clearExperimentState = (repoDir: string, tag: string, n: number): void => fs.rmSync(experimentPath(repoDir, tag, n), { force: true });

/** Every experiment a killed run left in flight, oldest first (the older single-file layout included). */
export function readAllInFlight(repoDir: string, tag: string): InFlight[] {
  const found: InFlight[] = [];
  const legacy = readInFlight(repoDir, tag);
  if (legacy) found.push(legacy);
  let names: string[] = [];
  try {
    names = fs.readdirSync(experimentsDir(repoDir, tag)).filter((f) => /^\d+\.json$/.test(f));
  } catch {
    // none
  }
  for (const name of names) {
    const f = readJson<InFlight>(path.join(experimentsDir(repoDir, tag), name));
    if (f) found.push(f);
  }
  return found.sort((a, b) => a.experiment - b.experiment);
}

/**
 * A write cut off by kill -9 between its temp file and the rename (writeJsonAtomic). A temp file
 * that holds a whole state is the newest one of its experiment, so it takes the file's place (a
 * measured row in it is not lost); one cut mid-write is dropped, and the state before it stands.
 * Called under the run lock, before the states are read for recovery. Says what it did, per file.
 */
export function settleUnfinishedWrites(repoDir: string, tag: string): string[] {
  const notes: string[] = [];
  const folder = experimentsDir(repoDir, tag);
  let names: string[] = [];
  try {
    names = fs.readdirSync(folder);
  } catch {
    // no state files
  }
  const newest = new Map<string, { tmp: string; mtimeMs: number }>(); // target file → its newest whole temp file
  for (const name of names) {
    const m = /^(\d+\.json)\.\d+\.tmp$/.exec(name);
    if (!m) continue;
    const tmp = path.join(folder, name);
    const state = readJson<InFlight>(tmp);
    const target = m[1]!;
    if (state === null || `${String(state.experiment).padStart(4, '0')}.json` !== target) {
      fs.rmSync(tmp, { force: true });
      notes.push(`dropped ${name}, a state file cut off mid-write`);
      continue;
    }
    const mtimeMs = fs.statSync(tmp).mtimeMs;
    const seen = newest.get(target);
    if (seen && seen.mtimeMs >= mtimeMs) {
      fs.rmSync(tmp, { force: true });
      continue;
    }
    if (seen) fs.rmSync(seen.tmp, { force: true });
    newest.set(target, { tmp, mtimeMs });
  }
  for (const [target, { tmp }] of newest) {
    fs.renameSync(tmp, path.join(folder, target));
    notes.push(`${target} was written whole but not yet renamed: taken as the newest state`);
  }
  try {
    for (const name of fs.readdirSync(tagDir(repoDir, tag))) {
      if (/^config\.json\.\d+\.tmp$/.test(name)) fs.rmSync(path.join(tagDir(repoDir, tag), name), { force: true });
    }
  } catch {
    // no tag directory yet
  }
  return notes;
}

/** Any experiment in flight for this tag: a restart has something to finish. */
export const anyInFlight = (repoDir: string, tag: string): boolean => readAllInFlight(repoDir, tag).length > 0;
export const clearInFlight = (repoDir: string, tag: string): void => fs.rmSync(inFlightPath(repoDir, tag), { force: true });

export const readTagConfig = (repoDir: string, tag: string): TagConfig | null => readJson<TagConfig>(configPath(repoDir, tag));
export const writeTagConfig = (repoDir: string, tag: string, c: TagConfig): void => writeJsonAtomic(configPath(repoDir, tag), c);
