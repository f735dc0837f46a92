import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop, UsageError } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { acquireLock, LockError } from '../../src/ledger/lock.js';
import type { EngineConfig, EngineEvent } from '../../src/engine/types.js';
import { git, hostPid, makeWorkspace, pidAlive, pidFile, PlannedAgent, type Edit } from '../helpers/workspace.js';

const config = (dir: string, over: Partial<EngineConfig> = {}): EngineConfig =>
  makeEngineConfig(dir, 'test', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, lookahead: 0, baselineRuns: 1, confirmRuns: 0, ...over });

async function run(dir: string, plan: Edit[], over: Partial<EngineConfig> = {}, signal = new AbortController().signal, env?: NodeJS.ProcessEnv) {
  const events: EngineEvent[] = [];
  const agent = new PlannedAgent(plan);
  const result = await runLoop(config(dir, { maxExperiments: plan.length, ...over }), agent, { onEvent: (e) => events.push(e), signal, ...(env ? { env } : {}) });
  return { result, events, agent, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
}

const trainValue = (dir: string, rev: string) => /VALUE = ([\d.]+)/.exec(git(dir, 'show', `${rev}:train.py`))?.[1];

describe('the experiment loop', () => {
  it('keeps improvements, discards the rest, logs crashes, and the branch holds only kept commits', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    const start = git(dir, 'rev-parse', 'HEAD');
    const { result, rows } = await run(dir, [
      { value: 0.9, description: 'lower lr' },
      { value: 0.95, description: 'wider mlp' },
      { value: 0.5, mode: 'crash', description: 'bad idea' },
      { value: 0.9, sleep: 0.01, description: 'tie is not progress' },
      { value: 0.8, description: 'rope base 50k' },
    ]);
    expect(result.exitCode).toBe(0);
    expect(rows.map((r) => [r.status, r.value, r.description])).toEqual([
      ['keep', 1, 'baseline'],
      ['keep', 0.9, 'lower lr'],
      ['discard', 0.95, 'wider mlp'],
      ['crash', 0, 'bad idea (exit 1)'],
      ['discard', 0.9, 'tie is not progress'],
      ['keep', 0.8, 'rope base 50k'],
    ]);
    expect(rows.every((r) => r.commit.length === 7 && r.tag === 'test')).toBe(true);
    expect(rows[0]?.memoryGb).toBeCloseTo(44.0, 1);
    // The branch: the starting commit plus exactly the two kept experiments.
    expect(git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autoresearch/test');
    const onBranch = git(dir, 'log', '--format=%s', `${start}..HEAD`).split('\n');
    expect(onBranch).toEqual(['rope base 50k', 'lower lr']);
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(trainValue(dir, 'HEAD')).toBe('0.8');
    // Discarded and crashed ideas stay recoverable.
    const discarded = rows.filter((r) => r.status !== 'keep');
    for (const row of discarded) {
      const ref = `refs/autoresearch/test/discarded/${row.commit}`;
      expect(git(dir, 'rev-parse', '--short=7', ref)).toBe(row.commit);
    }
    expect(trainValue(dir, `refs/autoresearch/test/discarded/${rows[2]!.commit}`)).toBe('0.95');
    // Each experiment's log is kept.
    const logs = fs.readdirSync(path.join(dir, '.autoresearch/test/logs'));
    expect(logs).toHaveLength(6);
    // Our own files are invisible to git without touching the user's .gitignore.
    expect(fs.existsSync(path.join(dir, '.gitignore'))).toBe(false);
  });

  it('classifies OOM, NaN, missing metric and timeout crashes, and kills the timed-out tree', async () => {
    const dir = makeWorkspace();
    // The timeout must outlast every other run (the baseline's too) and the hanging run's start, on
    // a busy machine as well: 5 s, where a run takes a fraction of one. Only the hang waits it out.
    const { rows } = await run(
      dir,
      [
        { value: 0.5, mode: 'oom', description: 'huge batch' },
        { value: 0.5, mode: 'nan', description: 'lr 10' },
        { value: 0.5, mode: 'nometric', description: 'broke the summary' },
        { value: 0.5, mode: 'orphan', description: 'hangs with a child' },
      ],
      { timeoutSec: 5 },
    );
    expect(rows.slice(1).map((r) => r.description)).toEqual([
      'huge batch (OOM)',
      'lr 10 (nan)',
      'broke the summary (no val_bpb in log)',
      'hangs with a child (timeout)',
    ]);
    expect(rows.slice(1).every((r) => r.status === 'crash' && r.value === 0 && r.memoryGb === 0)).toBe(true);
    const orphan = fs.readFileSync(pidFile(dir, 'orphan.pid'), 'utf8');
    expect(Number(orphan.split(' ')[0])).toBeGreaterThan(0);
    expect(pidAlive(hostPid(orphan))).toBe(false);
  });

  it('lets the agent fix a crash inside the same experiment', async () => {
    const dir = makeWorkspace();
    const start = git(dir, 'rev-parse', 'HEAD');
    const { rows, agent } = await run(dir, [
      { value: 0.7, mode: 'crash', description: 'new attention' },
      { value: 0.7, description: 'new attention, fixed shape bug' },
    ], { fixAttempts: 1, maxExperiments: 1 });
    expect(rows.map((r) => [r.status, r.description])).toEqual([
      ['keep', 'baseline'],
      ['keep', 'new attention, fixed shape bug'],
    ]);
    const fixCtx = agent.contexts[1]!;
    expect(fixCtx.fix?.reason).toBe('exit 1');
    expect(fixCtx.fix?.logTail).toContain('RuntimeError: boom');
    // One commit for the experiment; the crashed attempt kept under a ref.
    expect(git(dir, 'rev-list', '--count', `${start}..HEAD`)).toBe('1');
    expect(git(dir, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/test/discarded/')).toMatch(/-crash$/);
  });

  it('resumes an existing branch without a second baseline', async () => {
    const dir = makeWorkspace();
    await run(dir, [{ value: 0.9, description: 'first' }]);
    git(dir, 'checkout', '-q', 'main');
    const second = await run(dir, [{ value: 0.85, description: 'second' }]);
    expect(second.rows.map((r) => r.description)).toEqual(['baseline', 'first', 'second']);
    const started = second.events.find((e) => e.type === 'started');
    expect(started?.type === 'started' && started.resumed).toBe(true);
    expect(second.agent.contexts[0]?.standing.best?.value).toBe(0.9);
    expect(second.agent.contexts[0]?.experiment).toBe(2);
  });

  it('never uses an experiment number twice in a tag: a skipped experiment that left a transcript is passed over on resume', async () => {
    const dir = makeWorkspace();
    await run(dir, [{ value: 0.9, description: 'first' }]);
    // Experiment 2 was drafted (its transcript written) and skipped: no row, no log.
    fs.mkdirSync(path.join(dir, '.autoresearch/test/transcripts'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.autoresearch/test/transcripts/0002.jsonl'), '{}\n', { flag: 'w' });
    const second = await run(dir, [{ value: 0.85, description: 'second' }]);
    expect(second.agent.contexts[0]?.experiment).toBe(3);
    expect(fs.readdirSync(path.join(dir, '.autoresearch/test/logs')).some((f) => f.startsWith('0003-'))).toBe(true);
  });

  it('keeps two tags apart in one results.tsv, each with its own baseline and best', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    await run(dir, [{ value: 0.9, description: 'a1' }], { tag: 'alpha' });
    git(dir, 'checkout', '-q', 'main');
    const beta = await run(dir, [{ value: 0.95, description: 'b1' }], { tag: 'beta' });
    expect(beta.rows.map((r) => [r.tag, r.description, r.status])).toEqual([
      ['alpha', 'baseline', 'keep'],
      ['alpha', 'a1', 'keep'],
      ['beta', 'baseline', 'keep'],
      ['beta', 'b1', 'keep'], // 0.95 beats beta's own baseline (1.0), not alpha's best (0.9)
    ]);
    expect(git(dir, 'branch', '--format=%(refname:short)').split('\n').sort()).toEqual(['autoresearch/alpha', 'autoresearch/beta', 'main']);
  });

  it('refuses to start over uncommitted work and touches nothing', async () => {
    const dir = makeWorkspace();
    fs.appendFileSync(path.join(dir, 'train.py'), '# my unsaved idea\n');
    const before = fs.readFileSync(path.join(dir, 'train.py'), 'utf8');
    await expect(run(dir, [{ value: 0.5, description: 'x' }])).rejects.toThrow(/Uncommitted changes in tracked files: train\.py/);
    expect(fs.readFileSync(path.join(dir, 'train.py'), 'utf8')).toBe(before);
    expect(git(dir, 'branch', '--format=%(refname:short)')).toBe('main');
    expect(fs.existsSync(path.join(dir, 'results.tsv'))).toBe(false);
  });

  it('rejects a missing program or run target with a usage error', async () => {
    const dir = makeWorkspace();
    await expect(run(dir, [], { programPath: 'nope.md' })).rejects.toBeInstanceOf(UsageError);
    await expect(run(dir, [], { runCmd: 'python3 missing.py' })).rejects.toThrow(/missing\.py, which does not exist/);
    await expect(run(dir, [], { runCmd: 'no-such-runner train.py' })).rejects.toThrow(/needs no-such-runner, which is not on PATH/);
    await expect(run(dir, [], { runCmd: 'uv run train.py' }, undefined, { PATH: '/nonexistent' })).rejects.toThrow(/Install uv/);
    expect(git(dir, 'branch', '--format=%(refname:short)')).toBe('main');
  });

  it('stops after a crashed baseline with a clear reason', async () => {
    const dir = makeWorkspace({ mode: 'crash' });
    const { result, rows } = await run(dir, [{ value: 0.5, description: 'never tried' }]);
    expect(result.exitCode).toBe(1);
    expect(result.reason).toMatch(/baseline run failed \(exit 1\)/);
    expect(rows.map((r) => [r.status, r.description])).toEqual([['crash', 'baseline (exit 1)']]);
  });

  it('puts back files the agent may not edit', async () => {
    const dir = makeWorkspace();
    // The agent works where it is told to: the experiment's worktree (ctx.repoDir).
    const agent = new PlannedAgent([{ value: 0.9, description: 'sneaky' }], (ctx) => {
      if (ctx.experiment === 1) {
        fs.writeFileSync(path.join(ctx.repoDir, 'prepare.py'), '# rigged evaluation\n');
        fs.writeFileSync(path.join(ctx.repoDir, 'stray.txt'), 'junk');
      }
    });
    const events: EngineEvent[] = [];
    await runLoop(config(dir, { maxExperiments: 1 }), agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal });
    expect(agent.contexts[0]?.repoDir).not.toBe(dir);
    const committed = events.find((e) => e.type === 'committed');
    expect(committed?.type === 'committed' && committed.restored).toEqual(['prepare.py is not editable: restored from HEAD', 'stray.txt is a stray new file: removed']);
    expect(fs.readFileSync(path.join(dir, 'prepare.py'), 'utf8')).toBe('# fixed evaluation\n');
    expect(fs.existsSync(path.join(dir, 'stray.txt'))).toBe(false);
    expect(git(dir, 'show', '--name-only', '--format=', 'HEAD')).toBe('train.py');
  });

  it('on Ctrl+C during training: stops the run, logs it as interrupted, resets to the best', async () => {
    const dir = makeWorkspace();
    const controller = new AbortController();
    const events: EngineEvent[] = [];
    const agent = new PlannedAgent([{ value: 0.5, mode: 'orphan', description: 'slow idea' }]);
    const done = runLoop(config(dir, { maxExperiments: 1 }), agent, {
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'training' && e.experiment === 1 && fs.existsSync(pidFile(dir, 'orphan.pid'))) controller.abort('SIGINT');
      },
      signal: controller.signal,
    });
    const result = await done;
    expect(result.exitCode).toBe(130);
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.map((r) => [r.status, r.description])).toEqual([
      ['keep', 'baseline'],
      ['crash', 'slow idea (interrupted)'],
    ]);
    expect(git(dir, 'rev-parse', '--short=7', 'HEAD')).toBe(rows[0]!.commit);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(pidAlive(hostPid(fs.readFileSync(pidFile(dir, 'orphan.pid'), 'utf8')))).toBe(false);
  });

  it('stops before the next experiment once --max-cost is reached, saying so', async () => {
    const dir = makeWorkspace();
    // Each planned experiment costs $0.01 of API usage.
    const { result, rows, events } = await run(dir, [0.9, 0.8, 0.7, 0.6].map((value, i) => ({ value, description: `idea ${i}` })), {
      maxExperiments: null,
      maxCostUsd: 0.02,
    });
    expect(result).toEqual({ exitCode: 0, reason: 'reached --max-cost $0.02 (spent $0.02)' });
    expect(rows.map((r) => r.description)).toEqual(['baseline', 'idea 0', 'idea 1']);
    expect(rows[1]?.usage.costUsd).toBeCloseTo(0.01);
    expect(events.at(-1)).toMatchObject({ type: 'finished', exitCode: 0 });
  });

  it('stops after five experiments in a row end without a change, pointing at the transcripts', async () => {
    const dir = makeWorkspace();
    const events: EngineEvent[] = [];
    // An agent that never changes anything: the plan is empty, so every proposal is a skip.
    const result = await runLoop(config(dir, { maxExperiments: 50 }), new PlannedAgent([]), { onEvent: (e) => events.push(e), signal: new AbortController().signal });
    expect(result.exitCode).toBe(1);
    expect(result.reason).toMatch(/^5 experiments in a row ended without a change \(last: plan exhausted\)\. Read the transcripts in \.autoresearch\/test\/transcripts\//);
    expect(events.filter((e) => e.type === 'skipped')).toHaveLength(5);
    expect(readResultsFile(path.join(dir, 'results.tsv')).rows.map((r) => r.description)).toEqual(['baseline']);
  });

  it('passes no ANTHROPIC_* variable to the training run', async () => {
    const dir = makeWorkspace();
    const events: EngineEvent[] = [];
    await runLoop(config(dir, { maxExperiments: 0 }), new PlannedAgent([]), {
      onEvent: (e) => events.push(e),
      signal: new AbortController().signal,
      env: { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-secret', HF_TOKEN: 'x' },
    });
    expect(fs.readFileSync(path.join(dir, 'run.log'), 'utf8')).toContain('env_key_seen:     no');
  });
});

describe('the lock', () => {
  it('refuses a live holder and takes over a dead one', async () => {
    const dir = makeWorkspace();
    const lockFile = path.join(dir, '.autoresearch', 'lock');
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    // A live holder: this very test process, seen from a "different" pid entry is not possible, so use the parent.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), tag: 'other', since: 'now' }));
    expect(() => acquireLock(lockFile, 'test')).toThrow(LockError);
    await expect(run(dir, [])).rejects.toThrow(/Another autoresearch run \(pid \d+, tag "other"/);
    // A dead holder: a pid that cannot exist.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), tag: 'other', since: 'then' }));
    const lock = acquireLock(lockFile, 'test');
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });
});

