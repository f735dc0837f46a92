// Several experiments in flight add and remove their worktrees at the same moments (the scheduler
// starts up to slots x (1 + lookahead) at once). git does not lock .git/worktrees/: a `git worktree
// add` lists the other worktrees and dies when it reads one that a concurrent `add` has created but
// not yet filled ("fatal: failed to read .git/worktrees/0016/commondir: Success", git 2.39.5). In
// the loop that error escapes runExperiment and ends the night (found by bench/pipeline.ts with
// 2 slots). GitRepo's worktree calls must therefore be safe to call concurrently: it runs them
// one at a time.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/git/repo.js';
import { git } from '../helpers/workspace.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('worktrees added and removed concurrently', () => {
  it('12 experiments at a time, up to 150 times over: every add and remove succeeds', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-wtrace-'));
    dirs.push(dir);
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'config', 'user.name', 'Test');
    git(dir, 'config', 'user.email', 'test@example.com');
    fs.writeFileSync(path.join(dir, 'train.py'), 'print(1)\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'initial');
    const repo = await GitRepo.open(dir);
    const head = git(dir, 'rev-parse', 'HEAD');
    const errors: string[] = [];
    const attempt = async (what: string, op: () => Promise<unknown>) => {
      try {
        await op();
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
      }
    };
    let n = 0;
    // The window is short: go on until the first failure (quick when the bug is there), at most 150 rounds.
    for (let round = 0; round < 150 && errors.length === 0; round++) {
      const trees = Array.from({ length: 12 }, () => path.join(dir, '.autoresearch', 'race', 'worktrees', String(++n).padStart(4, '0')));
      await Promise.all(trees.map((t) => attempt('add', () => repo.addWorktree(t, head))));
      await Promise.all(trees.map((t) => attempt('remove', () => repo.removeWorktree(t))));
    }
    expect(errors).toEqual([]);
    expect(await repo.worktrees()).toEqual([]);
  }, 120_000);
});
