// A real single-node SLURM for the tests, from Debian's packages (slurmctld slurmd slurm-client
// munge): installed if missing, configured in a private temp dir (own munge socket, ports, spool,
// state and logs, so two test files can each have one at once), started in the background with pid
// files, and stopped by those pids. Where it cannot be had (not root, no apt, daemons that will not
// start) startSlurm() says why in one line and returns null, and the tests skip.

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface SlurmCluster {
  dir: string;
  /** process.env plus SLURM_CONF: the environment every SLURM command (and the loop) needs to reach this cluster. */
  env: NodeJS.ProcessEnv;
  /** How jobs are tracked: cgroup (memory limits enforced by the kernel) or linuxproc (no cgroups usable here). */
  proctrack: 'cgroup' | 'linuxproc';
  /** Run a SLURM command against this cluster; its stdout. */
  cmd(name: string, ...args: string[]): string;
  /** Job ids still queued or running, or cancelled and still completing (their processes being killed). */
  queue(): string[];
  /** Job ids pending or running: not those already cancelled or ending, which squeue lists as completing for a moment. */
  live(): string[];
  stop(): Promise<void>;
}

const PACKAGES = ['slurmctld', 'slurmd', 'slurm-client', 'munge'];
const BINARIES = ['slurmctld', 'slurmd', 'sbatch', 'scontrol', 'munged'];

const onPath = (bin: string) => spawnSync('/bin/sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

function skip(why: string): null {
  console.log(`SLURM tests skipped: ${why}`);
  return null;
}

/** Install the packages where they are missing; the reason they cannot be, or null. */
function ensurePackages(): string | null {
  if (BINARIES.every(onPath)) return null;
  if (process.getuid?.() !== 0) return 'the SLURM packages are not installed and installing them needs root (apt-get install slurmctld slurmd slurm-client munge)';
  if (!onPath('apt-get')) return 'the SLURM packages are not installed and there is no apt-get to install them';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', ...PACKAGES], { env, stdio: 'ignore', timeout: 600_000 }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update', '-qq', '-o', 'DPkg::Lock::Timeout=300'], { env, stdio: 'ignore', timeout: 300_000 });
    if (!install()) return 'apt-get install slurmctld slurmd slurm-client munge failed';
  }
  return BINARIES.every(onPath) ? null : 'the SLURM packages installed, but their commands are not on PATH';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** cgroup v1 with a freezer we may write to: proctrack/cgroup and task/cgroup can work. */
function cgroupV1Usable(): boolean {
  const probe = `/sys/fs/cgroup/freezer/autoresearch-probe-${process.pid}`;
  try {
    if (!fs.existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes') && !fs.existsSync('/sys/fs/cgroup/memory/cgroup.procs')) return false;
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
    return true;
  } catch {
    return false;
  }
}

const ids = (out: string) => out.split('\n').map((s) => s.trim()).filter(Boolean);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopPid(pid: number | null): Promise<void> {
  if (pid === null || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function readPid(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function slurmConf(dir: string, o: { name: string; ctldPort: number; slurmdPort: number; nodeLine: string; proctrack: 'cgroup' | 'linuxproc'; firstJobId: number }): string {
  const host = os.hostname().split('.')[0]!;
  const cgroup = o.proctrack === 'cgroup';
  return [
    `ClusterName=${o.name}`,
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${o.ctldPort}`,
    `SlurmdPort=${o.slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${dir}/munge.sock`,
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldPidFile=${dir}/slurmctld.pid`,
    `SlurmdPidFile=${dir}/slurmd.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd.log`,
    `ProctrackType=proctrack/${o.proctrack}`,
    // The memory limit (--mem) is enforced by task/cgroup; without cgroups, by the accounting poller.
    `TaskPlugin=${cgroup ? 'task/cgroup' : 'task/none'}`,
    'SelectType=select/cons_tres',
    // Memory is a consumable (with a modest default per CPU) so that --mem becomes the job's limit.
    'SelectTypeParameters=CR_Core_Memory',
    'DefMemPerCPU=1024',
    'SchedulerType=sched/backfill',
    'SchedulerParameters=batch_sched_delay=0',
    `FirstJobId=${o.firstJobId}`,
    'MinJobAge=600',
    'KillWait=2',
    'ReturnToService=2',
    'InactiveLimit=0',
    'JobCompType=jobcomp/filetxt',
    `JobCompLoc=${dir}/jobcomp.txt`,
    'JobAcctGatherType=jobacct_gather/linux',
    'JobAcctGatherFrequency=task=1',
    ...(cgroup ? [] : ['JobAcctGatherParams=OverMemoryKill']),
    'AccountingStorageType=accounting_storage/none',
    'MpiDefault=none',
    `${o.nodeLine} NodeHostname=${host} NodeAddr=127.0.0.1 State=UNKNOWN`,
    'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

/** A running single-node cluster, or null (one line said why) where none can be had. */
export async function startSlurm(): Promise<SlurmCluster | null> {
  if (process.platform !== 'linux') return skip('SLURM needs Linux');
  if (process.getuid?.() !== 0) return skip('not root (the test cluster runs its daemons as root)');
  const missing = ensurePackages();
  if (missing) return skip(missing);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-slurm-'));
  fs.chmodSync(dir, 0o755); // munged wants its socket's directory reachable by all
  for (const sub of ['state', 'spool', 'log']) fs.mkdirSync(path.join(dir, sub));
  const key = path.join(dir, 'munge.key');
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o600 });
  const conf = path.join(dir, 'slurm.conf');
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const cmd = (name: string, ...args: string[]) => execFileSync(name, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const pids = { munged: null as number | null, slurmctld: null as number | null, slurmd: null as number | null };
  const stopDaemons = async () => {
    // Read again: a test may have restarted the controller.
    await stopPid(readPid(path.join(dir, 'slurmd.pid')) ?? pids.slurmd);
    await stopPid(readPid(path.join(dir, 'slurmctld.pid')) ?? pids.slurmctld);
    pids.slurmd = pids.slurmctld = null;
    fs.rmSync(path.join(dir, 'slurmd.pid'), { force: true });
    fs.rmSync(path.join(dir, 'slurmctld.pid'), { force: true });
  };
  const fail = async (why: string) => {
    await stopDaemons();
    await stopPid(pids.munged);
    const logs = ['slurmctld.log', 'slurmd.log']
      .map((f) => path.join(dir, 'log', f))
      .filter((f) => fs.existsSync(f))
      .map((f) => `${path.basename(f)}: ${fs.readFileSync(f, 'utf8').trim().split('\n').filter((l) => /error|fatal/i.test(l)).slice(-2).join(' | ')}`);
    fs.rmSync(dir, { recursive: true, force: true });
    return skip(`${why}${logs.length ? ` (${logs.join('; ')})` : ''}`);
  };

  const munged = spawnSync('munged', ['--force', `--socket=${dir}/munge.sock`, `--key-file=${key}`, `--log-file=${dir}/log/munged.log`, `--pid-file=${dir}/munged.pid`, `--seed-file=${dir}/munged.seed`], { stdio: 'ignore' });
  pids.munged = readPid(path.join(dir, 'munged.pid'));
  if (munged.status !== 0 || pids.munged === null) return fail('munged would not start');

  // The node as slurmd sees this machine; named per cluster so two clusters' cgroups and jobs never meet.
  const name = `ar${crypto.randomBytes(3).toString('hex')}`;
  const detected = cmd('slurmd', '-C').split('\n')[0] ?? '';
  const nodeLine = detected.replace(/^NodeName=\S+/, `NodeName=${name}`).replace(/\s*UpTime=\S+/, '');
  const base = { name, ctldPort: await freePort(), slurmdPort: await freePort(), nodeLine, firstJobId: 1000 + crypto.randomInt(1, 8_000_000) };
  const modes: ('cgroup' | 'linuxproc')[] = cgroupV1Usable() ? ['cgroup', 'linuxproc'] : ['linuxproc'];
  for (const proctrack of modes) {
    fs.writeFileSync(conf, slurmConf(dir, { ...base, proctrack }));
    fs.writeFileSync(path.join(dir, 'cgroup.conf'), 'CgroupPlugin=autodetect\nConstrainRAMSpace=yes\nConstrainSwapSpace=yes\n');
    spawnSync('slurmctld', ['-c', '-f', conf], { env, stdio: 'ignore' });
    spawnSync('slurmd', ['-N', name, '-f', conf], { env, stdio: 'ignore' });
    for (let i = 0; i < 60; i++) {
      pids.slurmctld ??= readPid(path.join(dir, 'slurmctld.pid'));
      pids.slurmd ??= readPid(path.join(dir, 'slurmd.pid'));
      const state = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout?.trim();
      if (state === 'idle') {
        const cluster: SlurmCluster = {
          dir,
          env,
          proctrack,
          cmd,
          queue: () => ids(cmd('squeue', '-h', '-o', '%i')),
          live: () => ids(cmd('squeue', '-h', '-t', 'PD,CF,R,S,ST', '-o', '%i')),
          stop: async () => {
            try {
              const left = cluster.queue();
              if (left.length) cmd('scancel', ...left);
            } catch {
              // the controller is already gone
            }
            await stopDaemons();
            await stopPid(pids.munged);
            fs.rmSync(dir, { recursive: true, force: true });
          },
        };
        return cluster;
      }
      await sleep(250);
    }
    await stopDaemons(); // try the next mode from scratch
    fs.rmSync(path.join(dir, 'state'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'state'));
  }
  return fail('slurmctld/slurmd did not bring the node up within 15 s');
}

/** Kill a daemon of the cluster by its pid file (for the tests of a controller that is down). */
export function daemonPid(cluster: SlurmCluster, daemon: 'slurmctld' | 'slurmd'): number | null {
  return readPid(path.join(cluster.dir, `${daemon}.pid`));
}

/** Start the controller again after a test stopped it. */
export function startController(cluster: SlurmCluster): void {
  spawnSync('slurmctld', ['-f', cluster.env.SLURM_CONF!], { env: cluster.env, stdio: 'ignore' });
}
