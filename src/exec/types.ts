// The executor seam: where a training run happens. The engine hands over a command, a directory and
// an environment, and gets back how the run ended; it knows nothing of process groups or job queues.
// The local executor (processes on this machine) is one; a cluster executor implements the same.

import type { TrainingResult } from '../proc/training.js';

export interface RunSpec {
  cmd: string; // a shell command line, e.g. `uv run train.py`
  cwd: string; // the experiment's worktree
  logPath: string; // where the run's output goes, written as it runs
  env: Record<string, string>; // already scrubbed of secrets
  timeoutSec: number; // counted from the run's start (not from time spent waiting in a queue)
  name: string; // says which tag and experiment, for whoever looks at the process or job list
  protect?: readonly string[]; // paths the run must not change (the main checkout), kept read-only where a sandbox would show them writable
}

/** What identifies a run to the executor that started it, saved before it starts so a restart can stop it. */
export interface RunRef {
  executor: string;
  pid?: number; // local: the process group
  runId?: string; // local: the run's AUTORESEARCH_RUN marker
  jobId?: string; // cluster: the job id
}

export type RunState = { phase: 'pending'; reason?: string } | { phase: 'running' };

export interface RunHooks {
  /** The run has an identity: record it now, or no later start could stop it after a crash. */
  onStart?: (ref: RunRef) => void;
  /** About once a second: seconds since the run started (0 while pending) and its state. */
  onTick?: (elapsedSec: number, state: RunState) => void;
}

export interface RunEnd extends TrainingResult {
  /** The executor's own verdict when it knows better than the exit code (a cluster's OUT_OF_MEMORY). */
  crashReason?: string;
}

export interface Executor {
  readonly name: string;
  /** Why runs cannot start here (a missing sbatch, a controller that does not answer), checked before anything is touched; null when they can. */
  check?(): Promise<string | null>;
  /** Run to the end; aborting `signal` stops the run at once (its result then says interrupted). */
  run(spec: RunSpec, signal: AbortSignal, hooks?: RunHooks): Promise<RunEnd>;
  /** Stop a run an earlier process started and lost (kill -9); true when something was still running. */
  stopLost(ref: RunRef): Promise<boolean>;
  /** On a forced exit (a second Ctrl+C): stop every run of this process now, synchronously, as best it can. */
  stopAllNow(): void;
}
