// Keeps every slot busy: each slot (a GPU) has one experiment training and up to --lookahead more
// drafted ahead, so a slot that frees up starts its next run at once, and the model's thinking
// hides behind the training. Decides when to start experiments and when to stop; each experiment
// runs itself (experiment.ts), and results are settled one at a time under the lab's lock.

import path from 'node:path';
import { STATE_DIR } from '../ledger/state.js';
import { stopReason } from './decide.js';
import { runExperiment, type ExperimentEnd } from './experiment.js';
import { interruptExitCode, slotField, SlotPool, type Lab, type Slot } from './lab.js';
import { slotCapacity } from './schedule.js';

/** Skipped experiments in a row after which the loop stops: the model is not making changes, and
 * going on all night would only spend money. */
export const MAX_CONSECUTIVE_SKIPS = 5;

export interface Stop {
  reason: string;
  exitCode: number;
}

export class Scheduler {
  private started = 0; // experiments started by this invocation
  private consecutiveSkips = 0;
  private stop: Stop | null = null;
  private failure: unknown = null; // an error thrown by an experiment: rethrown once the others end
  private readonly startedAtMs = Date.now();
  /** Aborted when no experiment should go on drafting: a fatal error, too many skips in a row. */
  private readonly drafting = new AbortController();
  private readonly pool: SlotPool;
  private readonly load: number[]; // experiments in flight per slot

  constructor(
    private readonly lab: Lab,
    private readonly slots: Slot[],
  ) {
    this.pool = new SlotPool(slots);
    this.load = slots.map(() => 0);
  }

  async run(): Promise<Stop> {
    const running = new Set<Promise<void>>();
    for (;;) {
      this.stop ??= this.shouldStop();
      if (this.stop || this.failure) break;
      const slot = this.freeSlot();
      if (slot === null) {
        await Promise.race(running);
        continue;
      }
      const n = this.lab.nextExperiment++;
      this.started++;
      this.load[slot.index]!++;
      const task: Promise<void> = runExperiment(this.lab, n, slot, this.pool, this.drafting.signal)
        .then((end) => this.onEnd(n, slot, end))
        .catch((err: unknown) => {
          this.failure ??= err;
          this.drafting.abort();
        })
        .finally(() => {
          this.load[slot.index]!--;
          running.delete(task);
        });
      running.add(task);
    }
    // q, a limit or an error: nothing new starts, and what is in flight finishes and is logged.
    await Promise.allSettled([...running]);
    if (this.failure) throw this.failure;
    if (this.lab.opts.signal.aborted) return { reason: 'interrupted', exitCode: interruptExitCode(this.lab.opts.signal) };
    return this.stop ?? { reason: 'stopped', exitCode: 0 };
  }

  private shouldStop(): Stop | null {
    if (this.lab.opts.signal.aborted) return { reason: 'interrupted', exitCode: interruptExitCode(this.lab.opts.signal) };
    const reason = stopReason({
      experimentsDone: this.started,
      maxExperiments: this.lab.config.maxExperiments,
      startedAtMs: this.startedAtMs,
      nowMs: Date.now(),
      maxHours: this.lab.config.maxHours,
      costUsd: this.lab.usage.costUsd,
      maxCostUsd: this.lab.config.maxCostUsd,
      stopRequested: this.lab.opts.gracefulStop?.() ?? null,
    });
    return reason ? { reason, exitCode: 0 } : null;
  }

  /** The slot with room for another experiment, the least loaded first; null when all are full. */
  private freeSlot(): Slot | null {
    const capacity = slotCapacity(this.lab.config.lookahead);
    let pick: Slot | null = null;
    for (const slot of this.slots) {
      if (this.load[slot.index]! >= capacity) continue;
      if (pick === null || this.load[slot.index]! < this.load[pick.index]!) pick = slot;
    }
    return pick;
  }

  private onEnd(n: number, slot: Slot, end: ExperimentEnd): void {
    if (end.kind === 'row') {
      this.consecutiveSkips = 0;
      return;
    }
    // Every experiment that ends without a row says so, so that no view keeps it as in flight.
    this.lab.emit({ type: 'skipped', at: Date.now(), experiment: n, reason: end.reason, ...slotField(slot) });
    if (end.kind === 'stop') {
      this.halt({ reason: end.reason, exitCode: end.exitCode });
      return;
    }
    if (this.drafting.signal.aborted) return; // drafts cut short by a stop are not the model's failures
    this.consecutiveSkips++;
    if (this.consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
      this.halt({
        reason:
          `${this.consecutiveSkips} experiments in a row ended without a change (last: ${end.reason}). ` +
          `Read the transcripts in ${path.join(STATE_DIR, this.lab.tag, 'transcripts')}/, adjust ${this.lab.config.programPath} if needed, then run the same command again.`,
        exitCode: 1,
      });
    }
  }

  /** Stop starting experiments; on an error, end the drafts in progress too (they would hit it as well). */
  private halt(stop: Stop): void {
    if (this.stop === null || (this.stop.exitCode === 0 && stop.exitCode !== 0)) this.stop = stop;
    if (stop.exitCode !== 0) this.drafting.abort();
  }
}
