// One experiment, from draft to row, in a git worktree of its own: the model drafts a change on the
// best of the moment; the change waits for its slot's GPU; if the best has moved meanwhile it is
// moved onto the new best (or redone by the model, once) before it trains; a crash may be fixed;
// then, under the lab's settle lock, the result is judged against the best *it was built on*, and
// re-trained on the new best when another experiment moved the best while it ran.

import path from 'node:path';
import { GitRepo, short } from '../git/repo.js';
import { clearExperimentState, worktreePath, writeExperimentState } from '../ledger/state.js';
import { batchOutcome, type Outcome } from './decide.js';
import { DISK_FULL, discardedRef, fixLogTail, interruptExitCode, movedRef, RUN_LOG, slotField, type AgentEdit, type Lab, type Slot, type SlotPool } from './lab.js';
import { measuredOn, needsRebase, settle } from './schedule.js';
import { addUsage, ZERO_USAGE, type ResultRow, type Status, type Usage } from './types.js';

const FIX_LOG_TAIL_LINES = 60;

export type ExperimentEnd =
  | { kind: 'row'; row: ResultRow }
  | { kind: 'skipped'; reason: string }
  /** The loop must end: interrupted, the API gone for longer than the patience, the disk full. */
  | { kind: 'stop'; reason: string; exitCode: number };

/**
 * Run experiment `n` on `slot`, whose GPU it takes in turn from `pool` (its confirmation runs may
 * take idle ones too); `drafting` is aborted when the loop stops starting experiments for good (a
 * fatal error elsewhere), which ends unfinished drafts.
 */
export async function runExperiment(lab: Lab, n: number, slot: Slot, pool: SlotPool, drafting: AbortSignal): Promise<ExperimentEnd> {
  return new Experiment(lab, n, slot, pool, drafting).run();
}

class Experiment {
  private readonly startedMs = Date.now();
  private readonly startedAt = new Date(this.startedMs).toISOString();
  private usage: Usage = ZERO_USAGE;
  private readonly dir: string;
  private readonly agentSignal: AbortSignal;
  private tree: GitRepo | null = null;
  private base = ''; // the commit the change is built on
  private commit = ''; // the experiment's commit, once made
  private description = '';
  private notes: string | undefined; // what the model learned, for later experiments
  private runs = 0; // training runs so far: each gets the next seed
  private ownRun = 0; // the seed index of this slot's latest run, whose log is the worktree's run.log
  private idle: { slot: Slot; release: () => void }[] = []; // idle slots taken for the next confirmation runs

  constructor(
    private readonly lab: Lab,
    private readonly n: number,
    private readonly slot: Slot,
    private readonly pool: SlotPool,
    drafting: AbortSignal,
  ) {
    this.dir = worktreePath(lab.dir, lab.tag, n);
    this.agentSignal = AbortSignal.any([lab.opts.signal, drafting]);
  }

  async run(): Promise<ExperimentEnd> {
    const { lab, n } = this;
    const best = lab.best;
    if (!best) throw new Error('internal: an experiment needs a best commit');
    this.base = (await lab.repo.resolve(best.commit)) ?? (await lab.repo.head());
    writeExperimentState(lab.dir, lab.tag, {
      experiment: n,
      phase: 'agent',
      base: this.base,
      commit: null,
      description: null,
      startedAt: this.startedAt,
      worktree: this.dir,
      ...slotField(this.slot),
    });
    let end: ExperimentEnd | null = null;
    try {
      this.tree = await lab.repo.addWorktree(this.dir, this.base);
      end = await this.draft();
      if (end) return end;
      lab.phase('waiting', n, this.slot, this.description);
      const turn = await this.pool.gpuOf(this.slot).acquire();
      try {
        end = await this.trainAndSettle();
        return end;
      } finally {
        turn();
      }
    } finally {
      lab.inFlight.delete(n);
      // An experiment that ended is done with; one that threw (a row that could not be written)
      // leaves its state file and worktree for the next start to finish from.
      if (end !== null) {
        if (this.tree) await lab.repo.removeWorktree(this.dir);
        clearExperimentState(lab.dir, lab.tag, n);
      }
    }
  }

  private get worktree(): GitRepo {
    if (!this.tree) throw new Error('internal: the experiment has no worktree');
    return this.tree;
  }

  private addUsage(u: Usage): void {
    this.usage = addUsage(this.usage, u);
    this.lab.usage = addUsage(this.lab.usage, u);
  }

  /** The model's change, committed in the worktree; an end when there is none. */
  private async draft(): Promise<ExperimentEnd | null> {
    const edit = await this.lab.askAgent(this.n, this.worktree, this.lab.context(this.n, this.dir, this.slot), this.agentSignal, this.slot);
    this.addUsage(edit.usage);
    if (edit.kind !== 'submitted') return this.abandon(edit);
    await this.commitEdit(edit.changed, edit.description, edit.restored, edit.notes);
    return null;
  }

  private async commitEdit(changed: string[], description: string, restored: string[], notes?: string): Promise<void> {
    const { lab, n } = this;
    lab.phase('committing', n, this.slot, description);
    this.description = description;
    if (notes) this.notes = notes;
    // askAgent has put it in flight with the code just committed: only a move onto a newer best changes it.
    this.commit = await this.worktree.commitFiles(changed, description);
    lab.note(n, { phase: 'waiting', base: this.base, commit: this.commit, description, ...(this.notes ? { notes: this.notes } : {}) });
    this.announceCommit(restored);
  }

  /** After a move onto a newer best: tell drafts made meanwhile the experiment's new code, so that they do not submit it again. */
  private async markInFlight(): Promise<void> {
    this.lab.inFlight.set(this.n, { description: this.description, code: await this.lab.codeOf(this.commit) });
  }

  /** Tell the world the experiment's commit is now this.commit (a draft, a move onto the best, a fix). */
  private announceCommit(restored: string[]): void {
    this.lab.emit({
      type: 'committed',
      at: Date.now(),
      experiment: this.n,
      commit: short(this.commit),
      description: this.description,
      restored,
      ...slotField(this.slot),
    });
  }

  /** Drop an experiment that never reached a commit, keeping its edits reachable under a ref. */
  private async abandon(edit: Exclude<AgentEdit, { kind: 'submitted' }>): Promise<ExperimentEnd> {
    const edits = await this.worktree.snapshotWorkingTree();
    if (edits) await this.lab.repo.keepRef(`refs/autoresearch/${this.lab.tag}/abandoned/${short(edits)}`, edits);
    return edit.kind === 'stop' ? { kind: 'stop', reason: edit.reason, exitCode: edit.exitCode } : { kind: 'skipped', reason: edit.reason };
  }

  /** With the GPU held: onto the current best, train (and fix), then settle; again if the best moved. */
  private async trainAndSettle(): Promise<ExperimentEnd> {
    const { lab, n } = this;
    const moved = await this.moveOntoBest();
    if (moved) return moved;
    const beaten: string[] = []; // earlier bests this change beat, each before the best moved again
    let values: number[] = []; // the measured runs of the code as it is now
    let outcomes = [await this.trainWithFixes(lab.config.runCmd)];
    for (;;) {
      for (const o of outcomes) if (o.kind === 'measured') values.push(o.value);
      if (outcomes.some((o) => o.kind === 'measured')) lab.noteIfPossible(n, { values: [...values] }); // a kill before the row is written still logs these runs
      const outcome = batchOutcome(outcomes); // runs that trained at once are judged together
      let aside = 0; // confirmation runs to train at once on idle slots, beside this slot's
      // Held until the row is written and the branch moved: `return await` below, not `return`, or
      // the lock would go the moment record() first awaits, and another experiment could settle
      // against a best that is about to change.
      const release = await lab.settleLock.acquire();
      let detail: string;
      try {
        const best = lab.best;
        const settlement = settle(
          { outcome, values, runBase: this.base, runsLeft: lab.config.confirmRuns - (values.length - 1) },
          best ? { commit: best.commit, values: lab.keptValues(best.commit) ?? [best.value], runBaseValues: lab.keptValues(this.base) } : null,
          lab.config.direction,
          lab.noise(values),
        );
        const note = measuredOn(beaten, this.base);
        if (settlement.kind === 'confirm') {
          this.keepRunLog();
          // Every run the rule may still ask for can train now on a GPU that is idle: wall time is
          // what a waiting keep costs the branch (runs it turns out not to need are the price).
          const idle = await this.pool.takeIdle(lab.config.confirmRuns - values.length, this.slot);
          aside = idle.length;
          this.idle = idle;
          detail = confirmDetail(n, values.length, aside, lab.config.confirmRuns);
        } else if (settlement.kind === 'rerun' && best) {
          this.keepRunLog();
          lab.noteIfPossible(n, { values: [] }); // the runs measured the code before the move, not the code after it
          const beat = short(this.base);
          if (!(await this.rebaseOnto(best.commit))) {
            const why = `beat ${[...beaten, beat].join(', then ')}, but does not apply on the new best ${best.commit}`;
            return await this.record(outcome, 'discard', `${this.description} (${why})`, values, why);
          }
          beaten.push(beat);
          values = [];
          detail = `re-run on the new best ${short(this.base)}: ${lab.config.runCmd}`;
        } else if (settlement.kind === 'discard') {
          const why = settlement.reason && settlement.reason !== 'not better' ? ` (${settlement.reason})` : '';
          return await this.record(outcome, 'discard', `${this.description}${note}${why}`, values, settlement.reason);
        } else if (settlement.kind === 'keep') {
          return await this.record(outcome, 'keep', `${this.description}${note}`, values, settlement.margin);
        } else {
          return await this.record(outcome, 'crash', `${this.description}${note}`, values);
        }
      } finally {
        release();
      }
      outcomes = aside > 0 ? await this.trainWithIdle(detail) : [await this.trainOnce(detail)];
    }
  }

  /** One run of the worktree's code, with the next seed of this experiment. */
  private trainOnce(detail: string): Promise<Outcome> {
    this.lab.noteIfPossible(this.n, { runs: this.runs + 1 }); // experiment numbers keep seeds apart: this only informs
    this.ownRun = this.runs;
    return this.lab.train(this.n, this.dir, this.slot, detail, this.runs++);
  }

  /** This slot's run and one on each idle slot taken (this.idle) at once, each with its own seed; the idle slots handed back after. */
  private async trainWithIdle(detail: string): Promise<Outcome[]> {
    const idle = this.idle;
    this.idle = [];
    const first = this.runs;
    this.runs += 1 + idle.length;
    this.ownRun = first;
    this.lab.noteIfPossible(this.n, { runs: this.runs });
    try {
      return await this.lab.trainAtOnce(this.n, this.dir, this.commit, [this.slot, ...idle.map((t) => t.slot)], detail, first);
    } finally {
      for (const { release } of idle) release();
    }
  }

  /** Keep the log of this slot's last run when it is not the experiment's last (the last one is kept with the row). */
  private keepRunLog(): void {
    this.lab.keepLog(this.n, this.commit, path.join(this.dir, RUN_LOG), `-run${this.ownRun + 1}`);
  }

  /**
   * A draft made on an older best moves onto the current one before it trains. When it no longer
   * applies, the model gets one chance to redo the same change on the new code.
   */
  private async moveOntoBest(): Promise<ExperimentEnd | null> {
    const { lab, n } = this;
    const best = lab.best;
    if (!best || !needsRebase(this.base, best.commit)) return null;
    lab.phase('rebasing', n, this.slot, this.description);
    if (await this.rebaseOnto(best.commit)) return null;
    // The worktree now stands at the new best with nothing applied: the redo is built on it.
    this.base = await this.worktree.head();
    const ctx = lab.context(n, this.dir, this.slot, { redo: { description: this.description, newBest: best.commit } });
    const edit = await lab.askAgent(n, this.worktree, ctx, this.agentSignal, this.slot);
    this.addUsage(edit.usage);
    if (edit.kind !== 'submitted') {
      const end = await this.abandon(edit);
      return end.kind === 'skipped' ? { kind: 'skipped', reason: `its change no longer applies on the new best ${best.commit}, and the redo failed: ${end.reason}` } : end;
    }
    await this.commitEdit(edit.changed, edit.description, edit.restored, edit.notes);
    return null;
  }

  /**
   * Move the worktree to `best` and apply the experiment's change on it; false (the worktree then
   * at `best` with nothing applied) when the change does not apply. The previous commit stays
   * reachable under refs/autoresearch/<tag>/moved/.
   */
  private async rebaseOnto(best: string): Promise<boolean> {
    const { lab } = this;
    const target = (await lab.repo.resolve(best)) ?? best;
    await lab.repo.keepRef(movedRef(lab.tag, this.commit), this.commit);
    await this.worktree.resetHard(target);
    const picked = await this.worktree.cherryPick(this.commit);
    if (picked === null) return false;
    this.base = target;
    this.commit = picked;
    await this.markInFlight();
    lab.note(this.n, { base: this.base, commit: this.commit });
    this.announceCommit([]);
    return true;
  }

  /** Train; on a crash let the model fix it (up to --fix-attempts). */
  private async trainWithFixes(detail: string): Promise<Outcome> {
    const { lab, n } = this;
    let outcome = await this.trainOnce(detail);
    for (let attempt = 1; outcome.kind === 'crash' && outcome.reason !== 'interrupted' && outcome.reason !== DISK_FULL && attempt <= lab.config.fixAttempts; attempt++) {
      const logTail = fixLogTail(path.join(this.dir, RUN_LOG), FIX_LOG_TAIL_LINES);
      const ctx = lab.context(n, this.dir, this.slot, { fix: { attempt, reason: outcome.reason, logTail, description: this.description } });
      const fix = await lab.askAgent(n, this.worktree, ctx, this.agentSignal, this.slot);
      this.addUsage(fix.usage);
      if (fix.kind !== 'submitted') break; // no fix offered (or stopping): the crash stands
      // The crashed attempt stays reachable; the fixed version replaces it as one experiment commit.
      await lab.repo.keepRef(`${discardedRef(lab.tag, this.commit)}-crash`, this.commit);
      const changed = [...new Set([...fix.changed, ...(await this.worktree.changedBetween(this.base, this.commit))])];
      await this.worktree.resetSoft(this.base);
      this.description = fix.description;
      if (fix.notes) this.notes = fix.notes;
      lab.phase('committing', n, this.slot, `fix ${attempt}: ${this.description}`);
      this.commit = await this.worktree.commitFiles(changed, this.description);
      lab.note(n, { commit: this.commit, description: this.description, ...(this.notes ? { notes: this.notes } : {}) });
      this.announceCommit(fix.restored);
      outcome = await this.trainOnce(detail);
    }
    return outcome;
  }

  /** Write the row, move the branch (keep) or keep the commit under a ref (otherwise), keep the log. */
  private async record(outcome: Outcome, status: Status, description: string, values: number[] = [], verdict?: string): Promise<ExperimentEnd> {
    const { lab, n } = this;
    lab.phase('deciding', n, this.slot);
    const files = (await this.worktree.changedBetween(this.base, this.commit)).filter((f) => lab.config.editable.includes(f));
    const row = lab.logRow(n, {
      commit: this.commit,
      outcome,
      status,
      description,
      startedAt: this.startedAt,
      usage: this.usage,
      seconds: (Date.now() - this.startedMs) / 1000,
      base: this.base,
      ...slotField(this.slot),
      values,
      ...(verdict !== undefined ? { verdict } : {}),
      files,
      code: await lab.codeOf(this.commit),
      ...(this.notes ? { notes: this.notes } : {}),
    });
    lab.keepLog(n, this.commit, path.join(this.dir, RUN_LOG));
    // The main checkout follows the best: a kept commit sits right on top of it (its base is the best).
    if (status === 'keep') await lab.repo.resetHard(this.commit);
    else await lab.repo.keepRef(discardedRef(lab.tag, this.commit), this.commit);
    clearExperimentState(lab.dir, lab.tag, n);
    lab.emitResult(n, row, verdict);
    if (outcome.kind === 'crash' && outcome.reason === 'interrupted') return { kind: 'stop', reason: 'interrupted', exitCode: interruptExitCode(lab.opts.signal) };
    if (outcome.kind === 'crash' && outcome.reason === DISK_FULL) return { kind: 'stop', reason: lab.diskFullReason(), exitCode: 1 };
    return { kind: 'row', row };
  }
}

/** "confirming #12: run 2 of 3, a new seed", or "runs 2–3 of 3 at once, one on an idle GPU". */
function confirmDetail(n: number, measured: number, aside: number, confirmRuns: number): string {
  if (aside === 0) return `confirming #${n}: run ${measured + 1} of ${1 + confirmRuns}, a new seed`;
  return `confirming #${n}: runs ${measured + 1}–${measured + 1 + aside} of ${1 + confirmRuns} at once, ${aside === 1 ? 'one on an idle GPU' : `${aside} on idle GPUs`}, new seeds`;
}
