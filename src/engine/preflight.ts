// The checks made before the loop touches anything: every refusal here is a UsageError (exit 2)
// with the fix in its message, and nothing on disk has changed when it is thrown.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BRANCH_PREFIX, GitRepo, runGit } from '../git/repo.js';
import { readResultsFile, RESULTS_FILE } from '../ledger/results.js';
import { anyInFlight, STATE_DIR } from '../ledger/state.js';
import { decideSandbox } from '../proc/sandbox.js';
import type { EngineConfig } from './types.js';

/** A problem with how the program was started: reported with exit code 2, nothing changed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Preflight {
  repo: GitRepo;
  programText: string;
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

/** Longest tag: it names a branch, a ref directory and .autoresearch/<tag>/, each a file name (255 bytes at most). */
export const MAX_TAG_LENGTH = 100;

export const TAG_RULES =
  `at most ${MAX_TAG_LENGTH} characters: letters, digits, '.', '_' and '-', starting with a letter or digit, ` +
  `not ending in '.' or '.lock', and no '..'`;

/**
 * Why `tag` cannot be used, or null. Stricter than git's ref rules on purpose: the tag also names
 * the directory .autoresearch/<tag>/, so no '/', and it must survive every filesystem and shell.
 */
export function tagProblem(tag: string): string | null {
  const ok =
    tag.length <= MAX_TAG_LENGTH &&
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(tag) &&
    !tag.includes('..') &&
    !tag.endsWith('.') &&
    !tag.endsWith('.lock');
  if (ok) return null;
  const shown = tag.length > 40 ? `${tag.slice(0, 40)}… (${tag.length} characters)` : tag;
  return `--tag "${shown}" cannot name a git branch (autoresearch/<tag>): use ${TAG_RULES}.`;
}

/** Files a run command names (`uv run train.py` → train.py) that must exist before we start. */
export function runTargets(runCmd: string): string[] {
  return runCmd
    .split(/\s+/)
    .filter((word) => /^[\w./-]+\.(py|sh)$/.test(word) && !word.startsWith('-'));
}

/** Everything `runLoop` needs checked before it takes the lock, or a UsageError saying what to fix. */
export async function preflight(config: EngineConfig, env: NodeJS.ProcessEnv): Promise<Preflight> {
  const badTag = tagProblem(config.tag);
  if (badTag !== null) throw new UsageError(badTag);
  const programText = readProgram(config);
  const repo = await openAndCheck(config, env);
  const dir = repo.dir;
  const branch = `${BRANCH_PREFIX}${config.tag}`;
  const resultsPath = path.join(dir, RESULTS_FILE);

  checkOwnPaths(dir);
  const existing = readResultsFile(resultsPath);
  if (existing.metricName !== null && existing.metricName !== config.metric) {
    throw new UsageError(
      `${resultsPath} records "${existing.metricName}", but --metric is "${config.metric}". Use --metric ${existing.metricName}, or move results.tsv aside.`,
    );
  }

  // The user's uncommitted work is never ours to touch, except what a killed run of this very tag left behind.
  // (A kill during the reset that follows a keep leaves the main checkout half-updated; the state
  // files of the experiments then in flight, in either layout, say so.)
  const onOurBranch = (await repo.currentBranch()) === branch;
  const dirty = await repo.dirtyTrackedFiles();
  if (dirty.length > 0 && !(onOurBranch && anyInFlight(dir, config.tag))) {
    throw new UsageError(
      `Uncommitted changes in tracked files: ${dirty.join(', ')}.\n` +
        `autoresearch resets the working tree between experiments, so it will not start over your work. ` +
        `Commit it (git commit -am "...") or stash it (git stash), then run the same command again.`,
    );
  }
  return { repo, programText };
}

/** The research protocol's text: it is the model's whole brief, so a missing or blank one stops us. */
function readProgram(config: EngineConfig): string {
  const programFile = path.resolve(config.repoDir, config.programPath);
  if (!fs.existsSync(programFile)) {
    throw new UsageError(`The research protocol ${programFile} does not exist. Pass --program FILE, or create program.md (autoresearch init writes one).`);
  }
  if (!fs.statSync(programFile).isFile()) {
    throw new UsageError(`The research protocol ${programFile} is not a file. Pass --program FILE with the protocol in it.`);
  }
  const text = fs.readFileSync(programFile, 'utf8');
  if (text.trim() === '') {
    throw new UsageError(
      `The research protocol ${programFile} is empty. It is all the model is told about the research: ` +
        `write the research protocol into it (autoresearch init writes an example to start from), commit it, then run the same command again.`,
    );
  }
  return text;
}

/** Git operations that leave the repository half-way; the loop's commits and resets would land in the middle of them. */
const OPERATIONS: readonly { marker: string; name: string; fix: string }[] = [
  { marker: 'rebase-merge', name: 'rebase', fix: 'git rebase --continue to finish it, or git rebase --abort' },
  { marker: 'rebase-apply/applying', name: 'git am', fix: 'git am --continue to finish it, or git am --abort' },
  { marker: 'rebase-apply', name: 'rebase', fix: 'git rebase --continue to finish it, or git rebase --abort' },
  { marker: 'MERGE_HEAD', name: 'merge', fix: 'commit the resolved merge (git commit) to finish it, or git merge --abort' },
  { marker: 'CHERRY_PICK_HEAD', name: 'cherry-pick', fix: 'git cherry-pick --continue to finish it, or git cherry-pick --abort' },
  { marker: 'REVERT_HEAD', name: 'revert', fix: 'git revert --continue to finish it, or git revert --abort' },
  { marker: 'BISECT_LOG', name: 'bisect', fix: 'git bisect reset to end it' },
  // A cherry-pick or revert of several commits, stopped between them (its conflicted one already committed).
  { marker: 'sequencer', name: 'cherry-pick or revert of several commits', fix: 'git cherry-pick --continue (or git revert --continue) to finish it, or --abort' },
];

/** Refuse while a rebase, merge, cherry-pick, revert or bisect is under way (per worktree, hence --git-path). */
async function checkNoOperation(dir: string): Promise<void> {
  const out = await runGit(dir, ['rev-parse', ...OPERATIONS.flatMap((op) => ['--git-path', op.marker])]);
  const paths = out.split('\n').filter(Boolean);
  const op = OPERATIONS.find((_, i) => fs.existsSync(path.resolve(dir, paths[i] ?? '')));
  if (!op) return;
  throw new UsageError(
    `A ${op.name} is in progress in ${dir}. autoresearch commits and resets on its own branch, which would land in the middle of it. ` +
      `Run ${op.fix}, then run the same command again.`,
  );
}

/** Editable files must be in HEAD: otherwise the first experiment's commit would hold the only copy, and the original would be lost. */
async function checkEditableTracked(repo: GitRepo, editable: readonly string[]): Promise<void> {
  const inHead = new Set((await runGit(repo.dir, ['ls-tree', '-r', '--name-only', '-z', 'HEAD', '--', ...editable])).split('\0'));
  const untracked = editable.filter((file) => !inHead.has(file));
  if (untracked.length === 0) return;
  const list = untracked.join(' ');
  throw new UsageError(
    `${untracked.join(', ')} ${untracked.length === 1 ? 'is' : 'are'} not committed. The model edits ${untracked.length === 1 ? 'it' : 'them'} and every experiment starts from a commit, ` +
      `so your original would be in no commit and could be lost. Commit ${untracked.length === 1 ? 'it' : 'them'} first: ` +
      `git add ${list} && git commit -m "add ${list}", then run the same command again.`,
  );
}

/** What the loop writes at the repository root, and what each must be where it already exists. */
const OWN_PATHS: readonly { name: string; kind: 'file' | 'directory'; holds: string }[] = [
  { name: RESULTS_FILE, kind: 'file', holds: 'one row per experiment' },
  { name: 'run.log', kind: 'file', holds: 'the latest run\'s output' },
  { name: STATE_DIR, kind: 'directory', holds: 'per-experiment logs and the state a restart resumes from' },
];

function checkOwnPaths(dir: string): void {
  for (const own of OWN_PATHS) {
    const p = path.join(dir, own.name);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch {
      continue; // absent: the loop creates it
    }
    if (own.kind === 'file' ? stat.isFile() : stat.isDirectory()) continue;
    const is = stat.isDirectory() ? 'a directory' : stat.isFile() ? 'a file' : 'not a regular file';
    throw new UsageError(
      `${p} is ${is}, not a ${own.kind}: autoresearch writes ${own.holds} there. ` +
        `Move it aside (mv ${own.name} ${own.name}.old), then run the same command again.`,
    );
  }
}

async function openAndCheck(config: EngineConfig, env: NodeJS.ProcessEnv): Promise<GitRepo> {
  let repo: GitRepo;
  try {
    repo = await GitRepo.open(config.repoDir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  try {
    await runGit(repo.dir, ['check-ref-format', '--branch', `${BRANCH_PREFIX}${config.tag}`]);
  } catch {
    throw new UsageError(`--tag "${config.tag}" cannot name a git branch (autoresearch/<tag>): use ${TAG_RULES}.`);
  }
  await checkNoOperation(repo.dir);
  for (const file of config.editable) {
    if (!fs.existsSync(path.join(repo.dir, file))) {
      throw new UsageError(`The editable file ${file} does not exist in ${repo.dir}. Check --editable (default train.py).`);
    }
  }
  await checkEditableTracked(repo, config.editable);
  const program = runProgram(config.runCmd);
  if (program !== null && !shellFinds(program, env)) {
    const hint =
      program === 'uv'
        ? ' Install uv (https://docs.astral.sh/uv/getting-started/installation/), or run with --run-cmd "python train.py".'
        : ' Install it, or pass --run-cmd with a command that exists.';
    throw new UsageError(`--run-cmd "${config.runCmd}" needs ${program}, which is not on PATH.${hint}`);
  }
  const sandbox = decideSandbox(config.sandbox ?? 'auto', config.trainNetwork ?? true);
  if (sandbox.error) throw new UsageError(sandbox.error);
  for (const target of runTargets(config.runCmd)) {
    // The command runs from the repository root, so a relative name is looked up there.
    if (!fs.existsSync(path.resolve(repo.dir, target))) {
      const where = path.isAbsolute(target) ? '' : ` in ${repo.dir}`;
      throw new UsageError(`--run-cmd "${config.runCmd}" runs ${target}, which does not exist${where}.`);
    }
    const editable = path.isAbsolute(target) ? editableAt(repo.dir, target, config.editable) : null;
    if (editable !== null) {
      // Each experiment trains in a checkout of its own: this path would train the best code every time, never the change.
      const fixed = config.runCmd.split(/(\s+)/).map((word) => (word === target ? editable : word)).join('');
      throw new UsageError(
        `--run-cmd "${config.runCmd}" runs ${target}, the copy in this checkout. Each experiment trains in a checkout of its own, ` +
          `so the model's change to ${editable} would never be the code measured. Name it relative to the repository: --run-cmd "${fixed}".`,
      );
    }
  }
  return repo;
}

/** The editable file (relative name) that an absolute path is, in the main checkout; null if it is none of them. */
function editableAt(repoDir: string, target: string, editable: readonly string[]): string | null {
  const real = fs.realpathSync(target);
  return editable.find((file) => fs.existsSync(path.join(repoDir, file)) && fs.realpathSync(path.join(repoDir, file)) === real) ?? null;
}
