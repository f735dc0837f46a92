// The SLURM executor: each training run is a batch job (`sbatch --wrap`), submitted from the login
// node this program runs on, into the experiment's worktree on a filesystem the compute nodes share.
// SLURM decides where and when it runs; we poll `scontrol show job` (works without accounting),
// fall back to `sacct` once the controller has forgotten the job, count the timeout from the job's
// start, and scancel what we no longer want. Job ids go to the state files through onStart, so a
// restart after kill -9 cancels what is still queued or running.

import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { LocalExecutor } from './local.js';
import { crashReasonOf, isTransient, isUnknownJob, jobName, jobPhase, parseSacct, parseScontrolJob, retryable, signalName, type JobInfo } from './slurmjob.js';
import type { Executor, RunEnd, RunHooks, RunRef, RunSpec, RunState } from './types.js';
import { appendRegular, openForWrite, openRegular } from '../proc/untrusted-file.js';

/** The job's first line of output: proof that the node wrote into the worktree we read. */
export const JOB_MARKER = 'autoresearch: SLURM job';

export interface SlurmOptions {
  /** The user's --slurm-args, already split into words: the job's resources come only from these and the cluster's defaults. */
  args?: string[];
  /** Environment of scontrol, sacct and scancel (SLURM_CONF, PATH); sbatch gets the run's own, scrubbed one. */
  env?: NodeJS.ProcessEnv;
  /** How often a job's state is asked for. Each ask is one RPC to slurmctld per job in flight. */
  pollMs?: number;
  /** How long a controller that does not answer is waited for before the run fails (the loop then stops, resumable). */
  patienceMs?: number;
  /** How long after its start a running job's first line may take to show in the log before the filesystem is judged not shared. */
  markerGraceMs?: number;
}

class SlurmCommandError extends Error {
  override name = 'SlurmCommandError';
  constructor(
    message: string,
    readonly stderr: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Shown when sbatch or scontrol cannot be run here at all. */
export function missingCommandMessage(cmd: string): string {
  return (
    `--executor slurm: ${cmd} was not found on PATH. Run autoresearch on a SLURM login node (where sbatch, scontrol and scancel work), ` +
    `or put SLURM's commands on PATH first (e.g. module load slurm). Nothing was changed.`
  );
}

export function notSharedMessage(logPath: string): string {
  return `the job's output never reached ${logPath}: the repository (and its .autoresearch/ worktrees) must be on a filesystem the compute nodes share with this machine, not a local disk or /tmp`;
}

type Attempt = { end: RunEnd; lostState: string | null };

export class SlurmExecutor implements Executor {
  readonly name = 'slurm';
  private readonly args: string[];
  private readonly env: NodeJS.ProcessEnv;
  private readonly pollMs: number;
  private readonly patienceMs: number;
  private readonly markerGraceMs: number;
  /** Jobs submitted and not yet seen to end: a forced exit cancels them on the way out. */
  private readonly live = new Set<string>();

  constructor(opts: SlurmOptions = {}) {
    this.args = opts.args ?? [];
    this.env = opts.env ?? process.env;
    this.pollMs = opts.pollMs ?? 2000;
    this.patienceMs = opts.patienceMs ?? 10 * 60_000;
    this.markerGraceMs = opts.markerGraceMs ?? 60_000;
  }

  /** Why this machine cannot submit jobs (exit 2 before anything is touched), or null. */
  async check(): Promise<string | null> {
    for (const cmd of ['sbatch', 'scontrol', 'scancel']) {
      try {
        await this.exec(cmd, ['--version'], this.env, 0);
      } catch (err) {
        if (err instanceof SlurmCommandError && err.missing) return missingCommandMessage(cmd);
        return `--executor slurm: \`${cmd} --version\` failed: ${(err as Error).message}. Check the SLURM installation on this machine.`;
      }
    }
    try {
      const out = await this.exec('scontrol', ['ping'], this.env, 0);
      if (!/\bUP\b/.test(out)) throw new SlurmCommandError(out.trim(), out);
    } catch (err) {
      const said = ((err as Error).message.split('\n')[0] ?? '').trim();
      return (
        `--executor slurm: the SLURM controller does not answer (scontrol ping: ${said}). Check that slurmctld is up and that ` +
        `SLURM_CONF (or /etc/slurm/slurm.conf) names your cluster: sinfo should list its partitions. Nothing was changed.`
      );
    }
    return null;
  }

  async run(spec: RunSpec, signal: AbortSignal, hooks: RunHooks = {}): Promise<RunEnd> {
    // A job lost to its node (NODE_FAIL, PREEMPTED) is no verdict on the code: submitted once more.
    let attempt = await this.attempt(spec, signal, hooks);
    if (attempt.lostState !== null && !signal.aborted) {
      const first = attempt.lostState;
      attempt = await this.attempt(spec, signal, hooks);
      if (attempt.lostState !== null) return attempt.end;
      if (attempt.end.crashReason === undefined && attempt.end.exitCode !== 0) {
        appendRegular(spec.logPath, `autoresearch: an earlier submission of this run ended in ${first}\n`);
      }
    }
    return attempt.end;
  }

  private async attempt(spec: RunSpec, signal: AbortSignal, hooks: RunHooks): Promise<Attempt> {
    fs.closeSync(openForWrite(spec.logPath)); // never through a symlink the model's shell left (untrusted-file.ts); the log holds this submission only; a stale one would pass the marker check
    const script = `printf '%s\\n' "${JOB_MARKER} $SLURM_JOB_ID on $(hostname)"\n${spec.cmd}\n`;
    // Ours last, so they win over the user's; --no-requeue and --export first, so the user may override them.
    const args = ['--parsable', '--no-requeue', '--export=ALL', ...this.args];
    args.push('--chdir', spec.cwd, '--output', spec.logPath, '--job-name', jobName(spec.name), '--wrap', script);
    let jobId: string;
    try {
      const out = await this.exec('sbatch', args, { ...spec.env }, this.patienceMs, signal);
      const m = /^(\d+)/.exec(out.trim());
      if (!m) throw new SlurmCommandError(`sbatch printed no job id: ${out.trim()}`, out);
      jobId = m[1]!;
    } catch (err) {
      if (signal.aborted) return { end: ended({ interrupted: true }), lostState: null };
      if (err instanceof SlurmCommandError && !err.missing && !isTransient(err.stderr)) {
        // The cluster refused this job (a partition that does not exist, a bad --gres): a crash the log explains.
        appendRegular(spec.logPath, `autoresearch: sbatch refused the job: ${err.message}\n`);
        return { end: ended({ crashReason: `sbatch refused the job: ${oneLine(err.message)}` }), lostState: null };
      }
      throw err;
    }
    this.live.add(jobId);
    try {
      hooks.onStart?.({ executor: this.name, jobId });
    } catch (err) {
      // Unrecorded, no later start could cancel it: cancel it now.
      await this.cancel(jobId).catch(() => undefined);
      throw err;
    }
    try {
      return await this.follow(jobId, spec, signal, hooks);
    } finally {
      this.live.delete(jobId);
    }
  }

  stopAllNow(): void {
    // Synchronous on purpose: the process is about to exit and waits for nothing.
    if (this.live.size > 0) spawnSync('scancel', [...this.live], { env: this.env, stdio: 'ignore', timeout: 10_000 });
    this.live.clear();
  }

  /** Wait for the job to end: state polled, timeout counted from its start, cancelled on abort. */
  private async follow(jobId: string, spec: RunSpec, signal: AbortSignal, hooks: RunHooks): Promise<Attempt> {
    let state: RunState = { phase: 'pending' };
    let runningSince: number | null = null;
    let cancelled: 'interrupt' | 'timeout' | 'not-shared' | null = null;
    let markerSeen = false;
    let info: JobInfo | null = null;
    let unknownSince: number | null = null;
    const ticker = hooks.onTick
      ? setInterval(() => hooks.onTick?.(runningSince === null ? 0 : (Date.now() - runningSince) / 1000, state), 1000)
      : null;
    try {
      for (;;) {
        if (signal.aborted && cancelled !== 'interrupt') {
          cancelled = 'interrupt';
          await this.cancel(jobId);
        }
        info = await this.query(jobId);
        if (info === null) {
          // Neither scontrol nor sacct knows it: give the controller a moment (a just-submitted job), then give up.
          unknownSince ??= Date.now();
          if (Date.now() - unknownSince > Math.max(30_000, 5 * this.pollMs)) break;
        } else {
          unknownSince = null;
          const phase = jobPhase(info.state);
          if (phase === 'ended') break;
          if (phase === 'running') {
            runningSince ??= Date.now();
            state = { phase: 'running' };
          } else {
            runningSince = null; // requeued: its time starts again when it runs again
            state = { phase: 'pending', ...(info.reason ? { reason: info.reason } : {}) };
          }
        }
        if (runningSince !== null && cancelled === null) {
          const ran = Date.now() - runningSince;
          if (ran > spec.timeoutSec * 1000) {
            cancelled = 'timeout';
            await this.cancel(jobId);
          } else if (!markerSeen) {
            markerSeen = logHasMarker(spec.logPath);
            if (!markerSeen && ran > this.markerGraceMs) {
              cancelled = 'not-shared';
              await this.cancel(jobId);
            }
          }
        }
        await sleep(cancelled ? Math.min(250, this.pollMs) : this.pollMs, cancelled ? undefined : signal);
      }
    } finally {
      if (ticker) clearInterval(ticker);
    }
    const seconds = runningSince === null ? 0 : (Date.now() - runningSince) / 1000;
    if (cancelled === 'interrupt') return { end: ended({ interrupted: true, seconds }), lostState: null };
    if (cancelled === 'timeout') return { end: ended({ timedOut: true, seconds }), lostState: null };
    if (info === null) return { end: ended({ seconds, crashReason: `SLURM lost track of job ${jobId} (neither scontrol nor sacct knows it)` }), lostState: null };
    if (retryable(info.state)) return { end: ended({ seconds, crashReason: crashReasonOf(info.state) ?? info.state }), lostState: info.state };
    // A job whose script ran but whose first line is not in our log wrote somewhere we cannot see.
    const launched = info.state === 'COMPLETED' || info.state === 'FAILED' || cancelled === 'not-shared';
    if (launched && !(await this.waitForMarker(spec.logPath))) {
      appendRegular(spec.logPath, `autoresearch: ${notSharedMessage(spec.logPath)} (job ${jobId})\n`);
      return { end: ended({ seconds, crashReason: 'job output not on a shared filesystem' }), lostState: null };
    }
    const reason = info.state === 'COMPLETED' || info.state === 'FAILED' ? null : crashReasonOf(info.state);
    // A SLURM verdict with a zero exit status (OUT_OF_MEMORY reports 0:125) must still read as a failure.
    const failedQuietly = reason !== null && info.exitCode === 0 && info.signal === null;
    return {
      end: {
        exitCode: info.signal !== null || failedQuietly ? null : info.exitCode,
        signal: info.signal !== null ? signalName(info.signal) : failedQuietly ? info.state : null,
        timedOut: info.state === 'TIMEOUT' || info.state === 'DEADLINE',
        interrupted: false,
        seconds,
        ...(reason !== null ? { crashReason: reason } : {}),
      },
      lostState: null,
    };
  }

  /** On a shared filesystem the first line shows at once; allow an NFS attribute cache its time. */
  private async waitForMarker(logPath: string): Promise<boolean> {
    const until = Date.now() + Math.min(this.markerGraceMs, 30_000);
    for (;;) {
      if (logHasMarker(logPath)) return true;
      if (Date.now() >= until) return false;
      await sleep(500);
    }
  }

  async stopLost(ref: RunRef): Promise<boolean> {
    // A run of the local executor, from before the switch to SLURM: stopped the local way.
    if (ref.jobId === undefined) return ref.pid !== undefined ? new LocalExecutor().stopLost(ref) : false;
    const info = await this.query(ref.jobId);
    if (info === null || jobPhase(info.state) === 'ended') return false;
    await this.cancel(ref.jobId);
    for (let i = 0; i < 120; i++) {
      const now = await this.query(ref.jobId);
      if (now === null || jobPhase(now.state) === 'ended') break;
      await sleep(250);
    }
    return true;
  }

  /** The job's state from the controller, or from sacct once the controller has let it go; null if nobody knows it. */
  async query(jobId: string): Promise<JobInfo | null> {
    try {
      const out = await this.exec('scontrol', ['show', 'job', '-o', jobId], this.env, this.patienceMs);
      const info = parseScontrolJob(out);
      if (info) return info;
    } catch (err) {
      if (!(err instanceof SlurmCommandError) || !isUnknownJob(err.stderr)) throw err;
    }
    // Past MinJobAge. `sacct -c` reads the job completion log (jobcomp/filetxt), plain sacct the accounting database;
    // without accounting sacct prints nothing or an error, which both mean "unknown" here.
    for (const extra of [['-c'], ['-X']]) {
      try {
        const out = await this.exec('sacct', [...extra, '-j', jobId, '-n', '-P', '-o', 'JobID,State,ExitCode'], this.env, 0);
        const info = parseSacct(out, jobId);
        if (info) return info;
      } catch {
        // this source does not know it; try the next
      }
    }
    return null;
  }

  private async cancel(jobId: string): Promise<void> {
    try {
      await this.exec('scancel', [jobId], this.env, this.patienceMs);
    } catch (err) {
      // "already completing or completed", "invalid job id": nothing left to cancel.
      if (err instanceof SlurmCommandError && !err.missing && !isTransient(err.stderr)) return;
      throw err;
    }
  }

  /** Run a SLURM command; a busy or restarting controller is retried for up to `patienceMs`. */
  private async exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, patienceMs: number, signal?: AbortSignal): Promise<string> {
    const started = Date.now();
    for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
      const r = await new Promise<{ code: number | string | null; stdout: string; stderr: string }>((resolve) => {
        execFile(cmd, args, { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err ? ((err as NodeJS.ErrnoException).code ?? 1) : 0;
          resolve({ code: code ?? 1, stdout, stderr });
        });
      });
      if (r.code === 0) return r.stdout;
      if (r.code === 'ENOENT') throw new SlurmCommandError(missingCommandMessage(cmd), '', true);
      const said = (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`).replace(/^\w+: error: /gm, '');
      if (!isTransient(r.stderr) || Date.now() - started + wait > patienceMs || signal?.aborted) {
        throw new SlurmCommandError(isTransient(r.stderr) && patienceMs > 0 ? `${cmd}: ${said} (still failing after ${Math.round((Date.now() - started) / 1000)} s; is slurmctld up?)` : `${cmd}: ${said}`, r.stderr);
      }
      await sleep(wait, signal);
    }
  }
}

function ended(over: Partial<RunEnd>): RunEnd {
  return { exitCode: null, signal: null, timedOut: false, interrupted: false, seconds: 0, ...over };
}

function logHasMarker(logPath: string): boolean {
  try {
    const fd = openRegular(logPath);
    if (fd === null) return false;
    try {
      // Near the top, not necessarily first: slurmstepd may write its own warnings before the script starts.
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8').includes(JOB_MARKER);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
