// The git operations the loop needs, and nothing else. Every call is a real `git` process
// through simple-git; the loop never edits .git by hand.

import fs from 'node:fs';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

export const BRANCH_PREFIX = 'autoresearch/';
export const short = (commit: string): string => commit.slice(0, 7);

export class GitRepo {
  readonly git: SimpleGit;
  private identity: string[] = [];

  private constructor(readonly dir: string) {
    this.git = simpleGit({ baseDir: dir });
  }

  /** Open the repository whose top level is `dir`, or explain why `dir` is not one. */
  static async open(dir: string): Promise<GitRepo> {
    const probe = simpleGit({ baseDir: dir });
    let top: string;
    try {
      top = (await probe.revparse(['--show-toplevel'])).trim();
    } catch {
      throw new Error(`${dir} is not inside a git repository. Run \`git init\` and commit program.md and train.py first (or use \`autoresearch init\`).`);
    }
    const repo = new GitRepo(top);
    try {
      await repo.git.revparse(['--verify', 'HEAD']);
    } catch {
      throw new Error(`The repository at ${top} has no commits yet. Commit program.md and train.py first: git add -A && git commit -m "initial"`);
    }
    // Commits must not fail overnight for want of a configured name.
    const name = await repo.config('user.name');
    const email = await repo.config('user.email');
    if (!name) repo.identity.push('-c', 'user.name=autoresearch');
    if (!email) repo.identity.push('-c', 'user.email=autoresearch@localhost');
    return repo;
  }

  private async config(key: string): Promise<string | null> {
    try {
      return (await this.git.raw(['config', '--get', key])).trim() || null;
    } catch {
      return null;
    }
  }

  async head(): Promise<string> {
    return (await this.git.revparse(['HEAD'])).trim();
  }

  async currentBranch(): Promise<string | null> {
    try {
      return (await this.git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD'])).trim() || null;
    } catch {
      return null; // detached HEAD
    }
  }

  async resolve(rev: string): Promise<string | null> {
    try {
      return (await this.git.revparse(['--verify', '--quiet', `${rev}^{commit}`])).trim() || null;
    } catch {
      return null;
    }
  }

  async branchExists(branch: string): Promise<boolean> {
    return (await this.resolve(`refs/heads/${branch}`)) !== null;
  }

  async createBranch(branch: string): Promise<void> {
    await this.git.raw(['checkout', '-b', branch]);
  }

  async checkout(branch: string): Promise<void> {
    await this.git.raw(['checkout', branch]);
  }

  /** Tracked files with uncommitted changes (staged or not): the user's work we must not touch. */
  async dirtyTrackedFiles(): Promise<string[]> {
    const out = await this.git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=no']);
    return parsePorcelainZ(out);
  }

  /** Every changed or new (non-ignored) path. */
  async changedPaths(): Promise<string[]> {
    const out = await this.git.raw(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    return parsePorcelainZ(out);
  }

  async commitFiles(paths: string[], message: string): Promise<string> {
    await this.git.raw(['add', '--all', '--', ...paths]);
    await this.git.raw([...this.identity, 'commit', '--no-verify', '--quiet', '-m', message, '--', ...paths]);
    return this.head();
  }

  async resetHard(commit: string): Promise<void> {
    await this.git.raw(['reset', '--hard', '--quiet', commit]);
  }

  async resetSoft(commit: string): Promise<void> {
    await this.git.raw(['reset', '--soft', '--quiet', commit]);
  }

  /** Keep a commit reachable under a ref of ours, so a reset never makes an idea unrecoverable. */
  async keepRef(ref: string, commit: string): Promise<void> {
    await this.git.raw(['update-ref', ref, commit]);
  }

  /**
   * A commit holding the uncommitted state of the working tree, without changing the tree or the
   * index (`git stash create`); null when there is nothing to save.
   */
  async snapshotWorkingTree(): Promise<string | null> {
    const out = (await this.git.raw(['stash', 'create', 'autoresearch: interrupted edit'])).trim();
    return out || null;
  }

  async subject(commit: string): Promise<string> {
    return (await this.git.raw(['log', '-1', '--format=%s', commit])).trim();
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    try {
      await this.git.raw(['merge-base', '--is-ancestor', ancestor, descendant]);
      return true;
    } catch {
      return false;
    }
  }

  /** Remove .git/index.lock; only call this while holding the run lock after a crash. */
  async removeStaleIndexLock(): Promise<boolean> {
    const lock = path.join(await this.gitDir(), 'index.lock');
    if (!fs.existsSync(lock)) return false;
    fs.rmSync(lock, { force: true });
    return true;
  }

  private async gitDir(): Promise<string> {
    return path.resolve(this.dir, (await this.git.revparse(['--git-dir'])).trim());
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
