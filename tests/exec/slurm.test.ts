// The SLURM executor against a real single-node SLURM (tests/helpers/slurm.ts): jobs submitted with
// sbatch, followed with scontrol/sacct, cancelled with scancel. Nothing here is mocked; where no
// cluster can be started, the whole file skips with one line.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmExecutor, JOB_MARKER } from '../../src/exec/slurm.js';
import type { RunRef, RunSpec, RunState } from '../../src/exec/types.js';
import { daemonPid, startController, startSlurm, type SlurmCluster } from '../helpers/slurm.js';

let cluster: SlurmCluster | null = null;
beforeAll(async () => {
  cluster = await startSlurm();
}, 900_000);
const made: string[] = [];
afterAll(async () => {
  await cluster?.stop();
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

function workdir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-slurm-run-'));
  made.push(dir);
  return dir;
}

function spec(cwd: string, cmd: string, over: Partial<RunSpec> = {}): RunSpec {
  return { cmd, cwd, logPath: path.join(cwd, 'run.log'), env: { ...cluster!.env, MY_SETTING: 'from-the-program' }, timeoutSec: 120, name: 'autoresearch t #3', ...over };
}

const executor = (args: string[] = [], over: ConstructorParameters<typeof SlurmExecutor>[0] = {}) => new SlurmExecutor({ args, env: cluster!.env, pollMs: 200, ...over });
const never = new AbortController().signal;

describe('SLURM executor on a real cluster', () => {
  it('runs the command as a job in the worktree, with the run environment, and reports its exit code', async (ctx) => {
    if (!cluster) return ctx.skip();
    const cwd = workdir();
    const refs: RunRef[] = [];
    const end = await executor().run(spec(cwd, 'echo "job=$SLURM_JOB_ID name=$SLURM_JOB_NAME dir=$(pwd) setting=$MY_SETTING"; exit 3'), never, { onStart: (r) => refs.push(r) });
    expect(refs).toHaveLength(1);
    const jobId = refs[0]!.jobId!;
    expect(jobId).toMatch(/^\d+$/);
    const log = fs.readFileSync(path.join(cwd, 'run.log'), 'utf8');
    expect(log.startsWith(JOB_MARKER)).toBe(true);
    expect(log).toContain(`job=${jobId} name=t#3 dir=${cwd} setting=from-the-program`);
    expect(end).toMatchObject({ exitCode: 3, signal: null, timedOut: false, interrupted: false });
    expect(end.crashReason).toBeUndefined();
  });

  it('reports a job that waits in the queue as pending with its reason, and counts the timeout from its start', async (ctx) => {
    if (!cluster) return ctx.skip();
    const cpus = cluster.cmd('sinfo', '-h', '-o', '%c').trim();
    // A job holding every CPU of the node until the test opens its gate: the next one must wait for it.
    const gate = path.join(workdir(), 'gate');
    const blocker = cluster.cmd('sbatch', '--parsable', `--cpus-per-task=${cpus}`, '--chdir', workdir(), '--output', '/dev/null', '--wrap', `until [ -e ${gate} ]; do sleep 0.1; done`).trim();
    const states: RunState[] = [];
    const cwd = workdir();
    // It waits in the queue longer than its timeout (the gate opens 6 s after it was seen pending),
    // then runs 2 s: within a 5 s timeout only if queue time does not count.
    let pendingSince: number | null = null;
    const end = await executor().run(spec(cwd, 'sleep 2; echo done', { timeoutSec: 5 }), never, {
      onTick: (_s, st) => {
        states.push(st);
        if (st.phase === 'pending') pendingSince ??= Date.now();
        if (pendingSince !== null && Date.now() - pendingSince >= 6000 && !fs.existsSync(gate)) fs.writeFileSync(gate, '');
      },
    });
    expect(fs.existsSync(gate)).toBe(true);
    expect(states.some((s) => s.phase === 'pending' && s.reason !== undefined)).toBe(true);
    expect(states.at(-1)?.phase).toBe('running');
    expect(end).toMatchObject({ exitCode: 0, timedOut: false });
    expect(fs.readFileSync(path.join(cwd, 'run.log'), 'utf8')).toContain('done');
    expect(cluster.queue()).not.toContain(blocker);
  });

  it('cancels a job that runs past --timeout (timed out), and on abort (interrupted): nothing left in the queue', async (ctx) => {
    if (!cluster) return ctx.skip();
    const late = await executor().run(spec(workdir(), 'sleep 300', { timeoutSec: 2 }), never);
    expect(late).toMatchObject({ timedOut: true, interrupted: false });
    const stop = new AbortController();
    let id = '';
    const run = executor().run(spec(workdir(), 'sleep 300'), stop.signal, {
      onStart: (r) => (id = r.jobId!),
      onTick: (_s, st) => {
        if (st.phase === 'running') stop.abort();
      },
    });
    const end = await run;
    expect(end).toMatchObject({ interrupted: true });
    expect(id).not.toBe('');
    expect(cluster.queue()).toEqual([]);
  });

  it('stopAllNow (a forced exit, the second Ctrl+C) cancels every job in flight at once', async (ctx) => {
    if (!cluster) return ctx.skip();
    const slurm = executor();
    let started = 0;
    const both = Promise.all(
      [workdir(), workdir()].map((cwd) => slurm.run(spec(cwd, 'sleep 300'), never, { onStart: () => started++ })),
    );
    const deadline = Date.now() + 30_000;
    while ((started < 2 || cluster.queue().length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(cluster.queue()).toHaveLength(2);
    slurm.stopAllNow();
    // Synchronous: cancelled before it returns. squeue may still list them as completing (CG) while the
    // node kills their processes, so the queue itself is asked to empty only soon after.
    expect(cluster.live()).toEqual([]);
    const drained = Date.now() + 30_000;
    while (cluster.queue().length > 0 && Date.now() < drained) await new Promise((r) => setTimeout(r, 100));
    expect(cluster.queue()).toEqual([]);
    const ends = await both;
    for (const end of ends) expect(end.exitCode).not.toBe(0);
  });

  it("a job over its --mem ends as OUT_OF_MEMORY: crash reason OOM", async (ctx) => {
    if (!cluster) return ctx.skip();
    const hog = `python3 -c "
import time
a = []
for i in range(60):
    a.append(bytearray(10 * 1024 * 1024)); time.sleep(0.05)
print('survived')
"`;
    const end = await executor(['--mem=50M']).run(spec(workdir(), hog), never);
    expect(end.crashReason).toBe('OOM');
    expect(end.exitCode).not.toBe(0);
  });

  it('a job the cluster refuses (no such partition) is a crash saying why', async (ctx) => {
    if (!cluster) return ctx.skip();
    const cwd = workdir();
    const end = await executor(['--partition=nosuchpartition']).run(spec(cwd, 'echo hi'), never);
    expect(end.crashReason).toMatch(/^sbatch refused the job: .*partition/i);
    expect(fs.readFileSync(path.join(cwd, 'run.log'), 'utf8')).toMatch(/sbatch refused the job/);
  });

  it('a job whose output does not reach the log we read is a crash that names the shared filesystem', async (ctx) => {
    if (!cluster) return ctx.skip();
    const cwd = workdir();
    // Stands in for a node that writes its own copy of the path: the first line never reaches our file.
    const end = await executor([], { markerGraceMs: 1000 }).run(spec(cwd, ': > run.log; echo val_bpb: 1.0'), never);
    expect(end.crashReason).toBe('job output not on a shared filesystem');
    expect(fs.readFileSync(path.join(cwd, 'run.log'), 'utf8')).toMatch(/must be on a filesystem the compute nodes share/);
  });

  it('a job lost with its node (NODE_FAIL) is submitted once more, and that one counts', async (ctx) => {
    if (!cluster) return ctx.skip();
    const node = cluster.cmd('sinfo', '-h', '-o', '%N').trim();
    const cwd = workdir();
    const refs: RunRef[] = [];
    const states: RunState[] = [];
    let downed = false;
    const end = await executor().run(spec(cwd, 'sleep 3; echo second-try-done'), never, {
      onStart: (r) => refs.push(r),
      onTick: (_s, st) => {
        states.push(st);
        if (st.phase === 'running' && !downed) {
          downed = true;
          // The node fails under the first job; it comes back a moment later for the second.
          cluster!.cmd('scontrol', 'update', `nodename=${node}`, 'state=down', 'reason=test');
          setTimeout(() => {
            try {
              cluster!.cmd('scontrol', 'update', `nodename=${node}`, 'state=resume');
            } catch {
              // already back by itself (ReturnToService=2 once slurmd answers)
            }
          }, 2000);
        }
      },
    });
    expect(refs).toHaveLength(2);
    expect(refs[0]!.jobId).not.toBe(refs[1]!.jobId);
    expect(cluster.cmd('scontrol', 'show', 'job', '-o', refs[0]!.jobId!)).toMatch(/JobState=NODE_FAIL/);
    expect(end).toMatchObject({ exitCode: 0 });
    expect(end.crashReason).toBeUndefined();
    expect(fs.readFileSync(path.join(cwd, 'run.log'), 'utf8')).toContain('second-try-done');
    await waitForIdle(cluster);
  });

  it('stopLost cancels a job a killed program left queued or running, and says false once it is gone', async (ctx) => {
    if (!cluster) return ctx.skip();
    const jobId = cluster.cmd('sbatch', '--parsable', '--chdir', workdir(), '--output', '/dev/null', '--wrap', 'sleep 300').trim();
    const ex = executor();
    expect(await ex.stopLost({ executor: 'slurm', jobId })).toBe(true);
    expect(cluster.queue()).not.toContain(jobId);
    expect(await ex.stopLost({ executor: 'slurm', jobId })).toBe(false);
  });

  it('waits out a controller that is down (sbatch retried), and reads a job the controller forgot from sacct', async (ctx) => {
    if (!cluster) return ctx.skip();
    const ctld = daemonPid(cluster, 'slurmctld')!;
    process.kill(ctld, 'SIGTERM');
    while (isAlive(ctld)) await new Promise((r) => setTimeout(r, 100));
    const cwd = workdir();
    // sbatch through a wrapper that notes each exit status: the controller comes back once an sbatch has failed against it.
    const { env, exits } = countingSbatch(cluster.env);
    const run = executor([], { patienceMs: 120_000, env }).run(spec(cwd, 'echo survived; exit 4', { env: { ...env, MY_SETTING: 'from-the-program' } }), never);
    while (!exits().some((code) => code !== 0)) await new Promise((r) => setTimeout(r, 50));
    startController(cluster);
    const end = await run;
    expect(end).toMatchObject({ exitCode: 4 });
    expect(fs.readFileSync(path.join(cwd, 'run.log'), 'utf8')).toContain('survived');
    // A job past MinJobAge is gone from the controller: `scontrol show job` says "Invalid job id".
    const jobId = fs.readFileSync(path.join(cwd, 'run.log'), 'utf8').split('\n')[0]!.split(' ')[3]!;
    const restarted = daemonPid(cluster, 'slurmctld')!;
    process.kill(restarted, 'SIGTERM');
    while (isAlive(restarted)) await new Promise((r) => setTimeout(r, 100));
    cluster.cmd('slurmctld', '-c', '-f', cluster.env.SLURM_CONF!); // -c: forget every job
    await waitForIdle(cluster);
    expect(() => cluster!.cmd('scontrol', 'show', 'job', jobId)).toThrow();
    expect(await executor().query(jobId)).toMatchObject({ state: 'FAILED', exitCode: 4 });
  }, 180_000);
});

describe('SLURM executor where there is no SLURM', () => {
  it('check() says sbatch is missing, and what to do', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-nopath-'));
    const problem = await new SlurmExecutor({ env: { PATH: empty } }).check();
    expect(problem).toMatch(/^--executor slurm: sbatch was not found on PATH\. Run autoresearch on a SLURM login node/);
  });

  it('check() says the controller does not answer', async (ctx) => {
    if (!cluster) return ctx.skip();
    // The same cluster's configuration, but a port nobody listens on.
    const conf = path.join(cluster.dir, 'elsewhere.conf');
    fs.writeFileSync(conf, fs.readFileSync(cluster.env.SLURM_CONF!, 'utf8').replace(/^SlurmctldPort=\d+/m, 'SlurmctldPort=9'));
    const problem = await new SlurmExecutor({ env: { ...cluster.env, SLURM_CONF: conf } }).check();
    expect(problem).toMatch(/^--executor slurm: the SLURM controller does not answer/);
  });
});

/** The cluster's environment with sbatch wrapped: every call appends its exit status to a file, read by exits(). */
function countingSbatch(clusterEnv: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; exits: () => number[] } {
  const bin = workdir();
  const log = path.join(bin, 'sbatch-exits');
  const real = execFileSync('sh', ['-c', 'command -v sbatch'], { env: clusterEnv, encoding: 'utf8' }).trim();
  fs.writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\n"${real}" "$@"\ncode=$?\necho $code >> "${log}"\nexit $code\n`, { mode: 0o755 });
  return {
    env: { ...clusterEnv, PATH: `${bin}:${clusterEnv['PATH'] ?? ''}` },
    exits: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number) : []),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForIdle(c: SlurmCluster): Promise<void> {
  for (let i = 0; i < 120; i++) {
    try {
      if (c.cmd('sinfo', '-h', '-o', '%T').trim() === 'idle') return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the cluster did not come back');
}
