// An editor's git integration runs `git status` in the checkout every few seconds, taking the index
// lock for a moment; a keep's `reset --hard` that met it used to fail and end the night. The
// program's git now waits such a lock out. Real git, a real lock file held by the test.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitRepo, isIndexLockBusy } from '../../src/git/repo.js';
import { gateGit, until } from '../helpers/git-gate.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

describe('a busy index lock', () => {
  it("is recognised by git's own message", () => {
    expect(isIndexLockBusy("fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process seems to be running")).toBe(true);
    expect(isIndexLockBusy('fatal: not a git repository')).toBe(false);
  });

  it('a reset --hard waits while another git process holds the lock, then goes through', async () => {
    const dir = makeWorkspace();
    const first = git(dir, 'rev-parse', 'HEAD');
    fs.appendFileSync(path.join(dir, 'train.py'), '# second\n');
    git(dir, 'commit', '-qam', 'second');
    const repo = await GitRepo.open(dir);
    const lock = path.join(dir, '.git', 'index.lock');
    fs.writeFileSync(lock, '');
    const gate = gateGit('reset'); // open: it only notes when each reset starts and ends
    try {
      const reset = repo.resetHard(first);
      // The first attempt is refused (it ends while the lock is held); only then is the lock let go.
      await until(() => gate.events().some((e) => e.startsWith('end ')), 'a reset was refused by the lock');
      expect(fs.existsSync(lock)).toBe(true);
      fs.rmSync(lock);
      await reset;
      expect(gate.events().filter((e) => e.startsWith('start ')).length).toBeGreaterThanOrEqual(2);
    } finally {
      gate.remove();
    }
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(first);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});
