// Every guard holds against a scripted model: the editor refuses paths outside the repository
// (symlinks included) and non-editable files; whatever a bash command does to HEAD, branches,
// refs, read-only files or the set of files is undone and reported; bash's time limit kills the
// whole process tree; Ctrl+C stops the agent at once.

import { mkdirSync, mkdtempSync, readFileSync, existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { startFakeApi, say, turn, useTool, type FakeApi, type Reply } from '../../src/fakeapi/index.js';
import { restoreGitState, snapshotGitState } from '../../src/git/guard.js';
import { hostPid } from '../helpers/workspace.js';
import { cleanupRepos, collect, context, FAKE_KEY, git, lastToolResults, makeRepo, TRAIN_PY } from './helpers.js';

let api: FakeApi | null = null;
const outside: string[] = [];
afterEach(async () => {
  await api?.close();
  api = null;
  cleanupRepos();
  for (const d of outside.splice(0)) rmSync(d, { recursive: true, force: true });
});

function outsideDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ar-outside-'));
  outside.push(d);
  return d;
}

const editor = (input: Record<string, unknown>) => useTool('str_replace_based_edit_tool', input);
const bash = (command: string) => useTool('bash', { command });
const submitTurn: Reply = turn(useTool('submit_experiment', { description: 'test change' }));

function agentFor(url: string, over: Partial<ConstructorParameters<typeof ClaudeAgent>[0]> = {}): ClaudeAgent {
  return new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: url, model: 'claude-sonnet-5-5', retryBaseMs: 5, ...over });
}

/** Alive and not a zombie. */
function alive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('editor guards', () => {
  it('refuses paths outside the repository, symlinks out of it, and writes to non-editable files; viewing inside is fine', async () => {
    const repo = makeRepo();
    const out = outsideDir();
    writeFileSync(path.join(out, 'target.py'), 'OUTSIDE = 1\n');
    symlinkSync(path.join(out, 'target.py'), path.join(repo, 'link.py')); // a symlink to a file outside
    symlinkSync(out, path.join(repo, 'linkdir')); // a symlink to a directory outside
    symlinkSync('prepare.py', path.join(repo, 'alias.py')); // an editable name that is really prepare.py
    const editable = ['train.py', 'link.py', 'linkdir/new.py', 'alias.py'];

    api = await startFakeApi((_b, i) =>
      i === 0
        ? turn(
            say('Trying everything at once.'),
            editor({ command: 'view', path: '/etc/hostname' }),
            editor({ command: 'create', path: '../escape.py', file_text: 'x' }),
            editor({ command: 'create', path: path.join(out, 'abs.py'), file_text: 'x' }),
            editor({ command: 'str_replace', path: 'link.py', old_str: 'OUTSIDE = 1', new_str: 'OUTSIDE = 2' }),
            editor({ command: 'create', path: 'linkdir/new.py', file_text: 'x' }),
            editor({ command: 'str_replace', path: 'alias.py', old_str: 'fixed', new_str: 'hacked' }),
            editor({ command: 'str_replace', path: 'prepare.py', old_str: 'fixed', new_str: 'hacked' }),
            editor({ command: 'create', path: 'program.md', file_text: 'new rules' }),
            editor({ command: 'create', path: 'results.tsv', file_text: 'forged' }),
            editor({ command: 'create', path: '.git/hooks/pre-commit', file_text: 'evil' }),
            editor({ command: 'view', path: 'prepare.py' }),
            editor({ command: 'insert', path: 'train.py', insert_line: 0, insert_text: '# tuned\n' }),
          )
        : submitTurn,
    );
    const proposal = await agentFor(api.url).propose(context(repo, { editable }), new AbortController().signal, () => {});
    expect(proposal.kind).toBe('submitted');

    const results = lastToolResults(api.requests[1]!.body);
    expect(results).toHaveLength(12);
    const refused = results.slice(0, 10);
    for (const r of refused) expect(r.is_error, r.content).toBe(true);
    expect(refused[0]!.content).toMatch(/outside the repository/);
    expect(refused[1]!.content).toMatch(/outside the repository/);
    expect(refused[2]!.content).toMatch(/outside the repository/);
    expect(refused[3]!.content).toMatch(/outside the repository/);
    expect(refused[4]!.content).toMatch(/outside the repository/);
    expect(refused[5]!.content).toMatch(/prepare\.py is not editable/);
    expect(refused[6]!.content).toMatch(/prepare\.py is not editable/);
    expect(refused[7]!.content).toMatch(/program\.md is not editable/);
    expect(refused[8]!.content).toMatch(/results\.tsv is not editable/);
    expect(refused[9]!.content).toMatch(/inside \.git/);
    expect(results[10]).toMatchObject({ content: expect.stringContaining('DATA = "fixed"') });
    expect(results[10]!.is_error).toBeUndefined();
    expect(results[11]!.is_error).toBeUndefined();

    expect(readFileSync(path.join(out, 'target.py'), 'utf8')).toBe('OUTSIDE = 1\n');
    expect(existsSync(path.join(out, 'new.py'))).toBe(false);
    expect(existsSync(path.join(out, 'abs.py'))).toBe(false);
    expect(existsSync(path.join(repo, '..', 'escape.py'))).toBe(false);
    expect(readFileSync(path.join(repo, 'prepare.py'), 'utf8')).toBe('DATA = "fixed"\n');
    expect(readFileSync(path.join(repo, 'program.md'), 'utf8')).toBe('# program\nImprove val_bpb.\n');
    expect(existsSync(path.join(repo, 'results.tsv'))).toBe(false);
    expect(existsSync(path.join(repo, '.git/hooks/pre-commit'))).toBe(false);
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toBe(`# tuned\n${TRAIN_PY}`);
  });
});

describe('bash guards', () => {
  it('undoes commits, branch switches, new/deleted refs and tags, edits to read-only files, deletions and stray files; says so', async () => {
    const repo = makeRepo();
    git(repo, 'branch', 'keepme');
    const head = git(repo, 'rev-parse', 'HEAD');
    const refsBefore = git(repo, 'for-each-ref', '--format=%(objectname) %(refname)');
    const commands = [
      `echo '# sneaky' >> train.py && git commit -qam "sneaky commit"`, // moves the branch; the edit itself is allowed
      'git checkout -q -b elsewhere', // switches HEAD to a new branch
      'git branch -D -q keepme && git tag v1 && git branch tmp', // deletes one ref, creates two
      'echo hacked >> prepare.py && git add prepare.py', // edits (and stages) a read-only file
      'rm program.md', // deletes a read-only file
      'touch stray.txt && mkdir -p junk/deep && echo x > junk/deep/f.txt && echo log > run.log', // stray files; run.log is ignored
      'git checkout -q --detach', // detaches HEAD
      'echo fine', // does nothing wrong
    ];
    api = await startFakeApi((_b, i) => (i < commands.length ? turn(bash(commands[i]!)) : submitTurn));
    const { activity, on } = collect();
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, on);
    expect(proposal.kind).toBe('submitted');

    const result = (i: number) => lastToolResults(api!.requests[i + 1]!.body)[0]!;
    expect(result(0)).toMatchObject({ is_error: true, content: expect.stringMatching(/ref refs\/heads\/autoresearch\/test moved .*put back/) });
    expect(result(1)).toMatchObject({ is_error: true, content: expect.stringMatching(/HEAD was switched to branch elsewhere: put back on branch autoresearch\/test[\s\S]*refs\/heads\/elsewhere was created/) });
    expect(result(2).content).toMatch(/refs\/heads\/keepme was deleted: recreated/);
    expect(result(2).content).toMatch(/refs\/tags\/v1 was created .*deleted/);
    expect(result(2).content).toMatch(/refs\/heads\/tmp was created .*deleted/);
    expect(result(3)).toMatchObject({ is_error: true, content: expect.stringMatching(/prepare\.py is not editable: restored from HEAD/) });
    expect(result(4).content).toMatch(/program\.md is not editable: restored from HEAD/);
    expect(result(5).content).toMatch(/stray\.txt is a stray new file: removed/);
    expect(result(5).content).toMatch(/junk\/deep\/f\.txt is a stray new file: removed/);
    expect(result(5).content).not.toMatch(/run\.log/);
    expect(result(6).content).toMatch(/HEAD was detached at .*: put back on branch autoresearch\/test/);
    expect(result(7)).toMatchObject({ type: 'tool_result', content: 'fine\n' });
    expect(result(7).is_error).toBeUndefined();

    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/autoresearch/test');
    expect(git(repo, 'for-each-ref', '--format=%(objectname) %(refname)')).toBe(refsBefore);
    expect(readFileSync(path.join(repo, 'prepare.py'), 'utf8')).toBe('DATA = "fixed"\n');
    expect(readFileSync(path.join(repo, 'program.md'), 'utf8')).toBe('# program\nImprove val_bpb.\n');
    expect(existsSync(path.join(repo, 'stray.txt'))).toBe(false);
    expect(existsSync(path.join(repo, 'junk'))).toBe(false);
    expect(existsSync(path.join(repo, 'run.log'))).toBe(true);
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toContain('# sneaky');
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('M train.py');

    const undoneResults = activity.filter((a) => a.kind === 'tool-result' && a.isError);
    expect(undoneResults.length).toBe(7);
  });

  it("puts back git's config and hooks, and finds strays hidden by a changed .gitignore", async () => {
    const repo = makeRepo();
    const config = readFileSync(path.join(repo, '.git', 'config'), 'utf8');
    const snap = await snapshotGitState(repo);
    git(repo, 'config', 'core.hooksPath', '/tmp/evil-hooks');
    writeFileSync(path.join(repo, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho planted\n', { mode: 0o755 });
    writeFileSync(path.join(repo, '.gitignore'), 'sneaky.py\n', { flag: 'a' });
    writeFileSync(path.join(repo, 'sneaky.py'), 'import os\n');
    writeFileSync(path.join(repo, '.git', 'index.lock'), '');
    const undone = await restoreGitState(repo, snap, ['train.py']);
    expect(undone).toEqual(
      expect.arrayContaining([
        '.git/config was changed: put back',
        '.git/hooks/pre-commit was created: removed',
        '.git/index.lock was left behind by an interrupted git command: removed',
        '.gitignore is not editable: restored from HEAD',
        'sneaky.py is a stray new file: removed',
      ]),
    );
    expect(readFileSync(path.join(repo, '.git', 'config'), 'utf8')).toBe(config);
    expect(existsSync(path.join(repo, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(existsSync(path.join(repo, 'sneaky.py'))).toBe(false);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toBe('');
  });

  it('puts back untracked files that existed before and were deleted; leaves changed ones and .autoresearch alone', async () => {
    const repo = makeRepo(['!results.tsv']); // results.tsv not ignored here
    writeFileSync(path.join(repo, 'results.tsv'), 'commit\tval_bpb\n');
    writeFileSync(path.join(repo, 'notes.md'), 'mine\n'); // untracked, the user's
    const snap = await snapshotGitState(repo);
    // An untracked file that existed before may have a writer of its own (a redirected log): a
    // change to it is never rewritten. (The loop's results.tsv is ignored, so the guard never sees it.)
    writeFileSync(path.join(repo, 'results.tsv'), 'commit\tval_bpb\nforged\t0.1\n');
    rmSync(path.join(repo, 'notes.md'));
    mkdirSync(path.join(repo, '.autoresearch', 't'), { recursive: true });
    writeFileSync(path.join(repo, '.autoresearch', 't', 'x.jsonl'), '{}\n');
    const undone = await restoreGitState(repo, snap, ['train.py']);
    expect(undone.sort()).toEqual(['notes.md was reverted: put back as it was before the command']);
    expect(readFileSync(path.join(repo, 'results.tsv'), 'utf8')).toBe('commit\tval_bpb\nforged\t0.1\n');
    expect(readFileSync(path.join(repo, 'notes.md'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(repo, '.autoresearch', 't', 'x.jsonl'))).toBe(true);
    expect(await restoreGitState(repo, snap, ['train.py'])).toEqual([]);
  });

  it('kills the whole process tree past the time limit', async () => {
    const repo = makeRepo();
    const mark = `guards-${process.pid}-limit`; // in the child's environment: hostPid tells it from a process of a later namespace with the same number
    api = await startFakeApi((_b, i) => (i === 0 ? turn(bash(`AUTORESEARCH_RUN=${mark} sleep 600 & echo "CHILD=$! $(readlink /proc/self/ns/pid) ${mark}"; sleep 600; wait`)) : i === 1 ? turn(editor({ command: 'str_replace', path: 'train.py', old_str: 'LR = 0.02', new_str: 'LR = 0.03' })) : submitTurn));
    const started = Date.now();
    // The limit must outlast the shell's start and its echo (a fraction of a second), on a busy machine too.
    const proposal = await agentFor(api.url, { bashTimeoutMs: 4000 }).propose(context(repo), new AbortController().signal, () => {});
    expect(Date.now() - started).toBeLessThan(60_000); // killed at the limit, not waited for: the tree would sleep 600 s
    expect(proposal.kind).toBe('submitted');
    const r = lastToolResults(api.requests[1]!.body)[0]!;
    expect(r.is_error).toBe(true);
    expect(r.content).toMatch(/stopped after 4 s, its whole process tree killed/);
    // The pid as the (possibly sandboxed) shell saw it, with its PID namespace and marker: mapped to ours.
    const child = /CHILD=(\d+ \S+ \S+)/.exec(r.content)?.[1] ?? '';
    expect(Number(child.split(' ')[0])).toBeGreaterThan(0);
    expect(alive(hostPid(child))).toBe(false);
  });

  it('cuts long output to its head and tail', async () => {
    const repo = makeRepo();
    api = await startFakeApi((_b, i) => (i === 0 ? turn(bash('seq 1 200000')) : turn(say('ok'))));
    await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    const r = lastToolResults(api.requests[1]!.body)[0]!;
    expect(r.content.length).toBeLessThan(31_000);
    expect(r.content).toMatch(/^1\n2\n3\n/);
    expect(r.content).toMatch(/characters of output omitted/);
    expect(r.content).toMatch(/199999\n200000\n?$/);
  });

  it('stops at once on abort, killing a running command and leaving the repo on its rails', async () => {
    const repo = makeRepo();
    const mark = `guards-${process.pid}-abort`; // in the child's environment: hostPid tells it from a process of a later namespace with the same number
    api = await startFakeApi(() => turn(bash(`git checkout -q -b runaway; AUTORESEARCH_RUN=${mark} sleep 600 & echo "CHILD=$! $(readlink /proc/self/ns/pid) ${mark}" > run.log.tmp; mv run.log.tmp run.log; sleep 600`)));
    const ctl = new AbortController();
    const p = agentFor(api.url).propose(context(repo), ctl.signal, () => {});
    // Stopped once the command runs (its child has started and said so), not after a guessed delay.
    while (!existsSync(path.join(repo, 'run.log'))) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ctl.abort();
    await expect(p).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(60_000); // not waited for: the command would sleep 600 s
    const child = /CHILD=(\d+ \S+ \S+)/.exec(readFileSync(path.join(repo, 'run.log'), 'utf8'))?.[1] ?? '';
    expect(Number(child.split(' ')[0])).toBeGreaterThan(0);
    expect(alive(hostPid(child))).toBe(false);
    expect(git(repo, 'symbolic-ref', 'HEAD')).toBe('refs/heads/autoresearch/test');
  });

  it('stops at once on abort while the API stream is stalled', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => ({ kind: 'stall', afterEvents: 2 }));
    const ctl = new AbortController();
    const p = agentFor(api.url).propose(context(repo), ctl.signal, () => {});
    // Stopped once the request has reached the server (which then stalls), not after a guessed delay.
    while (api.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ctl.abort();
    await expect(p).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(60_000); // not waited for: the stream would stall for the default 5 minutes
  });
});

describe('files someone else writes during a turn', () => {
  /** A real process appending numbered lines to `file` through a shell redirect (`>`, not `>>`), as `nohup … > night.log &` does. */
  function startWriter(repo: string, file: string): { stop: () => Promise<void> } {
    const child = spawn('/bin/sh', ['-c', `i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.01; done > ${file}`], { cwd: repo, stdio: 'ignore', detached: true });
    return {
      stop: async () => {
        process.kill(-child.pid!, 'SIGKILL');
        await new Promise((r) => child.once('exit', r));
      },
    };
  }

  const linesOf = (abs: string) => readFileSync(abs, 'utf8').split('\n').filter(Boolean);

  async function grown(abs: string, atLeast: number): Promise<void> {
    while (!existsSync(abs) || linesOf(abs).length < atLeast) await new Promise((r) => setTimeout(r, 20));
  }

  it('leaves a growing untracked log alone: no NUL bytes, every line present, nothing reported', async () => {
    const repo = makeRepo();
    const log = path.join(repo, 'night.log');
    const writer = startWriter(repo, 'night.log');
    try {
      await grown(log, 5);
      const snap = await snapshotGitState(repo);
      writeFileSync(path.join(repo, 'train.py'), TRAIN_PY.replace('LR = 0.02', 'LR = 0.03')); // the model's edit
      const before = linesOf(log).length;
      await grown(log, before + 10); // the log grows during the turn
      const undone = await restoreGitState(repo, snap, ['train.py']);
      expect(undone).toEqual([]);
      const after = linesOf(log).length;
      await grown(log, after + 10); // and keeps growing after the guard has run
    } finally {
      await writer.stop();
    }
    const bytes = readFileSync(log);
    expect(bytes.includes(0)).toBe(false);
    const lines = linesOf(log);
    expect(lines).toEqual(lines.map((_, i) => `line ${i}`));
  });

  it('puts back a pre-existing untracked file that was deleted, but does not rewrite one that changed', async () => {
    const repo = makeRepo();
    writeFileSync(path.join(repo, 'notes.md'), 'mine\n');
    writeFileSync(path.join(repo, 'scratch.txt'), 'first\n');
    const snap = await snapshotGitState(repo);
    rmSync(path.join(repo, 'notes.md'));
    writeFileSync(path.join(repo, 'scratch.txt'), 'first\nsecond\n');
    const undone = await restoreGitState(repo, snap, ['train.py']);
    expect(undone).toEqual(['notes.md was reverted: put back as it was before the command']);
    expect(readFileSync(path.join(repo, 'notes.md'), 'utf8')).toBe('mine\n');
    expect(readFileSync(path.join(repo, 'scratch.txt'), 'utf8')).toBe('first\nsecond\n');
  });

  it('still puts back a dirty tracked file that changed again', async () => {
    const repo = makeRepo();
    writeFileSync(path.join(repo, 'prepare.py'), 'DATA = "mine"\n');
    const snap = await snapshotGitState(repo);
    writeFileSync(path.join(repo, 'prepare.py'), 'DATA = "hacked"\n');
    expect(await restoreGitState(repo, snap, ['train.py'])).toEqual(['prepare.py was changed: put back as it was before the command']);
    expect(readFileSync(path.join(repo, 'prepare.py'), 'utf8')).toBe('DATA = "mine"\n');
  });
});
