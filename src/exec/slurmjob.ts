// What SLURM says about a job, read and judged as pure functions: the `scontrol show job -o` line
// and `sacct` rows parsed, job states sorted into waiting / running / ended, SLURM's own verdicts
// turned into crash reasons, and its error messages sorted into "try again" and "give up".

import os from 'node:os';

export interface JobInfo {
  state: string; // JobState, e.g. PENDING, RUNNING, COMPLETED, OUT_OF_MEMORY
  reason: string | null; // why it waits (Resources, Priority, ...); null for None
  exitCode: number | null; // the batch script's exit status; null when unknown
  signal: number | null; // the signal that ended it, when one did
}

/** `scontrol show job -o <id>`: one line of Key=Value pairs. Null when the line names no job state. */
export function parseScontrolJob(line: string): JobInfo | null {
  const field = (key: string): string | null => {
    // Values have no spaces except Command=/WorkDir= paths, which we do not read.
    const m = new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line);
    return m ? (m[1] ?? '') : null;
  };
  const state = field('JobState');
  if (!state) return null;
  const reason = field('Reason');
  return { state, reason: reason && reason !== 'None' && reason !== '(null)' ? reason : null, ...parseExitCode(field('ExitCode')) };
}

/** `sacct -n -P -o JobID,State,ExitCode`: the job's own row (not its .batch step). */
export function parseSacct(out: string, jobId: string): JobInfo | null {
  for (const row of out.split('\n')) {
    const [id, state, exit] = row.trim().split('|');
    if (id !== jobId || !state) continue;
    // sacct says "CANCELLED by 0"; scontrol says CANCELLED.
    return { state: state.split(/\s+/)[0] ?? state, reason: null, ...parseExitCode(exit ?? null) };
  }
  return null;
}

/** "2:0" → exit 2; "0:9" → signal 9. */
function parseExitCode(raw: string | null): { exitCode: number | null; signal: number | null } {
  const m = raw ? /^(\d+):(\d+)$/.exec(raw) : null;
  if (!m) return { exitCode: null, signal: null };
  return { exitCode: Number(m[1]), signal: Number(m[2]) === 0 ? null : Number(m[2]) };
}

/** States after which the job will not run again (unless requeued, which we ask SLURM not to do). */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED']);
/** The job holds its node: its time limit runs. COMPLETING is still running for our purposes (its processes are exiting). */
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT', 'SUSPENDED', 'STOPPED', 'RESIZING']);

export type JobPhase = 'pending' | 'running' | 'ended';

export function jobPhase(state: string): JobPhase {
  if (ENDED.has(state)) return 'ended';
  if (RUNNING.has(state)) return 'running';
  return 'pending'; // PENDING, CONFIGURING (nodes booting), REQUEUED, held states
}

/** A job lost through no fault of its code: worth one more submission. */
export const retryable = (state: string): boolean => state === 'NODE_FAIL' || state === 'PREEMPTED' || state === 'BOOT_FAIL';

/** SLURM's verdict as a crash reason, where it knows better than the exit code; null where the exit code says it. */
export function crashReasonOf(state: string): string | null {
  switch (state) {
    case 'OUT_OF_MEMORY':
      return 'OOM';
    case 'TIMEOUT':
    case 'DEADLINE':
      return 'timeout';
    case 'NODE_FAIL':
      return 'node failure (NODE_FAIL)';
    case 'BOOT_FAIL':
      return 'node failed to boot (BOOT_FAIL)';
    case 'PREEMPTED':
      return 'preempted';
    case 'CANCELLED':
      return 'cancelled outside autoresearch (scancel)';
    default:
      return null;
  }
}

/** The name node uses for signal `n` (9 → SIGKILL), or the number as text. */
export function signalName(n: number): string {
  const found = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return found ? found[0] : `signal ${n}`;
}

/**
 * Errors of the SLURM commands that mean "the controller is busy or restarting": retried with
 * patience, like an overloaded API. Anything else (a bad option, a job rejected) is final.
 */
export function isTransient(stderr: string): boolean {
  return /unable to contact slurm controller|connect(ion)? (failure|refused)|socket timed out|timed out|temporarily unavailable|zero bytes were transmitted|slurm_persist_conn|transport endpoint|try again|communication connection failure|slurmctld.* not responding/i.test(
    stderr,
  );
}

/** `scontrol show job` of a job the controller no longer holds (MinJobAge has passed): ask sacct. */
export const isUnknownJob = (stderr: string): boolean => /invalid job id/i.test(stderr);

/**
 * `--slurm-args "--partition=gpu --gres=gpu:1 --comment='a b'"` → its words, as a POSIX shell
 * splits them (quotes and backslashes, no expansion). A string with an unclosed quote is an error.
 */
export function splitShellWords(raw: string): string[] | { error: string } {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word = `${word ?? ''}${c}`;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < raw.length && '"\\$`'.includes(raw[i + 1]!)) word = `${word ?? ''}${raw[++i]!}`;
      else word = `${word ?? ''}${c}`;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word ??= '';
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\' && i + 1 < raw.length) word += raw[++i]!;
      else word += c;
    }
  }
  if (quote) return { error: `unclosed ${quote} quote` };
  if (word !== null) words.push(word);
  return words;
}

/** The job name: tag and experiment (`autoresearch t #3` → `t#3`), without the spaces squeue columns dislike. */
export function jobName(runName: string): string {
  return runName.replace(/^autoresearch\s+/, '').replace(/\s+#/, '#').replace(/\s+/g, '_');
}
