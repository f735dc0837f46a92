// The refusals before the loop touches anything: each is a UsageError (exit 2) naming the problem
// and the fix, and leaves the repository exactly as it was. Real git repositories throughout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop, UsageError } from '../../src/engine/loop.js';
import { runTargets, tagProblem } from '../../src/engine/preflight.js';
import type { EngineConfig } from '../../src/engine/types.js';
import { git, makeWorkspace, PlannedAgent } from '../helpers/workspace.js';

const config = (dir: string, over: Partial<EngineConfig> = {}): EngineConfig =>
  makeEngineConfig(dir, 'test', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, maxExperiments: 0, ...over });

const start = (dir: string, over: Partial<EngineConfig> = {}) =>
  runLoop(config(dir, over), new PlannedAgent([]), { onEvent: () => {}, signal: new AbortController().signal });

/** Everything the loop would create or change, as it stands now. */
function footprint(dir: string) {
  const exclude = path.join(git(dir, 'rev-parse', '--git-common-dir').replace(/^(?!\/)/, `${dir}/`), 'info', 'exclude');
  return {
    branches: git(dir, 'branch', '--format=%(refname:short)'),
    head: git(dir, 'rev-parse', 'HEAD'),
    refs: git(dir, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch'),
    results: fs.existsSync(path.join(dir, 'results.tsv')) && fs.statSync(path.join(dir, 'results.tsv')).isFile(),
    state: fs.existsSync(path.join(dir, '.autoresearch')),
    exclude: fs.existsSync(exclude) ? fs.readFileSync(exclude, 'utf8') : null,
  };
}

/** Start the loop, expect a UsageError matching every pattern, and nothing changed. */
async function refused(dir: string, over: Partial<EngineConfig>, ...patterns: RegExp[]): Promise<string> {
  const before = footprint(dir);
  const err = await start(dir, over).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  const message = (err as Error).message;
  for (const p of patterns) expect(message).toMatch(p);
  expect(footprint(dir)).toEqual(before);
  return message;
}

describe('preflight: an untracked editable file', () => {
  it('refuses when train.py exists but was never committed, saying how to commit it', async () => {
    const dir = makeWorkspace();
    git(dir, 'rm', '-q', '--cached', 'train.py');
    git(dir, 'commit', '-qm', 'untrack train.py');
    await refused(dir, {}, /train\.py is not committed/, /git add train\.py && git commit -m/);
  });

  it('names every untracked editable file', async () => {
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, 'model.py'), '# mine\n');
    await refused(dir, { editable: ['train.py', 'model.py'] }, /model\.py is not committed/, /git add model\.py &&/);
  });

  it('refuses a file that is staged but not yet committed', async () => {
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, 'model.py'), '# mine\n');
    git(dir, 'add', 'model.py');
    await refused(dir, { editable: ['train.py', 'model.py'] }, /model\.py/);
  });
});

describe('preflight: a git operation in progress', () => {
  function conflicted(): string {
    const dir = makeWorkspace();
    git(dir, 'checkout', '-qb', 'other');
    fs.appendFileSync(path.join(dir, 'program.md'), 'other side\n');
    git(dir, 'commit', '-qam', 'other');
    git(dir, 'checkout', '-q', 'main');
    fs.appendFileSync(path.join(dir, 'program.md'), 'main side\n');
    git(dir, 'commit', '-qam', 'main');
    return dir;
  }
  const tryGit = (dir: string, ...args: string[]) => {
    try {
      git(dir, ...args);
    } catch {
      // a conflict is the point
    }
  };

  it('refuses during a rebase, saying how to continue or abort', async () => {
    const dir = conflicted();
    tryGit(dir, 'rebase', 'other');
    expect(fs.existsSync(path.join(dir, '.git/rebase-merge')) || fs.existsSync(path.join(dir, '.git/rebase-apply'))).toBe(true);
    await refused(dir, {}, /A rebase is in progress/, /git rebase --continue/, /git rebase --abort/);
  });

  it('refuses during a merge', async () => {
    const dir = conflicted();
    tryGit(dir, 'merge', 'other');
    await refused(dir, {}, /A merge is in progress/, /git merge --abort/);
  });

  it('refuses during a cherry-pick', async () => {
    const dir = conflicted();
    tryGit(dir, 'cherry-pick', 'other');
    await refused(dir, {}, /A cherry-pick is in progress/, /git cherry-pick --abort/);
  });

  it('refuses a cherry-pick of several commits stopped between them, its conflict already committed', async () => {
    const dir = conflicted();
    for (const line of ['two', 'three']) {
      git(dir, 'checkout', '-q', 'other');
      fs.appendFileSync(path.join(dir, 'program.md'), `${line}\n`);
      git(dir, 'commit', '-qam', line);
    }
    git(dir, 'checkout', '-q', 'main');
    tryGit(dir, 'cherry-pick', 'other~2', 'other~1', 'other');
    fs.writeFileSync(path.join(dir, 'program.md'), 'resolved\n');
    git(dir, 'add', 'program.md');
    git(dir, 'commit', '-qm', 'resolved', '--no-edit');
    // Only the sequencer is left: the next two picks are still to come.
    expect(fs.existsSync(path.join(dir, '.git/CHERRY_PICK_HEAD'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '.git/sequencer'))).toBe(true);
    await refused(dir, {}, /A cherry-pick or revert of several commits is in progress/, /git cherry-pick --continue/);
  });

  it('refuses during a revert', async () => {
    const dir = makeWorkspace();
    for (const line of ['one', 'two']) {
      fs.appendFileSync(path.join(dir, 'program.md'), `${line}\n`);
      git(dir, 'commit', '-qam', line);
    }
    tryGit(dir, 'revert', '--no-edit', 'HEAD~1');
    await refused(dir, {}, /A revert is in progress/, /git revert --abort/);
  });

  it('refuses during a bisect, even with a clean tree', async () => {
    const dir = makeWorkspace();
    git(dir, 'bisect', 'start');
    await refused(dir, {}, /A bisect is in progress/, /git bisect reset/);
  });

  it('finds the operation in a linked worktree too', async () => {
    const main = conflicted();
    const wt = `${main}-wt`;
    git(main, 'worktree', 'add', '-q', wt, 'other');
    fs.appendFileSync(path.join(wt, 'program.md'), 'worktree side\n');
    git(wt, 'commit', '-qam', 'wt');
    tryGit(wt, 'merge', 'main');
    await refused(wt, {}, /A merge is in progress/);
  });
});

describe('preflight: the run command', () => {
  it('accepts an absolute path to a script that exists outside the repository', async () => {
    const dir = makeWorkspace();
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-script-'));
    fs.copyFileSync(path.join(dir, 'train.py'), path.join(outside, 'train.py'));
    const r = await start(dir, { runCmd: `python3 ${path.join(outside, 'train.py')}` });
    fs.rmSync(outside, { recursive: true, force: true });
    expect(r.exitCode).toBe(0);
  });

  it('refuses the absolute path of an editable file: it would train the checkout, never the experiment', async () => {
    const dir = makeWorkspace();
    const abs = path.join(dir, 'train.py');
    await refused(dir, { runCmd: `python3 ${abs} --fast` }, /never be the code measured\. Name it relative to the repository: --run-cmd "python3 train\.py --fast"/);
  });

  it('refuses a missing absolute path, naming it', async () => {
    const dir = makeWorkspace();
    await refused(dir, { runCmd: 'python3 /nonexistent/dir/train.py' }, /runs \/nonexistent\/dir\/train\.py, which does not exist\./);
  });

  it('lists the scripts a command names', () => {
    expect(runTargets('uv run /abs/train.py --fast x.sh')).toEqual(['/abs/train.py', 'x.sh']);
  });
});

describe('preflight: tags', () => {
  it('refuses a tag git cannot use as a branch, or one too long for a file name', async () => {
    const dir = makeWorkspace();
    await refused(dir, { tag: 'x'.repeat(300) }, /at most 100 characters/, /letters, digits/);
    await refused(dir, { tag: 'ends-with-dot.' }, /cannot name a git branch/);
    await refused(dir, { tag: 'a/b' }, /cannot name a git branch/);
  });

  it('tagProblem allows ordinary tags and explains the rules otherwise', () => {
    for (const ok of ['nov26', 'rope-scaling', 'v1.2_b', 'A'.repeat(100)]) expect(tagProblem(ok)).toBeNull();
    for (const bad of ['', 'a b', '-x', '.x', 'x.', 'a..b', 'x.lock', 'a/b', 'a@{1}', 'A'.repeat(101), 'é']) {
      expect(tagProblem(bad), bad).toMatch(/letters, digits/);
    }
  });
});

describe('preflight: the protocol and the files the loop writes', () => {
  it('refuses an empty or blank program.md', async () => {
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, 'program.md'), '  \n\n\t\n');
    git(dir, 'commit', '-qam', 'blank protocol');
    await refused(dir, {}, /program\.md is empty/, /write the research protocol/);
  });

  it('refuses a results.tsv that is a directory, naming it and the fix', async () => {
    const dir = makeWorkspace();
    fs.mkdirSync(path.join(dir, 'results.tsv'));
    await refused(dir, {}, new RegExp(`${dir}/results\\.tsv is a directory`), /Move it aside/);
  });

  it('refuses a .autoresearch that is a file', async () => {
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, '.autoresearch'), 'not a directory');
    await refused(dir, {}, /\.autoresearch is a file, not a directory/);
  });
});

describe('uncommitted changes left by a killed run of this tag', () => {
  it('are not the user\'s: with an experiment of this tag in flight (one state file each), the start recovers rather than refuses', async () => {
    const dir = makeWorkspace();
    await start(dir); // the baseline: the branch autoresearch/test and its best exist
    // Killed while the main checkout was being moved onto a kept commit: a tracked file half-updated.
    fs.appendFileSync(path.join(dir, 'train.py'), '# half-written by a reset that was killed\n');
    const state = path.join(dir, '.autoresearch/test/inflight/0001.json');
    fs.mkdirSync(path.dirname(state), { recursive: true });
    fs.writeFileSync(state, JSON.stringify({ experiment: 1, phase: 'waiting', base: git(dir, 'rev-parse', 'HEAD'), commit: null, description: null, startedAt: new Date().toISOString() }));
    const result = await start(dir);
    expect(result.exitCode).toBe(0);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(fs.existsSync(state)).toBe(false);
  });

  it('without one, are the user\'s work: refused', async () => {
    const dir = makeWorkspace();
    await start(dir);
    fs.appendFileSync(path.join(dir, 'train.py'), '# my own edit\n');
    await refused(dir, {}, /Uncommitted changes in tracked files: train\.py/);
  });
});
