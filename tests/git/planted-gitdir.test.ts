// A worktree's `.git` file is the model's to rewrite (its shell and train.py write the worktree).
// Pointed at a repository the model made, whose config sets core.fsmonitor and core.hooksPath to
// its own commands, it must not make the program's git run them: every git call the program makes
// there (the guard, status, add, commit, the snapshot of uncommitted edits, cherry-pick) uses the
// git directory recorded when the worktree was made. Real git, no sandbox: this is the program's
// own defence, whatever the sandbox does.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreGitState, snapshotGitState } from '../../src/git/guard.js';
import { GitRepo } from '../../src/git/repo.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const KEY = 'sk-ant-planted-gitdir-canary-0123';
const dirs: string[] = [];
afterEach(() => {
  delete process.env['ANTHROPIC_API_KEY'];
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A worktree whose `.git` now names a planted repository; `leak` is where the planted commands write. */
async function plantedWorktree() {
  const dir = makeWorkspace();
  dirs.push(dir);
  const repo = await GitRepo.open(dir);
  const wt = path.join(dir, '.autoresearch', 't', 'worktrees', '0001');
  const tree = await repo.addWorktree(wt, await repo.head());
  const leak = path.join(dir, 'leak.txt');
  const hooks = path.join(dir, 'evil-hooks');
  fs.mkdirSync(hooks);
  for (const hook of ['pre-commit', 'post-commit', 'post-checkout', 'reference-transaction']) {
    fs.writeFileSync(path.join(hooks, hook), `#!/bin/sh\necho "hook ${hook}" >> ${leak}\nenv >> ${leak}\n`, { mode: 0o755 });
  }
  const snap = await snapshotGitState(wt); // the guard, before the model's command
  // What the model's shell ran in the audit, in the worktree.
  git(wt, 'init', '-q', 'evil');
  git(wt, '-C', 'evil', 'config', 'core.fsmonitor', `env >> ${leak}; false`);
  git(wt, '-C', 'evil', 'config', 'core.hooksPath', hooks);
  fs.writeFileSync(path.join(wt, '.git'), `gitdir: ${wt}/evil/.git\n`);
  return { dir, repo, tree, wt, leak, snap };
}

describe("the program's git in a worktree whose .git file was rewritten", () => {
  it('runs none of the planted commands, sees no key, and still acts on the real worktree', async () => {
    process.env['ANTHROPIC_API_KEY'] = KEY;
    const { repo, tree, wt, leak, snap } = await plantedWorktree();
    // The guard after the model's command, then a second turn, then the engine's own calls on the experiment.
    fs.writeFileSync(path.join(wt, 'prepare.py'), 'changed\n');
    expect(await restoreGitState(wt, snap, ['train.py'])).toEqual(['prepare.py is not editable: restored from HEAD', 'evil/ is a stray new file: removed']);
    const again = await snapshotGitState(wt);
    expect(await restoreGitState(wt, again, ['train.py'])).toEqual([]);
    fs.appendFileSync(path.join(wt, 'train.py'), '# edit\n');
    expect(await tree.snapshotWorkingTree()).toMatch(/^[0-9a-f]{40}$/);
    expect(await tree.changedPaths()).toEqual(['train.py']);
    const commit = await tree.commitFiles(['train.py'], 'an edit');
    // The commit is the repository's, where the program looks for it, not the planted one's.
    expect(await repo.resolve(commit)).toBe(commit);
    expect(git(repo.dir, 'log', '-1', '--format=%s', commit)).toBe('an edit');
    expect(await tree.cherryPick(commit)).toBeNull(); // already applied: refused, and aborted cleanly
    expect(fs.existsSync(leak), fs.existsSync(leak) ? fs.readFileSync(leak, 'utf8').slice(0, 300) : '').toBe(false);
  });

  it('a restart finds the worktree from the repository\'s records, not from the rewritten .git', async () => {
    const { dir, tree, wt, leak } = await plantedWorktree();
    const reopened = await (await GitRepo.open(dir)).openWorktree(wt);
    expect(await reopened.head()).toBe(await tree.head());
    await expect((await GitRepo.open(dir)).openWorktree(path.join(dir, 'evil-hooks'))).rejects.toThrow(/no record of a worktree/);
    expect(fs.existsSync(leak)).toBe(false);
  });
});
