// The local executor: the run is a process group on this machine (proc/training.ts), one GPU per slot
// through CUDA_VISIBLE_DEVICES.

import { runTraining } from '../proc/training.js';
import { groupAlive, killTrackedGroupsNow, killTree, markedPids } from '../proc/tree.js';
import type { Executor, RunEnd, RunHooks, RunRef, RunSpec } from './types.js';

export class LocalExecutor implements Executor {
  readonly name = 'local';

  /** `sandbox`: runs go inside bubblewrap (src/proc/sandbox.ts), with or without the network; null: as they are. */
  constructor(private readonly sandbox: { network: boolean } | null = null) {}

  async run(spec: RunSpec, signal: AbortSignal, hooks: RunHooks = {}): Promise<RunEnd> {
    return runTraining({
      cmd: spec.cmd,
      cwd: spec.cwd,
      logPath: spec.logPath,
      timeoutSec: spec.timeoutSec,
      env: spec.env,
      ...(spec.protect ? { protect: spec.protect } : {}),
      sandbox: this.sandbox,
      signal,
      onStart: (pid, runId) => hooks.onStart?.({ executor: this.name, pid, runId }),
      onTick: (elapsedSec) => hooks.onTick?.(elapsedSec, { phase: 'running' }),
    });
  }

  stopAllNow(): void {
    killTrackedGroupsNow();
  }

  async stopLost(ref: RunRef): Promise<boolean> {
    if (ref.pid === undefined) return false;
    const strays = ref.runId !== undefined ? markedPids(ref.runId) : [];
    if (!groupAlive(ref.pid) && strays.length === 0) return false;
    await killTree(ref.pid, undefined, ref.runId);
    return true;
  }
}
