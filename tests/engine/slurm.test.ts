// The whole loop with --executor slurm on a real single-node SLURM (tests/helpers/slurm.ts): every
// run, the baseline included, is a batch job in its experiment's worktree. Where no cluster can be
// started, the file skips with one line.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import type { EngineConfig, EngineEvent } from '../../src/engine/types.js';
import { SlurmExecutor } from '../../src/exec/slurm.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { startSlurm, type SlurmCluster } from '../helpers/slurm.js';
import { git, makeWorkspace, PID_FILE_PY, pidFile, PlannedAgent, STAND_IN_TRAINER } from '../helpers/workspace.js';

const DRIVER = path.resolve('tests/fixtures/drive-loop.mjs');

let cluster: SlurmCluster | null = null;
beforeAll(async () => {
  cluster = await startSlurm();
}, 900_000);
afterAll(async () => {
  await cluster?.stop();
});

/**
 * A trainer that says which SLURM job it runs in; with `meet`, it waits until another run has
 * started too, and until the test has seen a run reported running with its job (the file `seen`):
 * a run that ended within the second between the loop's reports would show none.
 */
const JOB_TRAINER = (value: number, meet = false) => `# stand-in trainer that reports its SLURM job
import glob, hashlib, os, sys, tempfile, time
print("slurm_job_id: " + os.environ.get("SLURM_JOB_ID", "none"), flush=True)
if ${meet ? 'True' : 'False'}:
    mine = ${PID_FILE_PY('meet-')} + os.environ["SLURM_JOB_ID"]
    open(mine, "w").close()
    deadline = time.time() + 60
    while len(glob.glob(${PID_FILE_PY('meet-')} + "*")) < 2 or not os.path.exists(${PID_FILE_PY('seen')}):
        if time.time() > deadline:
            sys.exit("no other run started while this one ran, or none was reported running")
        time.sleep(0.2)
print("---")
print(f"val_bpb:          {${value}:.6f}")
print("env_key_seen:     " + ("yes" if any(k.startswith("ANTHROPIC") for k in os.environ) else "no"))
`;

const MEMORY_HOG = `# stand-in trainer that needs far more memory than it was given
import time
a = []
for i in range(60):
    a.append(bytearray(10 * 1024 * 1024)); time.sleep(0.05)
print("val_bpb: 0.5")
`;

function config(dir: string, over: Partial<EngineConfig> = {}): EngineConfig {
  return makeEngineConfig(dir, 'hpc', { runCmd: 'python3 train.py', timeoutSec: 120, fixAttempts: 0, sandbox: 'off', executor: 'slurm', ...over });
}

const slurm = (args: string[] = []) => new SlurmExecutor({ args, env: cluster!.env, pollMs: 200 });
const rowsOf = (dir: string) => readResultsFile(path.join(dir, 'results.tsv')).rows;

describe('the loop on SLURM', { timeout: 180_000 }, () => {
  it('runs the baseline and every experiment as SLURM jobs, two at once with --jobs 2, and leaves no job behind', async (ctx) => {
    if (!cluster) return ctx.skip();
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, 'train.py'), JOB_TRAINER(1.0));
    git(dir, 'commit', '-qam', 'the job trainer');
    // The planned agent writes STAND_IN_TRAINER; these experiments need the job trainer: written here.
    const values = [0.9, 0.8, 0.95, 0.7];
    const edits = { n: 0 };
    const events: EngineEvent[] = [];
    const result = await runLoop(
      config(dir, { jobs: 2, maxExperiments: values.length, lookahead: 0 }),
      {
        name: 'job-writer',
        async propose(ctx) {
          const value = values[edits.n++]!;
          fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), JOB_TRAINER(value, true));
          return { kind: 'submitted', description: `value ${value}`, usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 } };
        },
      },
      {
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'training' && e.state === 'running' && e.jobId !== undefined) fs.writeFileSync(pidFile(dir, 'seen'), '');
        },
        signal: new AbortController().signal,
        env: { ...cluster.env, ANTHROPIC_API_KEY: 'sk-ant-secret' },
      },
      slurm(),
    );
    expect(result.exitCode).toBe(0);
    const rows = rowsOf(dir);
    expect(rows.map((r) => r.status)).not.toContain('crash');
    expect(rows).toHaveLength(1 + values.length);
    // Each run's kept log: its own job, and no API key in its environment.
    const logs = fs.readdirSync(path.join(dir, '.autoresearch', 'hpc', 'logs')).map((f) => fs.readFileSync(path.join(dir, '.autoresearch', 'hpc', 'logs', f), 'utf8'));
    const jobIds = logs.map((l) => /slurm_job_id: (\d+)/.exec(l)?.[1]);
    expect(jobIds.every((id) => id !== undefined)).toBe(true);
    // One job per run (a log may be kept twice, e.g. when its experiment was superseded).
    expect(new Set(jobIds).size).toBeGreaterThanOrEqual(rows.length);
    expect(logs.every((l) => l.includes('env_key_seen:     no'))).toBe(true);
    // The dashboard's view: each run said which job it was, and when it ran.
    const ticks = events.filter((e): e is Extract<EngineEvent, { type: 'training' }> => e.type === 'training');
    expect(ticks.some((t) => t.state === 'running' && t.jobId !== undefined)).toBe(true);
    expect(cluster.queue()).toEqual([]);
    const meet = pidFile(dir, 'meet-');
    for (const f of fs.readdirSync(path.dirname(meet))) if (f.startsWith(path.basename(meet))) fs.rmSync(path.join(path.dirname(meet), f));
    fs.rmSync(pidFile(dir, 'seen'), { force: true });
  });

  it('a run over its --mem is a crash with reason OOM', async (ctx) => {
    if (!cluster) return ctx.skip();
    const dir = makeWorkspace();
    const result = await runLoop(
      config(dir, { maxExperiments: 1 }),
      {
        name: 'hog-writer',
        async propose(ctx) {
          fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), MEMORY_HOG);
          return { kind: 'submitted', description: 'bigger batch', usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 } };
        },
      },
      { onEvent: () => undefined, signal: new AbortController().signal, env: cluster.env },
      slurm(['--mem=100M']),
    );
    expect(result.exitCode).toBe(0);
    const rows = rowsOf(dir);
    expect(rows[1]).toMatchObject({ status: 'crash' });
    expect(rows[1]!.description).toMatch(/OOM/);
  });

  it('Ctrl+C cancels the running job: logged as interrupted, exit 130, nothing left in the queue', async (ctx) => {
    if (!cluster) return ctx.skip();
    const dir = makeWorkspace();
    const stop = new AbortController();
    const result = await runLoop(
      config(dir, { maxExperiments: 1 }),
      new PlannedAgent([{ value: 0.5, mode: 'hang', description: 'slow idea' }]),
      {
        onEvent: (e) => {
          if (e.type === 'training' && e.experiment === 1 && e.state === 'running') stop.abort('SIGINT');
        },
        signal: stop.signal,
        env: cluster.env,
      },
      slurm(),
    );
    expect(result.exitCode).toBe(130);
    expect(rowsOf(dir).at(-1)).toMatchObject({ status: 'crash' });
    expect(rowsOf(dir).at(-1)!.description).toMatch(/interrupted/);
    expect(cluster.queue()).toEqual([]);
  });

  it('kill -9 of the program: the next start cancels the job it left running', async (ctx) => {
    if (!cluster) return ctx.skip();
    if (!fs.existsSync(path.resolve('dist/exec/slurm.js'))) throw new Error('Build first: npm run build (npm test does it).');
    const dir = makeWorkspace();
    const planFile = path.join(dir, '.git', 'plan.json');
    fs.writeFileSync(planFile, JSON.stringify({ maxExperiments: 1, executor: 'slurm', sandbox: 'off', edits: [{ content: STAND_IN_TRAINER(0.5, 'hang'), description: 'hangs' }] }));
    const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, env: cluster.env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // The experiment's job is running once the state file of experiment 1 names a job that squeue lists.
    let jobId: string | undefined;
    for (let i = 0; i < 600 && jobId === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const state = path.join(dir, '.autoresearch', 'drill', 'inflight', '0001.json');
      const recorded = fs.existsSync(state) ? (JSON.parse(fs.readFileSync(state, 'utf8')) as { jobId?: string }).jobId : undefined;
      if (recorded && cluster.queue().includes(recorded)) jobId = recorded;
    }
    expect(jobId).toBeDefined();
    child.kill('SIGKILL');
    await exited;
    expect(cluster.queue()).toContain(jobId); // the job outlived the program
    const events: EngineEvent[] = [];
    const result = await runLoop(
      makeEngineConfig(dir, 'drill', { runCmd: 'python3 train.py', timeoutSec: 60, fixAttempts: 0, maxExperiments: 0, sandbox: 'off', executor: 'slurm' }),
      new PlannedAgent([]),
      { onEvent: (e) => events.push(e), signal: new AbortController().signal, env: cluster.env },
      slurm(),
    );
    expect(result.exitCode).toBe(0);
    const recovered = events.find((e): e is Extract<EngineEvent, { type: 'recovered' }> => e.type === 'recovered');
    expect(recovered?.message).toContain(`stopped the orphaned training run of experiment 1 (job ${jobId})`);
    expect(cluster.queue()).toEqual([]);
    expect(rowsOf(dir).at(-1)).toMatchObject({ status: 'crash' });
  });
});
