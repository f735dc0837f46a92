// The checks made before the loop touches anything: every refusal here is a UsageError (exit 2)
// with the fix in its message, and nothing on disk has changed when it is thrown.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BRANCH_PREFIX, GitRepo } from '../git/repo.js';
import { readResultsFile, RESULTS_FILE } from '../ledger/results.js';
import { readInFlight, type InFlight } from '../ledger/state.js';
import type { EngineConfig } from './types.js';

/** A problem with how the program was started: reported with exit code 2, nothing changed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Preflight {
  repo: GitRepo;
  programText: string;
  /** What a killed run of this tag left to finish, when we are on its branch; null otherwise. */
  inFlight: InFlight | null;
}

/**
 * The program a run command starts (`uv run train.py` → uv), when it is a plain name to look up
 * on PATH; null for paths, shell syntax or leading variable assignments, which we leave to the shell.
 */
export function runProgram(runCmd: string): string | null {
  const first = runCmd.trim().split(/\s+/)[0] ?? '';
  return /^[A-Za-z0-9_.+-]+$/.test(first) ? first : null;
}

/** Whether the shell that will run the command can find `program` (a builtin, keyword or file on PATH). */
export function shellFinds(program: string, env: NodeJS.ProcessEnv): boolean {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1" >/dev/null', 'sh', program], { env, stdio: 'ignore' }).status === 0;
}

/** Files a run command names (`uv run train.py` → train.py) that must exist before we start. */
export function runTargets(runCmd: string): string[] {
  return runCmd
    .split(/\s+/)
    .filter((word) => /^[\w./-]+\.(py|sh)$/.test(word) && !word.startsWith('-'));
}

/** Everything `runLoop` needs checked before it takes the lock, or a UsageError saying what to fix. */
export async function preflight(config: EngineConfig, env: NodeJS.ProcessEnv): Promise<Preflight> {
  const repo = await openAndCheck(config, env);
  const dir = repo.dir;
  const branch = `${BRANCH_PREFIX}${config.tag}`;
  const resultsPath = path.join(dir, RESULTS_FILE);
  const programText = fs.readFileSync(path.resolve(config.repoDir, config.programPath), 'utf8');

  const existing = readResultsFile(resultsPath);
  if (existing.metricName !== null && existing.metricName !== config.metric) {
    throw new UsageError(
      `${resultsPath} records "${existing.metricName}", but --metric is "${config.metric}". Use --metric ${existing.metricName}, or move results.tsv aside.`,
    );
  }

  // The user's uncommitted work is never ours to touch, except what a killed run of this very tag left behind.
  const onOurBranch = (await repo.currentBranch()) === branch;
  const inFlight = onOurBranch ? readInFlight(dir, config.tag) : null;
  const dirty = await repo.dirtyTrackedFiles();
  if (dirty.length > 0 && inFlight === null) {
    throw new UsageError(
      `Uncommitted changes in tracked files: ${dirty.join(', ')}.\n` +
        `autoresearch resets the working tree between experiments, so it will not start over your work. ` +
        `Commit it (git commit -am "...") or stash it (git stash), then run the same command again.`,
    );
  }
  return { repo, programText, inFlight };
}

async function openAndCheck(config: EngineConfig, env: NodeJS.ProcessEnv): Promise<GitRepo> {
  const programFile = path.resolve(config.repoDir, config.programPath);
  if (!fs.existsSync(programFile)) {
    throw new UsageError(`The research protocol ${programFile} does not exist. Pass --program FILE, or create program.md (autoresearch init writes one).`);
  }
  let repo: GitRepo;
  try {
    repo = await GitRepo.open(config.repoDir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const file of config.editable) {
    if (!fs.existsSync(path.join(repo.dir, file))) {
      throw new UsageError(`The editable file ${file} does not exist in ${repo.dir}. Check --editable (default train.py).`);
    }
  }
  const program = runProgram(config.runCmd);
  if (program !== null && !shellFinds(program, env)) {
    const hint =
      program === 'uv'
        ? ' Install uv (https://docs.astral.sh/uv/getting-started/installation/), or run with --run-cmd "python train.py".'
        : ' Install it, or pass --run-cmd with a command that exists.';
    throw new UsageError(`--run-cmd "${config.runCmd}" needs ${program}, which is not on PATH.${hint}`);
  }
  for (const target of runTargets(config.runCmd)) {
    if (!fs.existsSync(path.join(repo.dir, target))) {
      throw new UsageError(`--run-cmd "${config.runCmd}" runs ${target}, which does not exist in ${repo.dir}.`);
    }
  }
  return repo;
}
