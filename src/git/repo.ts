// The git operations the loop needs, and nothing else. Every call is a real `git` process; the
// loop never edits .git by hand.
//
// Why execFile and not simple-git: simple-git waits an extra 50 ms after every command that
// prints nothing, and most of the loop's commands print nothing (add, commit -q, update-ref,
// reset -q). That alone cost ~200 ms per experiment, more than the whole rest of the loop
// (docs/benchmarks.md). Every git call the program makes in a checkout goes through runGit (the
// guard's too), so that the protections below hold for all of them.
//
// An experiment's worktree is the model's to write: its `.git` file names the git directory, and
// a planted one (`gitdir: evil/.git`, whose config sets core.fsmonitor to a command) would make our
// next git call run that command outside the sandbox, with our environment. So git in a worktree
// is always told the git directory we recorded when we made it (never reading `.git`), with
// fsmonitor and hooks off, and no git process of ours gets the API key in its environment.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { scrubEnv } from '../proc/env.js';

export class GitError extends Error {
  override name = 'GitError';
  constructor(
    readonly args: string[],
    readonly code: number | string | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed${code !== null ? ` (exit ${code})` : ''}: ${stderr.trim() || 'no message'}`);
  }
}

/** The git directory of each worktree we made, by its absolute path: see the top of this file. */
const pinnedGitDirs = new Map<string, string>();

/** Nothing a worktree's files could name runs: no fsmonitor command, no hooks (the change is the model's). */
const WORKTREE_SAFETY = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null'];

/** Our environment without secrets, for git: should git ever run something, it gets no key. Commit identity stays. */
export function gitEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  // GIT_AUTHOR_*/GIT_COMMITTER_* look like secrets to scrubEnv (AUTH), but they are who commits.
  const identity = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && /^GIT_(AUTHOR|COMMITTER)_/.test(e[0]));
  return { ...scrubEnv(env), ...Object.fromEntries(identity) };
}

/** The arguments git gets for `args` in `dir`: in a worktree of ours, its recorded git directory and the safety settings first. */
export function gitArgs(dir: string, args: string[]): string[] {
  const gitDir = pinnedGitDirs.get(path.resolve(dir));
  return gitDir === undefined ? args : ['--git-dir', gitDir, '--work-tree', path.resolve(dir), ...WORKTREE_SAFETY, ...args];
}

/**
 * How long a git command waits, in all, for an index lock another git process holds: an editor's
 * git integration runs `git status` in the checkout every few seconds, and that takes the lock for
 * a moment. Past this, the lock is someone's real, long operation, and the error stands.
 */
export const INDEX_LOCK_PATIENCE_MS = 10_000;

/** Git refused to start because another process holds an index lock (it changed nothing). */
export function isIndexLockBusy(stderr: string): boolean {
  return /index\.lock': File exists/.test(stderr);
}

/** Run git in `dir`; resolve with stdout, reject with a GitError carrying stderr. A busy index lock is waited out (see INDEX_LOCK_PATIENCE_MS). */
export async function runGit(dir: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const deadline = Date.now() + INDEX_LOCK_PATIENCE_MS;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    try {
      return await runGitOnce(dir, args, env);
    } catch (err) {
      if (!(err instanceof GitError) || !isIndexLockBusy(err.stderr) || Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

function runGitOnce(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', gitArgs(dir, args), { cwd: dir, env: gitEnv(env), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new GitError(args, (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null, stderr));
      else resolve(stdout);
    });
  });
}

export const BRANCH_PREFIX = 'autoresearch/';

/**
 * Every ref this process's engine wrote, in order, each recorded just before it is written. With
 * experiments in worktrees, the guard around one model's turn must tell these apart from what the
 * model did (guard.ts).
 */
export const engineRefWrites: { ref: string; commit: string; done: boolean }[] = [];

/**
 * How many of the engine's ref writes are surely finished: those before the first still in progress.
 * A guard snapshot counts from here, so a write that lands after the snapshot read the refs is
 * always one "since" the snapshot.
 */
export function engineWritesSettled(): number {
  const pending = engineRefWrites.findIndex((w) => !w.done);
  return pending === -1 ? engineRefWrites.length : pending;
}

/** Record a ref write before making it, and mark it done once made (or failed). */
async function engineWrite(ref: string, commit: string, write: () => Promise<unknown>): Promise<void> {
  const entry = { ref, commit, done: false };
  engineRefWrites.push(entry);
  try {
    await write();
  } finally {
    entry.done = true;
  }
}
export const short = (commit: string): string => commit.slice(0, 7);

async function gitConfig(dir: string, key: string): Promise<string | null> {
  try {
    return (await runGit(dir, ['config', '--get', key])).trim() || null;
  } catch {
    return null;
  }
}

/**
 * `-c user.name=… -c user.email=…` for whatever identity git lacks, so commits never fail for want
 * of a configured name (overnight, or on a fresh machine). Identity from the environment
 * (GIT_AUTHOR_NAME ...) still wins over these.
 */
export async function fallbackIdentity(dir: string): Promise<string[]> {
  const args: string[] = [];
  if (!(await gitConfig(dir, 'user.name'))) args.push('-c', 'user.name=autoresearch');
  if (!(await gitConfig(dir, 'user.email'))) args.push('-c', 'user.email=autoresearch@localhost');
  return args;
}

export class GitRepo {
  private identity: string[] = [];
  /**
   * Worktree adds, removes and prunes, one at a time: git 2.39 reads a half-written
   * .git/worktrees/<name>/ of a concurrent add and fails ("failed to read …/commondir").
   */
  private worktreeTurn: Promise<unknown> = Promise.resolve();

  private oneWorktreeOpAtATime<T>(op: () => Promise<T>): Promise<T> {
    const result = this.worktreeTurn.then(op, op);
    this.worktreeTurn = result.catch(() => undefined);
    return result;
  }

  private constructor(readonly dir: string) {}

  private run(args: string[]): Promise<string> {
    return runGit(this.dir, args);
  }

  /** Open the repository whose top level is `dir`, or explain why `dir` is not one. */
  static async open(dir: string): Promise<GitRepo> {
    let top: string;
    try {
      top = (await runGit(dir, ['rev-parse', '--show-toplevel'])).trim();
    } catch {
      throw new Error(`${dir} is not inside a git repository. Run \`git init\` and commit program.md and train.py first (or use \`autoresearch init\`).`);
    }
    const repo = new GitRepo(top);
    try {
      await repo.run(['rev-parse', '--verify', 'HEAD']);
    } catch {
      throw new Error(`The repository at ${top} has no commits yet. Commit program.md and train.py first: git add -A && git commit -m "initial"`);
    }
    repo.identity = await fallbackIdentity(top);
    return repo;
  }

  async head(): Promise<string> {
    return (await this.run(['rev-parse', 'HEAD'])).trim();
  }

  async currentBranch(): Promise<string | null> {
    try {
      return (await this.run(['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim() || null;
    } catch {
      return null; // detached HEAD
    }
  }

  async resolve(rev: string): Promise<string | null> {
    try {
      return (await this.run(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim() || null;
    } catch {
      return null;
    }
  }

  async branchExists(branch: string): Promise<boolean> {
    return (await this.resolve(`refs/heads/${branch}`)) !== null;
  }

  async createBranch(branch: string): Promise<void> {
    await this.run(['checkout', '-b', branch]);
  }

  async checkout(branch: string): Promise<void> {
    await this.run(['checkout', branch]);
  }

  /** Tracked files with uncommitted changes (staged or not): the user's work we must not touch. */
  async dirtyTrackedFiles(): Promise<string[]> {
    const out = await this.run(['status', '--porcelain=v1', '-z', '--untracked-files=no']);
    return parsePorcelainZ(out);
  }

  /** Every changed or new (non-ignored) path. */
  async changedPaths(): Promise<string[]> {
    const out = await this.run(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    return parsePorcelainZ(out);
  }

  /** The blob id of each of `paths` in `commit`'s tree (paths absent there are left out). */
  async lsTree(commit: string, paths: readonly string[]): Promise<Map<string, string>> {
    const out = await this.run(['ls-tree', '-z', '--full-tree', commit, '--', ...paths]);
    const blobs = new Map<string, string>();
    for (const entry of out.split('\0')) {
      const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
      if (m) blobs.set(m[2]!, m[1]!);
    }
    return blobs;
  }

  /** Paths that differ between two commits. */
  async changedBetween(from: string, to: string): Promise<string[]> {
    const out = await this.run(['diff', '--name-only', '-z', from, to]);
    return out.split('\0').filter((p) => p !== '');
  }

  async commitFiles(paths: string[], message: string): Promise<string> {
    await this.run(['add', '--all', '--', ...paths]);
    await this.run([...this.identity, 'commit', '--no-verify', '--quiet', '-m', message, '--', ...paths]);
    return this.head();
  }

  /** Move HEAD (and the branch it is on) to `commit`, tree and index with it. */
  async resetHard(commit: string): Promise<void> {
    const branch = await this.currentBranch();
    const reset = () => this.run(['reset', '--hard', '--quiet', commit]);
    // Said before it is done: a guard restoring refs in another worktree meanwhile must expect it.
    if (branch === null) await reset();
    else await engineWrite(`refs/heads/${branch}`, (await this.resolve(commit)) ?? commit, reset);
  }

  async resetSoft(commit: string): Promise<void> {
    await this.run(['reset', '--soft', '--quiet', commit]);
  }

  /** Keep a commit reachable under a ref of ours, so a reset never makes an idea unrecoverable. */
  async keepRef(ref: string, commit: string): Promise<void> {
    // Said before it is done: a guard restoring refs in another worktree meanwhile must expect it.
    await engineWrite(ref, (await this.resolve(commit)) ?? commit, () => this.run(['update-ref', ref, commit]));
  }

  // ---- worktrees: one per experiment in flight, so several can be drafted and trained at once ----

  /** A new worktree at `dir`, HEAD detached at `commit`. */
  async addWorktree(dir: string, commit: string): Promise<GitRepo> {
    await this.oneWorktreeOpAtATime(() => this.run(['worktree', 'add', '--detach', '--quiet', dir, commit]));
    return this.openWorktree(dir);
  }

  /**
   * A worktree of this repository, its git directory found from the repository's own records
   * (.git/worktrees/<name>/gitdir names the worktree), never from the worktree's `.git` file, and
   * recorded so every later git call there uses it. Throws when git has no record of `dir`.
   */
  async openWorktree(dir: string): Promise<GitRepo> {
    const abs = path.resolve(dir);
    const admin = path.join(path.resolve(this.dir, (await this.run(['rev-parse', '--git-common-dir'])).trim()), 'worktrees');
    const real = realOrNull(abs);
    let gitDir: string | null = null;
    for (const name of fs.existsSync(admin) ? fs.readdirSync(admin) : []) {
      let recorded: string;
      try {
        recorded = fs.readFileSync(path.join(admin, name, 'gitdir'), 'utf8').trim();
      } catch {
        continue; // a half-written record of a concurrent add (see worktreeTurn), or not a worktree's
      }
      const at = path.dirname(path.resolve(admin, name, recorded));
      if (at === abs || (real !== null && realOrNull(at) === real)) gitDir = path.join(admin, name);
    }
    if (gitDir === null) throw new Error(`git has no record of a worktree at ${abs}`);
    pinnedGitDirs.set(abs, gitDir);
    const wt = new GitRepo(abs);
    await wt.run(['rev-parse', '--verify', '--quiet', 'HEAD']); // a half-made worktree has no HEAD yet: nothing in it to open
    wt.identity = this.identity;
    return wt;
  }

  /** Remove a worktree and its administrative files, whatever state it is in. */
  async removeWorktree(dir: string): Promise<void> {
    pinnedGitDirs.delete(path.resolve(dir));
    await this.oneWorktreeOpAtATime(async () => {
      try {
        await this.run(['worktree', 'remove', '--force', '--force', dir]);
      } catch {
        fs.rmSync(dir, { recursive: true, force: true });
        await this.run(['worktree', 'prune']);
      }
    });
  }

  /** Worktrees git knows of, the main one excluded. */
  async worktrees(): Promise<string[]> {
    const out = await this.run(['worktree', 'list', '--porcelain']);
    const dirs = out.split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length));
    return dirs.filter((d) => path.resolve(d) !== path.resolve(this.dir));
  }

  async pruneWorktrees(): Promise<void> {
    await this.oneWorktreeOpAtATime(() => this.run(['worktree', 'prune']));
  }

  /**
   * Apply `commit`'s change on top of HEAD as a new commit with the same message; null (and HEAD
   * unchanged) when it does not apply cleanly. No hooks run: the change is the model's, not a user's.
   */
  async cherryPick(commit: string): Promise<string | null> {
    try {
      await this.run([...this.identity, '-c', 'core.hooksPath=/dev/null', 'cherry-pick', commit]);
      return await this.head();
    } catch {
      await this.run(['cherry-pick', '--abort']).catch(() => this.run(['reset', '--hard', '--quiet', 'HEAD']));
      return null;
    }
  }

  /**
   * A commit holding the uncommitted state of the tracked files, child of HEAD, without changing
   * the tree, the index or any ref; null when nothing differs from HEAD. Built in a throwaway index
   * read from HEAD: its entries carry no stat data, so every file is hashed from its content and an
   * edit made in the same second as the last index write is never mistaken for "unchanged" (which
   * `git stash create` can do).
   */
  async snapshotWorkingTree(message = 'autoresearch: uncommitted edit'): Promise<string | null> {
    const tmpIndex = path.join(await this.gitDir(), `autoresearch-index-${process.pid}`);
    const env = { ...process.env, GIT_INDEX_FILE: tmpIndex };
    try {
      await runGit(this.dir, ['read-tree', 'HEAD'], env);
      await runGit(this.dir, ['add', '--update', '--', '.'], env);
      const tree = (await runGit(this.dir, ['write-tree'], env)).trim();
      const headTree = (await this.run(['rev-parse', 'HEAD^{tree}'])).trim();
      if (tree === headTree) return null;
      return (await this.run([...this.identity, 'commit-tree', tree, '-p', 'HEAD', '-m', message])).trim();
    } finally {
      fs.rmSync(tmpIndex, { force: true });
    }
  }

  async subject(commit: string): Promise<string> {
    return (await this.run(['log', '-1', '--format=%s', commit])).trim();
  }

  /** Remove .git/index.lock; only call this while holding the run lock after a crash. */
  async removeStaleIndexLock(): Promise<boolean> {
    const lock = path.join(await this.gitDir(), 'index.lock');
    if (!fs.existsSync(lock)) return false;
    fs.rmSync(lock, { force: true });
    return true;
  }

  private async gitDir(): Promise<string> {
    return path.resolve(this.dir, (await this.run(['rev-parse', '--git-dir'])).trim());
  }

  /**
   * Keep our own files out of git's sight without touching the user's .gitignore: results.tsv,
   * run.log and .autoresearch/ go into .git/info/exclude, which is local and never committed.
   */
  async excludeOwnFiles(names: string[]): Promise<void> {
    const excludePath = path.join(await this.gitDir(), 'info', 'exclude');
    const existing = fs.existsSync(excludePath) ? fs.readFileSync(excludePath, 'utf8') : '';
    const lines = new Set(existing.split('\n').map((l) => l.trim()));
    const missing = names.filter((n) => !lines.has(n) && !lines.has(`/${n}`));
    if (missing.length === 0) return;
    fs.mkdirSync(path.dirname(excludePath), { recursive: true });
    const sep = existing === '' || existing.endsWith('\n') ? '' : '\n';
    fs.appendFileSync(excludePath, `${sep}# written by autoresearch\n${missing.map((n) => `/${n}`).join('\n')}\n`);
  }
}

function realOrNull(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

/** Paths from `git status --porcelain=v1 -z` (renames give their new path). */
export function parsePorcelainZ(out: string): string[] {
  const fields = out.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i];
    if (!entry || entry.length < 4) continue;
    paths.push(entry.slice(3));
    if (entry[0] === 'R' || entry[0] === 'C') i++; // the next field is the old path
  }
  return paths;
}
