// Putting the repository back after something we do not trust ran in it (a model's bash command,
// a whole agent call). Only the editable files may change: HEAD, the branch and every ref are put
// back, other tracked files are restored from HEAD, and stray untracked files are removed
// (ignored ones are left alone). Paths that were already dirty when the snapshot was taken are put
// back to how they were then, not to HEAD: they are someone else's business. Untracked files that
// already existed are the most someone-else's of all: a log the user redirected into the repository
// (`nohup autoresearch > night.log &`) grows while the model works, so a change to one is never
// rewritten (writing old bytes under a live writer fills the file with NULs); only a deleted one is
// put back.
// The files inside .git that decide what git will run or ignore (config, hooks, info/exclude,
// info/attributes) are put back too, so nothing planted there runs at the program's next commit.
// Cheap on purpose: two git calls to snapshot, two to check, more only when something changed.

import { lstat, mkdir, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { engineRefWrites, engineWritesSettled, runGit, short } from './repo.js';

/** How a dirty path looked at snapshot time. Small files are kept whole so they can be written back. */
type FileState = { kind: 'absent' } | { kind: 'content'; data: Buffer } | { kind: 'large'; size: number; mtimeMs: number };

/** A file inside .git, with its mode so that a deleted hook comes back executable. */
interface ControlFile {
  data: Buffer;
  mode: number;
}

export interface GitStateSnapshot {
  head: string | null; // the commit HEAD resolved to, null on an unborn branch
  branch: string | null; // refs/heads/<name> HEAD pointed at, null when detached
  refs: Map<string, string>; // every ref and the object it named
  dirty: Map<string, FileState>; // paths that differed from HEAD (or were untracked) at snapshot time
  untracked: Set<string>; // those of them that were untracked (in neither HEAD nor the index)
  gitDir: string | null; // absolute path of this checkout's .git directory (a worktree has its own)
  commonDir: string | null; // where config, hooks and info/ live: gitDir, or the main .git for a worktree
  control: Map<string, ControlFile>; // config, hooks/*, info/exclude, info/attributes, by path inside commonDir
  engineWritesSeen: number; // the engine's ref writes surely finished before the refs were read (see repo.ts)
  indexLocked: boolean; // .git/index.lock existed (some git command was running)
}

interface StatusEntry {
  path: string;
  inHead: boolean; // the path exists in HEAD's tree, so `git checkout HEAD -- path` restores it
  inIndex: boolean; // the path is in the index (so it must be dropped from there too)
}

interface RepoStatus {
  head: string | null;
  branch: string | null;
  entries: StatusEntry[];
}

const KEEP_CONTENT_MAX = 1024 * 1024;

/** git in `repoDir` through runGit: in a worktree of ours, with its recorded git directory (repo.ts says why). */
interface Git {
  raw(args: string[]): Promise<string>;
}

function git(repoDir: string): Git {
  return { raw: (args) => runGit(repoDir, args) };
}

function shortOrNone(hash: string | null | undefined): string {
  return hash ? short(hash) : '(none)';
}

/** The refs the engine has written (or is about to write) since the snapshot was taken. */
function engineRefsSince(snap: GitStateSnapshot): Set<string> {
  return new Set(engineRefWrites.slice(snap.engineWritesSeen).map((w) => w.ref));
}

function withoutRefs(refs: Map<string, string>, drop: Set<string>): Map<string, string> {
  return new Map([...refs].filter(([ref]) => !drop.has(ref)));
}

/** Parse `git status --porcelain=v2 --branch -z --untracked-files=all`. */
export function parseStatusV2(out: string): RepoStatus {
  const fields = out.split('\0');
  let head: string | null = null;
  let branch: string | null = null;
  const entries: StatusEntry[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (!f) continue;
    if (f.startsWith('# branch.oid ')) {
      const oid = f.slice('# branch.oid '.length);
      head = oid === '(initial)' ? null : oid;
    } else if (f.startsWith('# branch.head ')) {
      const name = f.slice('# branch.head '.length);
      branch = name === '(detached)' ? null : `refs/heads/${name}`;
    } else if (f.startsWith('1 ') || f.startsWith('u ')) {
      // 1 XY sub mH mI mW hH hI path   |   u XY sub m1 m2 m3 mW h1 h2 h3 path
      const parts = f.split(' ');
      const pathStart = f.startsWith('1 ') ? 8 : 10;
      const mH = parts[3] ?? '000000';
      const mI = parts[4] ?? '000000';
      const unmerged = f.startsWith('u ');
      entries.push({ path: parts.slice(pathStart).join(' '), inHead: unmerged || mH !== '000000', inIndex: unmerged || mI !== '000000' });
    } else if (f.startsWith('2 ')) {
      // 2 XY sub mH mI mW hH hI Xscore path \0 origPath: a rename or copy staged in the index.
      const parts = f.split(' ');
      entries.push({ path: parts.slice(9).join(' '), inHead: false, inIndex: true });
      const orig = fields[++i];
      if (orig) entries.push({ path: orig, inHead: true, inIndex: false });
    } else if (f.startsWith('? ')) {
      entries.push({ path: f.slice(2), inHead: false, inIndex: false });
    }
  }
  return { head, branch, entries };
}

async function readStatus(g: Git): Promise<RepoStatus> {
  // --no-optional-locks: a status must never fight another git process for the index lock.
  const out = await g.raw(['--no-optional-locks', 'status', '--porcelain=v2', '--branch', '-z', '--untracked-files=all']);
  return parseStatusV2(out);
}

async function readRefs(g: Git): Promise<Map<string, string>> {
  const out = await g.raw(['for-each-ref', '--format=%(objectname) %(refname)']);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
  }
  return refs;
}

async function captureFile(abs: string): Promise<FileState> {
  try {
    const info = await lstat(abs);
    if (info.isFile() && info.size <= KEEP_CONTENT_MAX) return { kind: 'content', data: await readFile(abs) };
    return { kind: 'large', size: info.size, mtimeMs: info.mtimeMs };
  } catch {
    return { kind: 'absent' };
  }
}

/**
 * The checkout's git directory and the shared one (config, hooks, info/), as git says: in a worktree
 * of ours, the recorded ones, not wherever its `.git` file (the model's to write) points now.
 */
async function findGitDirs(g: Git, repoDir: string): Promise<{ gitDir: string | null; commonDir: string | null }> {
  try {
    const [gitDir, commonDir] = (await g.raw(['rev-parse', '--absolute-git-dir', '--git-common-dir'])).trim().split('\n');
    if (!gitDir || !commonDir) return { gitDir: null, commonDir: null };
    return { gitDir, commonDir: path.resolve(repoDir, commonDir) };
  } catch {
    return { gitDir: null, commonDir: null };
  }
}

const CONTROL_FILES = ['config', 'info/exclude', 'info/attributes'];

async function readControl(gitDir: string | null): Promise<Map<string, ControlFile>> {
  const out = new Map<string, ControlFile>();
  if (gitDir === null) return out;
  const names = [...CONTROL_FILES];
  try {
    for (const e of await readdir(path.join(gitDir, 'hooks'), { withFileTypes: true })) if (!e.isDirectory()) names.push(`hooks/${e.name}`);
  } catch {
    // no hooks directory
  }
  for (const name of names) {
    try {
      const abs = path.join(gitDir, name);
      const info = await lstat(abs);
      if (info.isFile() && info.size <= KEEP_CONTENT_MAX) out.set(name, { data: await readFile(abs), mode: info.mode & 0o777 });
      else if (info.isSymbolicLink()) out.set(name, { data: Buffer.from(`symlink:${info.size}`), mode: -1 });
    } catch {
      // absent
    }
  }
  return out;
}

async function restoreControl(snap: GitStateSnapshot): Promise<string[]> {
  if (snap.commonDir === null) return [];
  const gitDir = snap.commonDir;
  const now = await readControl(gitDir);
  const undone: string[] = [];
  for (const [name, before] of snap.control) {
    const cur = now.get(name);
    if (cur && cur.data.equals(before.data) && cur.mode === before.mode) continue;
    if (before.mode < 0) continue; // a symlink we did not follow: leave it
    const abs = path.join(gitDir, name);
    await rm(abs, { force: true });
    await writeFile(abs, before.data, { mode: before.mode });
    undone.push(`.git/${name} was ${cur ? 'changed' : 'deleted'}: put back`);
  }
  for (const name of now.keys()) {
    if (snap.control.has(name)) continue;
    await rm(path.join(gitDir, name), { force: true });
    undone.push(`.git/${name} was created: removed`);
  }
  return undone;
}

/** Record HEAD, the branch, every ref, the dirty paths and git's control files of a repository. */
export async function snapshotGitState(repoDir: string): Promise<GitStateSnapshot> {
  const g = git(repoDir);
  const engineWritesSeen = engineWritesSettled(); // before the refs are read: see engineWritesSettled
  const [status, refs, { gitDir, commonDir }] = await Promise.all([readStatus(g), readRefs(g), findGitDirs(g, repoDir)]);
  const dirty = new Map<string, FileState>();
  const untracked = new Set<string>();
  for (const e of status.entries) {
    dirty.set(e.path, await captureFile(path.join(repoDir, e.path)));
    if (!e.inHead && !e.inIndex) untracked.add(e.path);
  }
  const indexLocked = gitDir !== null && (await captureFile(path.join(gitDir, 'index.lock'))).kind !== 'absent';
  return {
    head: status.head,
    branch: status.branch,
    refs,
    dirty,
    untracked,
    gitDir,
    commonDir,
    control: await readControl(commonDir),
    indexLocked,
    engineWritesSeen,
  };
}

async function sameAsBefore(abs: string, before: FileState): Promise<boolean> {
  const now = await captureFile(abs);
  if (before.kind === 'absent') return now.kind === 'absent';
  if (before.kind === 'content') return now.kind === 'content' && now.data.equals(before.data);
  return now.kind === 'large' && now.size === before.size && now.mtimeMs === before.mtimeMs;
}

/**
 * Whether the directories between `repoDir` and `rel` are real ones. The command we are undoing may
 * have put a symlink there (`ln -s ~ sub`), and we run outside the sandbox: a write or removal
 * through it would reach outside the repository. With `make`, such a name (or a missing one) is
 * made a real directory again, as it was when the path was seen.
 */
async function realParents(repoDir: string, rel: string, make: boolean): Promise<boolean> {
  let dir = repoDir;
  for (const part of path.dirname(rel).split('/').filter((p) => p !== '' && p !== '.')) {
    dir = path.join(dir, part);
    let isDir = false;
    try {
      isDir = (await lstat(dir)).isDirectory();
    } catch {
      // absent
    }
    if (isDir) continue;
    if (!make) return false;
    await rm(dir, { force: true });
    await mkdir(dir);
  }
  return true;
}

/** Write `data` as a new file at `rel`, never through a symlink at its name or above it. */
async function writeInside(repoDir: string, rel: string, data: Buffer): Promise<void> {
  await realParents(repoDir, rel, true);
  const abs = path.join(repoDir, rel);
  await rm(abs, { recursive: true, force: true });
  await writeFile(abs, data, { flag: 'wx' });
}

/** Remove `rel`, unless it lies beyond a symlink (then it is not in the repository at all). */
async function removeInside(repoDir: string, rel: string): Promise<void> {
  if (await realParents(repoDir, rel, false)) await rm(path.join(repoDir, rel), { recursive: true, force: true });
}

async function removeEmptyParents(repoDir: string, rel: string): Promise<void> {
  let dir = path.dirname(rel);
  while (dir !== '.' && dir !== '' && dir !== '/') {
    const abs = path.join(repoDir, dir);
    try {
      if ((await readdir(abs)).length > 0) return;
      await rmdir(abs);
    } catch {
      return;
    }
    dir = path.dirname(dir);
  }
}

async function restoreRefs(g: Git, snap: GitStateSnapshot, current: Map<string, string>): Promise<string[]> {
  const undone: string[] = [];
  for (const [ref, before] of snap.refs) {
    const now = current.get(ref);
    if (now === before) continue;
    await g.raw(['update-ref', '-m', 'autoresearch: restore', ref, before]);
    undone.push(now === undefined ? `ref ${ref} was deleted: recreated at ${shortOrNone(before)}` : `ref ${ref} moved from ${shortOrNone(before)} to ${shortOrNone(now)}: put back at ${shortOrNone(before)}`);
  }
  for (const [ref, now] of current) {
    if (snap.refs.has(ref)) continue;
    await g.raw(['update-ref', '-d', ref, now]);
    undone.push(`ref ${ref} was created (at ${shortOrNone(now)}): deleted`);
  }
  return undone;
}

async function restoreHead(g: Git, snap: GitStateSnapshot, status: RepoStatus): Promise<string[]> {
  if (snap.branch !== null) {
    if (status.branch === snap.branch) return [];
    await g.raw(['symbolic-ref', '-m', 'autoresearch: restore', 'HEAD', snap.branch]);
    const was = status.branch ? `switched to ${status.branch.replace('refs/heads/', 'branch ')}` : `detached at ${shortOrNone(status.head)}`;
    return [`HEAD was ${was}: put back on ${snap.branch.replace('refs/heads/', 'branch ')}`];
  }
  if (status.branch === null && status.head === snap.head) return [];
  if (snap.head === null) return []; // cannot detach onto nothing; nothing sensible to restore
  await g.raw(['update-ref', '--no-deref', '-m', 'autoresearch: restore', 'HEAD', snap.head]);
  return [`HEAD was moved to ${status.branch ?? shortOrNone(status.head)}: put back at ${shortOrNone(snap.head)} (detached)`];
}

export interface RestoreOptions {
  /**
   * Paths the guard never touches besides the editable ones: exact repo-relative paths, or
   * directory prefixes ending in '/'. Default: autoresearch's own state directory, so transcripts
   * survive even in a repository that does not ignore it.
   */
  keep?: readonly string[];
}

export const DEFAULT_KEEP: readonly string[] = ['.autoresearch/'];

function normalize(p: string): string {
  return path.posix.normalize(p.replaceAll('\\', '/')).replace(/^\.\//, '').replace(/\/+$/, '');
}

/**
 * Undo whatever happened since `snap` outside the editable paths. Returns one human-readable line
 * per thing undone (empty when nothing was). Editable and kept paths are never touched.
 */
export async function restoreGitState(repoDir: string, taken: GitStateSnapshot, editable: readonly string[], options: RestoreOptions = {}): Promise<string[]> {
  const g = git(repoDir);
  const editableSet = new Set(editable.map(normalize));
  const keep = (options.keep ?? DEFAULT_KEEP).map((k) => (k.endsWith('/') ? `${normalize(k)}/` : normalize(k)));
  const untouchable = {
    has: (p: string): boolean => editableSet.has(p) || keep.some((k) => (k.endsWith('/') ? p.startsWith(k) || `${p}/` === k : p === k)),
  };
  // git's own control files first: a planted config or hook must not act during what follows.
  const undone: string[] = await restoreControl(taken);
  // A git command killed mid-way (a bash time limit) leaves its lock behind, and every later git
  // command would fail on it. Whatever ran is over by now, so a lock that appeared since is stale.
  if (taken.gitDir !== null && !taken.indexLocked) {
    const lock = path.join(taken.gitDir, 'index.lock');
    if ((await captureFile(lock)).kind !== 'absent') {
      await rm(lock, { force: true });
      undone.push('.git/index.lock was left behind by an interrupted git command: removed');
    }
  }

  let [status, allRefs] = await Promise.all([readStatus(g), readRefs(g)]);
  // Refs are shared by every worktree: while the model worked in this one, the engine may have moved
  // the branch or kept a commit for another experiment. Those refs are the engine's, neither undone
  // nor written here (a write of ours could collide with the engine's own). The engine records a
  // write before making it, and the list is taken after the refs were read, so a ref git has
  // written for the engine is always on it.
  const engines = engineRefsSince(taken);
  const snap: GitStateSnapshot = { ...taken, refs: withoutRefs(taken.refs, engines) };
  const refs = withoutRefs(allRefs, engines);
  const refsMoved = [...snap.refs].some(([r, h]) => refs.get(r) !== h) || refs.size !== snap.refs.size;
  if (refsMoved || status.branch !== snap.branch || status.head !== snap.head) {
    undone.push(...(await restoreHead(g, snap, status)));
    undone.push(...(await restoreRefs(g, snap, refs)));
    // The index still holds whatever HEAD pointed at meanwhile (a commit's tree, another branch):
    // match it to the restored HEAD, keeping the working tree, so only real file changes remain.
    if (snap.head !== null) await g.raw(['reset', '-q']);
    status = await readStatus(g); // what differs from HEAD changed with HEAD
  }

  const first = await restoreFiles(g, repoDir, snap, status, untouchable);
  undone.push(...first);
  // Ignore rules may have hidden a stray file that is visible now that they are put back.
  const ignoreRulesChanged = [...undone].some((u) => /(^|\/)\.gitignore\b|\.git\/info\/exclude|\.git\/config/.test(u));
  if (ignoreRulesChanged) undone.push(...(await restoreFiles(g, repoDir, snap, await readStatus(g), untouchable)));
  return undone;
}

/** Put back non-editable files: restored from HEAD, reverted to their snapshot, or removed as strays. */
async function restoreFiles(g: Git, repoDir: string, snap: GitStateSnapshot, status: RepoStatus, untouchable: { has: (p: string) => boolean }): Promise<string[]> {
  const undone: string[] = [];
  const toCheckout: string[] = [];
  const toRemove: StatusEntry[] = [];
  const seen = new Set<string>();
  for (const e of status.entries) {
    seen.add(e.path);
    if (untouchable.has(e.path)) continue;
    const before = snap.dirty.get(e.path);
    if (before !== undefined) {
      // Dirty before we started: put back the bytes we saw, if we kept them.
      const abs = path.join(repoDir, e.path);
      // An untracked file that was there before and is still there may have a live writer: leave it.
      if (snap.untracked.has(e.path) && !e.inIndex) continue;
      if (await sameAsBefore(abs, before)) continue;
      if (before.kind === 'content') {
        await writeInside(repoDir, e.path, before.data);
        undone.push(`${e.path} was changed: put back as it was before the command`);
      } else if (before.kind === 'absent') {
        await removeInside(repoDir, e.path);
        undone.push(`${e.path} was created: removed`);
      } else {
        undone.push(`${e.path} (a large file that was already modified) was changed again and could not be put back`);
      }
      continue;
    }
    if (e.inHead) toCheckout.push(e.path);
    else toRemove.push(e);
  }

  // Paths that were dirty at snapshot time but now match HEAD were reverted by the command.
  for (const [p, before] of snap.dirty) {
    if (seen.has(p) || untouchable.has(p)) continue;
    if (before.kind === 'content') await writeInside(repoDir, p, before.data);
    else if (before.kind === 'absent') await removeInside(repoDir, p);
    else {
      undone.push(`${p} (a large file that was already there) was ${snap.untracked.has(p) ? 'deleted' : 'reverted'} and could not be put back`);
      continue;
    }
    undone.push(`${p} was reverted: put back as it was before the command`);
  }

  if (toCheckout.length > 0) {
    await g.raw(['--literal-pathspecs', 'checkout', 'HEAD', '--', ...toCheckout]);
    for (const p of toCheckout) undone.push(`${p} is not editable: restored from HEAD`);
  }
  if (toRemove.length > 0) {
    // Drop them from the index if they were added there, then from the disk.
    const staged = toRemove.filter((e) => e.inIndex).map((e) => e.path);
    if (staged.length > 0) await g.raw(['--literal-pathspecs', 'rm', '-r', '-q', '--cached', '--ignore-unmatch', '-f', '--', ...staged]);
    for (const e of toRemove) {
      const abs = path.join(repoDir, e.path);
      let isDir = false;
      try {
        isDir = (await lstat(abs)).isDirectory();
      } catch {
        // already gone
      }
      // A stray symlink (git lists it as a file) that writeInside has just made a real directory again, to put a file back in.
      if (isDir && !e.path.endsWith('/')) continue;
      await rm(abs, { recursive: true, force: true });
      await removeEmptyParents(repoDir, e.path);
      undone.push(`${e.path.replace(/\/$/, '')}${isDir ? '/' : ''} is a stray new file: removed`); // git names a nested repository `dir/`
    }
  }
  return undone;
}
