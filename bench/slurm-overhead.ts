// What the SLURM executor costs per run against the local one, on a real single-node SLURM started
// here (tests/helpers/slurm.ts: root and Debian's packages needed). A run is `echo`: everything
// measured is the executor's (and the queue's) own time.
//   submit→start: from run() to the job's first command (the job prints its clock)
//   end→seen:     from the job's last command to run() returning (polling delay, sacct/scontrol)
//   polling cost: CPU of this process and its scontrol children per second of a running job
//
//   npm run bench:slurm [-- --runs 20]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalExecutor } from '../src/exec/local.js';
import { SlurmExecutor } from '../src/exec/slurm.js';
import type { Executor, RunSpec } from '../src/exec/types.js';
import { startSlurm } from '../tests/helpers/slurm.js';
import { machineLine, median } from './harness.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const RUNS = Number(values.runs);
const never = new AbortController().signal;

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const CMD = 'date +%s%N; echo "val_bpb: 1.0"; date +%s%N';

function spec(env: NodeJS.ProcessEnv): RunSpec {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-bench-slurm-'));
  return { cmd: CMD, cwd, logPath: path.join(cwd, 'run.log'), env: env as Record<string, string>, timeoutSec: 60, name: 'autoresearch bench #1' };
}

async function timeRuns(ex: Executor, env: NodeJS.ProcessEnv): Promise<{ wall: number; toStart: number; endToSeen: number }> {
  const wall: number[] = [];
  const toStart: number[] = [];
  const endToSeen: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const s = spec(env);
    const t0 = nowNs();
    await ex.run(s, never);
    const t1 = nowNs();
    const stamps = fs.readFileSync(s.logPath, 'utf8').split('\n').filter((l) => /^\d{15,}$/.test(l)).map((l) => BigInt(l));
    wall.push(Number(t1 - t0) / 1e6);
    if (stamps.length === 2) {
      toStart.push(Number(stamps[0]! - t0) / 1e6);
      endToSeen.push(Number(t1 - stamps[1]!) / 1e6);
    }
    fs.rmSync(s.cwd, { recursive: true, force: true });
  }
  return { wall: median(wall), toStart: median(toStart), endToSeen: median(endToSeen) };
}

/** CPU ms (ours + waited-for children) per second while one job runs 10 s. */
async function pollingCost(ex: Executor, env: NodeJS.ProcessEnv): Promise<number> {
  const children = () => {
    const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[13]) + Number(f[14])) * 1000) / 100; // cutime + cstime, in clock ticks of 1/100 s
  };
  const s = { ...spec(env), cmd: 'sleep 10' };
  const self0 = process.cpuUsage();
  const kids0 = children();
  const t0 = Date.now();
  await ex.run(s, never);
  const secs = (Date.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const ms = (self.user + self.system) / 1000 + (children() - kids0);
  fs.rmSync(s.cwd, { recursive: true, force: true });
  return ms / secs;
}

const cluster = await startSlurm();
if (!cluster) process.exit(0);
try {
  const rows: string[] = [];
  const row = (name: string, r: { wall: number; toStart: number; endToSeen: number }, cpu: number) =>
    rows.push(`| ${name} | ${r.wall.toFixed(0)} | ${r.toStart.toFixed(0)} | ${r.endToSeen.toFixed(0)} | ${cpu.toFixed(1)} |`);
  const local = new LocalExecutor(null);
  row('local (process group)', await timeRuns(local, cluster.env), await pollingCost(local, cluster.env));
  for (const pollMs of [200, 1000, 2000]) {
    const ex = new SlurmExecutor({ env: cluster.env, pollMs });
    row(`slurm, poll every ${pollMs} ms${pollMs === 2000 ? ' (default)' : ''}`, await timeRuns(ex, cluster.env), await pollingCost(ex, cluster.env));
  }
  console.log(machineLine());
  console.log(`${RUNS} runs of \`${CMD}\` each, medians; slurm ${cluster.cmd('sinfo', '--version').trim()}, proctrack/${cluster.proctrack}\n`);
  console.log('| executor | ms per run | submit → start (ms) | end → seen (ms) | CPU ms per s while a job runs |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(r);
} finally {
  await cluster.stop();
}
