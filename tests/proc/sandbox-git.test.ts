// Near misses are brought back by their refs, so the model's sandboxed shell must be able to read
// the repository's history from its worktree, even where the checkout lies in the home directory
// the sandbox hides; and it must see the history only: no remote's URL or credentials, no way to
// write. Real bubblewrap, a real repository and worktree under a stand-in home.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBash } from '../../src/agent/shared/bash.js';
import { sandboxSupport, shellGitConfig } from '../../src/proc/sandbox.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const support = sandboxSupport();
if (!support.ok) console.warn(`sandbox git tests skipped: ${support.reason}`);

describe('shellGitConfig', () => {
  it('keeps what reading the repository needs, nothing else', () => {
    const config = [
      '[core]',
      '\trepositoryformatversion = 1',
      '\tfsmonitor = /home/u/evil.sh',
      '[remote "origin"]',
      '\turl = https://user:ghp_secret@github.com/u/r.git',
      '[extensions]',
      '\tobjectformat = sha256',
      '[credential]',
      '\thelper = store',
    ].join('\n');
    expect(shellGitConfig(config)).toBe('[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectformat = sha256\n');
  });
});

describe.skipIf(!support.ok)('the sandboxed shell reads the history of earlier experiments', () => {
  it('git show of a discarded ref works in the worktree of a checkout inside the hidden home; the remote and writes do not', async () => {
    const home = fs.mkdtempSync(path.join('/var/tmp', 'ar-home-'));
    const dir = makeWorkspace({ parent: home });
    git(dir, 'remote', 'add', 'origin', 'https://user:ghp_secret_token@example.invalid/r.git');
    fs.appendFileSync(path.join(dir, 'train.py'), '\nNEAR_MISS = 1\n');
    git(dir, 'commit', '-qam', 'a near miss');
    const missed = git(dir, 'rev-parse', '--short=7', 'HEAD');
    git(dir, 'update-ref', `refs/autoresearch/t/discarded/${missed}`, 'HEAD');
    git(dir, 'reset', '-q', '--hard', 'HEAD~1');
    const tree = path.join(dir, '.autoresearch', 't', 'worktrees', '0001');
    git(dir, 'worktree', 'add', '-q', '--detach', tree, 'HEAD');
    const config = path.join(home, 'shell-gitconfig');
    fs.writeFileSync(config, shellGitConfig(fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8')));
    const env = { ...process.env, HOME: home };
    const sh = (command: string, withGit = true) =>
      runBash(command, { cwd: tree, timeoutMs: 20_000, signal: new AbortController().signal, env, sandbox: true, ...(withGit ? { git: { dir: path.join(dir, '.git'), config } } : {}) });

    const shown = await sh(`git show refs/autoresearch/t/discarded/${missed}`);
    expect(shown.isError).toBe(false);
    expect(shown.text).toContain('+NEAR_MISS = 1');
    expect((await sh('git log --oneline --all')).text).toContain('a near miss');
    // Only the history: the remote (and its token) stays hidden, and nothing can be written.
    const remote = await sh('git config --get remote.origin.url; echo "exit=$?"');
    expect(remote.text).not.toContain('ghp_secret_token');
    expect(remote.text).toContain('exit=1');
    const write = await sh(`git update-ref -d refs/autoresearch/t/discarded/${missed}; echo "exit=$?"`);
    expect(write.text).not.toContain('exit=0');
    expect(git(dir, 'rev-parse', '--short=7', `refs/autoresearch/t/discarded/${missed}`)).toBe(missed);
    // Without it, the checkout's history is hidden with the home: what the engine passes is what makes this work.
    expect((await sh(`git show refs/autoresearch/t/discarded/${missed}`, false)).text).not.toContain('+NEAR_MISS = 1');
    fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);
});
