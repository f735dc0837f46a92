// With several experiments in flight, the guard that undoes one model's git meddling (restoreGitState,
// in that experiment's worktree) runs while the engine writes refs for other experiments: a
// moved/ or discarded/ ref, or the branch itself when a result is kept. The guard leaves the
// engine's own writes alone by reading `engineRefWrites` (git/repo.ts). Found by
// tests/drills/kill9-slots.test.ts when GitRepo recorded a write only after making it and the guard
// took the list before reading the refs: a restore whose read fell in between deleted the new ref
// (or moved the branch back). Now a write is recorded before it is made, and the guard takes the
// list after reading the refs. The first two tests put the engine's write exactly there: the
// restore's read of the refs waits at a gate (tests/helpers/git-gate.ts) while the write is made.
// The last two start the write at a different moment of a free-running restore each time.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { restoreGitState, snapshotGitState } from '../../src/git/guard.js';
import { GitRepo } from '../../src/git/repo.js';
import { gateGit, until } from '../helpers/git-gate.js';
import { git } from '../helpers/workspace.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A repository on `branch` with one commit, and a worktree of it (the experiment whose model turn ends). */
async function repository(branch: string): Promise<{ dir: string; repo: GitRepo; tree: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-guardrace-'));
  dirs.push(dir);
  git(dir, 'init', '-q', '-b', branch);
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  fs.writeFileSync(path.join(dir, 'train.py'), 'print(1)\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  const repo = await GitRepo.open(dir);
  const tree = path.join(dir, '.autoresearch', 'race', 'worktrees', '0001');
  await repo.addWorktree(tree, git(dir, 'rev-parse', 'HEAD'));
  return { dir, repo, tree };
}

/** Restore `tree` to `snap` while `write` is made in full between the restore's start and its read of the refs. */
async function restoreAroundWrite(tree: string, snap: Awaited<ReturnType<typeof snapshotGitState>>, write: () => Promise<void>): Promise<void> {
  const gate = gateGit('for-each-ref');
  let restore: Promise<unknown> = Promise.resolve();
  try {
    gate.close();
    const from = gate.events().length;
    restore = restoreGitState(tree, snap, ['train.py']);
    await until(() => gate.events().length > from, 'the restore reads the refs');
    await write();
    gate.open();
    await restore;
  } finally {
    gate.open();
    await restore.catch(() => undefined);
    gate.remove();
  }
}

describe('the guard in one worktree while the engine writes refs for another experiment', () => {
  it('a ref the engine keeps while the restore reads the refs survives it', async () => {
    const { dir, repo, tree } = await repository('main');
    const head = git(dir, 'rev-parse', 'HEAD');
    const ref = 'refs/autoresearch/race/moved/0000001';
    const snap = await snapshotGitState(tree);
    await restoreAroundWrite(tree, snap, () => repo.keepRef(ref, head));
    expect(git(dir, 'for-each-ref', '--format=%(refname)', ref)).toBe(ref);
  });

  it('a keep that moves the branch while the restore reads the refs stays on the branch', async () => {
    const { dir, repo, tree } = await repository('autoresearch/race');
    const best = git(dir, 'rev-parse', 'HEAD');
    const kept = git(dir, 'commit-tree', `${best}^{tree}`, '-p', best, '-m', 'kept');
    const snap = await snapshotGitState(tree);
    await restoreAroundWrite(tree, snap, () => repo.resetHard(kept));
    expect(git(dir, 'rev-parse', 'refs/heads/autoresearch/race')).toBe(kept);
  });

  it('every ref the engine keeps during a concurrent restore survives it', async () => {
    const { dir, repo, tree } = await repository('main');
    const head = git(dir, 'rev-parse', 'HEAD');

    // The model's turn in the worktree ends (restore) while the engine keeps a ref for another
    // experiment; the engine's write starts at a different moment of the restore each time.
    const lost: string[] = [];
    // Until the first loss, each delay from 0 to 29 ms once.
    for (let i = 0; i < 30 && lost.length === 0; i++) {
      const snap = await snapshotGitState(tree);
      const ref = `refs/autoresearch/race/moved/${String(i).padStart(7, '0')}`;
      const delayMs = i % 30;
      await Promise.all([
        restoreGitState(tree, snap, ['train.py']),
        new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => repo.keepRef(ref, head)),
      ]);
      if (git(dir, 'for-each-ref', '--format=%(refname)', ref) !== ref) lost.push(`${ref} (engine write ${delayMs} ms into the restore)`);
    }
    expect(lost).toEqual([]);
  });

  it('a keep that moves the branch during a concurrent restore stays on the branch', async () => {
    const { dir, repo, tree } = await repository('autoresearch/race');

    // Each round: a kept experiment's commit on top of the best, and the main checkout reset to it
    // (Experiment.record) while another experiment's model turn ends in the worktree.
    const undone: string[] = [];
    for (let i = 1; i <= 30 && undone.length === 0; i++) {
      const best = git(dir, 'rev-parse', 'HEAD');
      const kept = git(dir, 'commit-tree', `${best}^{tree}`, '-p', best, '-m', `kept ${i}`);
      const snap = await snapshotGitState(tree);
      const delayMs = i % 30;
      await Promise.all([
        restoreGitState(tree, snap, ['train.py']),
        new Promise((resolve) => setTimeout(resolve, delayMs)).then(() => repo.resetHard(kept)),
      ]);
      const now = git(dir, 'rev-parse', 'refs/heads/autoresearch/race');
      if (now !== kept) {
        undone.push(`keep ${i} (${delayMs} ms into the restore): the branch is at ${now.slice(0, 7)}, not ${kept.slice(0, 7)}`);
        git(dir, 'reset', '-q', '--hard', kept);
      }
    }
    expect(undone).toEqual([]);
  });
});
