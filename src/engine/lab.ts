// The workbench every experiment in flight shares: the tag's rows and best, the money spent, the
// main checkout, the agent and the executor, and the lock under which results are settled. The
// scheduler decides what runs when; an experiment (experiment.ts) uses these services to draft,
// train and record itself.

import fs from 'node:fs';
import path from 'node:path';
import type { Executor, RunRef } from '../exec/types.js';
import { restoreGitState, snapshotGitState } from '../git/guard.js';
import { GitRepo, short } from '../git/repo.js';
import { copyWholeLog, keepLog as keepRunLog } from '../ledger/logs.js';
import { appendResult } from '../ledger/results.js';
import { duplicatesPath, experimentLogPath, readExperimentState, tagDir, verdictPath, worktreePath, writeExperimentState, type InFlight } from '../ledger/state.js';
import { scrubEnv } from '../proc/env.js';
import { decideSandbox } from '../proc/sandbox.js';
import { freeBytes, readLogTail } from '../proc/training.js';
import { readAsGitSees, readRegular, realDirectory } from '../proc/untrusted-file.js';
import { describe, judgeRun, standingOf, type Outcome } from './decide.js';
import { findDuplicate, fingerprint, fingerprintOfFiles } from './duplicates.js';
import { DEFAULT_PLATEAU } from './plateau.js';
import { renderJournal, WORKTREE_JOURNAL, writeJournal, writeJournalFile } from '../ledger/journal.js';
import { applyJudge, judgeRules, parseVerdict, RESULT_FILE_ENV, type JudgeRules } from './judge.js';
import { logTail, parseMemoryGb } from './metric.js';
import { mean, pooledNoise, runValues, type Noise } from './noise.js';
import {
  FatalAgentError,
  ZERO_USAGE,
  type Agent,
  type EngineConfig,
  type EngineEvent,
  type ExperimentContext,
  type Phase,
  type Proposal,
  type ResultRow,
  type Status,
  type Usage,
} from './types.js';

export const RUN_LOG = 'run.log';
/** The fixed data and evaluation, beside train.py: the judge of every run (see judge.ts). */
const PREPARE_FILE = 'prepare.py';
/** A failed run on a filesystem with less than this free is blamed on the full disk. */
const DISK_FULL_BYTES = 1024 * 1024;
export const DISK_FULL = 'no space left on device';
const LOG_TAIL_LINES = 12;

export interface LoopOptions {
  onEvent: (e: EngineEvent) => void;
  /** Aborted on Ctrl+C / SIGTERM: stop now; its `reason` ('SIGINT' | 'SIGTERM') picks the exit code. */
  signal: AbortSignal;
  /** Asked before each new experiment: a reason to start no more (the dashboard's `q`), or null. */
  gracefulStop?: () => string | null;
  /** The environment the training run inherits, minus secrets. Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Where runs train: one slot per GPU, or one slot with the machine's own GPUs. */
export interface Slot {
  index: number;
  gpu: string | null; // its CUDA_VISIBLE_DEVICES; null leaves the environment's as it is
}

/** The `slot` field of an event or row: the slot's GPU, absent when the run has the machine's own GPUs. */
export const slotField = (slot: Slot | null | undefined): { slot?: string } => (slot && slot.gpu !== null ? { slot: slot.gpu } : {});

export function interruptExitCode(signal: AbortSignal): number {
  return signal.reason === 'SIGTERM' ? 143 : 130;
}

export const discardedRef = (tag: string, commit: string): string => `refs/autoresearch/${tag}/discarded/${short(commit)}`;
/** An experiment's commit that was moved onto a newer best (the new commit carries its row). */
export const movedRef = (tag: string, commit: string): string => `refs/autoresearch/${tag}/moved/${short(commit)}`;

/** One at a time, in the order asked: the settle step, and each slot's GPU. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private claims = 0; // the holder and the callers waiting

  /** Resolves once it is this caller's turn, with the function that ends the turn. */
  acquire(): Promise<() => void> {
    this.claims++;
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    let released = false;
    const end = () => {
      if (released) return;
      released = true;
      this.claims--;
      release();
    };
    const ready = this.tail.then(() => end);
    this.tail = this.tail.then(() => turn);
    return ready;
  }

  /** The turn at once when no one holds it or waits for it; null otherwise (never waits). */
  tryAcquire(): Promise<() => void> | null {
    return this.claims === 0 ? this.acquire() : null;
  }
}

/**
 * The slots and their GPUs, each taken in turn. A candidate's confirmation runs may also take a
 * GPU that is idle right now (no run, no draft waiting for it): the keep decision gates the branch,
 * so its runs go ahead of drafts not yet ready. Only idle GPUs are taken, never waited for, so two
 * candidates can never each hold one GPU while waiting for the other's.
 */
export class SlotPool {
  private readonly gpus: Mutex[];

  constructor(readonly slots: readonly Slot[]) {
    this.gpus = slots.map(() => new Mutex());
  }

  gpuOf(slot: Slot): Mutex {
    return this.gpus[slot.index]!;
  }

  /** Up to `max` slots other than `mine` whose GPU is idle now, each with the function that hands it back. */
  async takeIdle(max: number, mine: Slot): Promise<{ slot: Slot; release: () => void }[]> {
    const taken: Promise<{ slot: Slot; release: () => void }>[] = [];
    for (const slot of this.slots) {
      if (taken.length >= max || slot.index === mine.index) continue;
      const turn = this.gpuOf(slot).tryAcquire();
      if (turn) taken.push(turn.then((release) => ({ slot, release })));
    }
    return Promise.all(taken);
  }
}

export type AgentEdit =
  | { kind: 'submitted'; description: string; changed: string[]; restored: string[]; usage: Usage; notes?: string }
  | { kind: 'skipped'; reason: string; usage: Usage }
  | { kind: 'stop'; reason: string; exitCode: number; usage: Usage };

export class Lab {
  rows: ResultRow[] = []; // this tag's rows, in the order they were written
  usage: Usage = ZERO_USAGE; // this invocation's spending
  nextExperiment = 0;
  /** Drafts and runs in flight, told to every model drafting so it does not propose them twice (nor submit the same code). */
  readonly inFlight = new Map<number, { description: string; slot?: string; code?: string }>();
  private journalText: string | null = null; // the journal of `rows`, rendered when they change
  readonly settleLock = new Mutex();
  readonly env: Record<string, string>;
  readonly judge: JudgeRules;
  /** Whether the model's shell runs in the sandbox (decided once, in preflight). */
  readonly sandboxed: boolean;

  constructor(
    readonly config: EngineConfig,
    readonly agent: Agent,
    readonly opts: LoopOptions,
    readonly repo: GitRepo, // the main checkout: on the branch, at the best commit
    readonly executor: Executor,
    readonly programText: string,
    readonly branch: string,
    readonly resultsPath: string,
  ) {
    const env = scrubEnv(opts.env ?? process.env);
    // Runs happen in worktrees of the repository: uv must use the main checkout's environment
    // rather than build a fresh one (torch included) inside every worktree.
    this.env = { UV_PROJECT_ENVIRONMENT: path.join(repo.dir, '.venv'), ...env, PYTHONUNBUFFERED: '1' };
    // Read once: prepare.py is not editable, so what it promises holds for the whole night.
    this.judge = judgeRules(readTextOrNull(path.join(repo.dir, PREPARE_FILE)), config.metric);
    this.sandboxed = decideSandbox(config.sandbox ?? 'auto').on;
  }

  get dir(): string {
    return this.repo.dir;
  }

  get tag(): string {
    return this.config.tag;
  }

  get best() {
    return standingOf(this.rows).best;
  }

  emit(e: EngineEvent): void {
    this.opts.onEvent(e);
  }

  phase(phase: Phase, experiment: number, slot: Slot | null, detail?: string): void {
    this.emit({ type: 'phase', at: Date.now(), phase, experiment, ...(detail ? { detail } : {}), ...slotField(slot) });
  }

  /** Each run's value of a kept commit of this tag (one value for a single run), if it is one. */
  keptValues(commit: string): number[] | null {
    const row = this.rows.find((r) => r.status === 'keep' && r.commit === short(commit));
    return row ? runValues(row) : null;
  }

  /** The noise σ pooled from every row measured more than once (the baseline first), and `extra` runs of one code. */
  noise(extra: readonly number[] = []): Noise | null {
    return pooledNoise([...this.rows.map(runValues), extra]);
  }

  /** Update this experiment's state file: what a restart after kill -9 needs to finish or undo it. */
  note(experiment: number, change: Partial<InFlight>): void {
    const current = readExperimentState(this.dir, this.tag, experiment);
    if (current) writeExperimentState(this.dir, this.tag, { ...current, ...change });
  }

  /**
   * note(), for what only helps a restart (the runs measured so far): on a full disk the write fails,
   * and the row's own write, next, is the one that reports the cause and stops the loop.
   */
  noteIfPossible(experiment: number, change: Partial<InFlight>): void {
    try {
      this.note(experiment, change);
    } catch {
      // see above
    }
  }

  context(experiment: number, repoDir: string, slot: Slot, extra: Pick<ExperimentContext, 'fix' | 'redo'> = {}): ExperimentContext {
    const others = [...this.inFlight].filter(([n]) => n !== experiment).map(([n, f]) => ({ experiment: n, description: f.description, ...(f.code ? { code: f.code } : {}) }));
    // The model reads the full journal with its own tools: a copy in its worktree (the sandbox shows it that).
    if (path.resolve(repoDir) !== path.resolve(this.dir)) writeJournalFile(path.join(repoDir, WORKTREE_JOURNAL), this.journal());
    return {
      repoDir,
      stateRoot: this.dir,
      tag: this.tag,
      experiment,
      metric: this.config.metric,
      direction: this.config.direction,
      editable: this.config.editable,
      programText: this.programText,
      standing: standingOf(this.rows),
      history: [...this.rows],
      ...(others.length > 0 ? { inFlight: others } : {}),
      ...slotField(slot),
      sandbox: this.sandboxed,
      plateau: this.config.plateau ?? DEFAULT_PLATEAU,
      journal: WORKTREE_JOURNAL,
      ...(this.env['UV_PROJECT_ENVIRONMENT'] ? { projectEnv: this.env['UV_PROJECT_ENVIRONMENT'] } : {}),
      ...extra,
    };
  }

  /**
   * Let the agent edit the worktree, then enforce the rules: refs and non-editable files put back,
   * and only editable files that really changed count.
   */
  async askAgent(experiment: number, tree: GitRepo, ctx: ExperimentContext, signal: AbortSignal, slot: Slot): Promise<AgentEdit> {
    const { editable } = this.config;
    this.phase('agent', experiment, slot, ctx.fix ? `fixing: ${ctx.fix.reason}` : ctx.redo ? 'redoing the change on the new best' : undefined);
    const snapshot = await snapshotGitState(tree.dir);
    const stopped = (usage: Usage): AgentEdit | null => {
      if (this.opts.signal.aborted) return { kind: 'stop', reason: 'interrupted', exitCode: interruptExitCode(this.opts.signal), usage };
      if (signal.aborted) return { kind: 'skipped', reason: 'the loop is stopping', usage };
      return null;
    };
    let proposal: Proposal;
    try {
      proposal = await this.agent.propose(ctx, signal, (activity) => {
        if (activity.kind === 'duplicate') this.logDuplicate(experiment, activity.of, activity.description);
        this.emit({ type: 'agent', at: Date.now(), experiment, activity, ...slotField(slot) });
      });
    } catch (err) {
      await restoreGitState(tree.dir, snapshot, editable);
      const stop = stopped(ZERO_USAGE);
      if (stop) return stop;
      if (err instanceof FatalAgentError) return { kind: 'stop', reason: err.message, exitCode: 1, usage: ZERO_USAGE };
      return { kind: 'skipped', reason: `the agent failed: ${(err as Error).message}`, usage: ZERO_USAGE };
    }
    const restored = await restoreGitState(tree.dir, snapshot, editable);
    const stop = stopped(proposal.usage);
    if (stop) return stop;
    if (proposal.kind === 'skipped') return { kind: 'skipped', reason: proposal.reason, usage: proposal.usage };
    const changed = (await tree.changedPaths()).filter((p) => editable.includes(p));
    if (changed.length === 0) return { kind: 'skipped', reason: 'the agent submitted without changing an editable file', usage: proposal.usage };
    // The program's own check, whatever the agent: code already measured or in flight is not trained again.
    const code = this.codeOfFiles(tree.dir);
    const others = [...this.inFlight].filter(([n]) => n !== experiment).map(([n, f]) => ({ experiment: n, description: f.description, ...(f.code ? { code: f.code } : {}) }));
    const duplicate = findDuplicate(code, this.rows, others);
    // Claimed at once (no await since the check): two drafts of the same code finishing together cannot both pass.
    if (!duplicate) this.inFlight.set(experiment, { description: proposal.description, code });
    if (duplicate) {
      this.logDuplicate(experiment, duplicate.experiment, duplicate.description);
      this.emit({ type: 'agent', at: Date.now(), experiment, activity: { kind: 'duplicate', of: duplicate.experiment, description: duplicate.description }, ...slotField(slot) });
      return { kind: 'skipped', reason: `its code is identical to experiment #${duplicate.experiment} ("${duplicate.description}"): not trained again`, usage: proposal.usage };
    }
    return { kind: 'submitted', description: proposal.description, changed, restored, usage: proposal.usage, ...(proposal.notes ? { notes: proposal.notes } : {}) };
  }

  /** The fingerprint of the editable files as they stand in `dir` (engine/duplicates.ts). */
  codeOfFiles(dir: string): string {
    return fingerprintOfFiles(readAsGitSees(dir, this.config.editable));
  }

  /** The fingerprint of the editable files in a commit, from git's tree (the same as codeOfFiles of its checkout). */
  async codeOf(commit: string): Promise<string> {
    const out = await this.repo.lsTree(commit, this.config.editable);
    return fingerprint(this.config.editable.map((rel) => [rel, out.get(rel) ?? null] as const));
  }

  /** A submission refused because its code was measured before (or is in flight): counted in `results`, kept in duplicates.jsonl. */
  logDuplicate(experiment: number, of: number, description: string): void {
    try {
      fs.mkdirSync(tagDir(this.dir, this.tag), { recursive: true });
      fs.appendFileSync(duplicatesPath(this.dir, this.tag), `${JSON.stringify({ at: new Date().toISOString(), experiment, of, description })}\n`);
    } catch {
      // a count for the morning report: never worth stopping the night for
    }
  }

  /** The journal of this tag's rows, as the model and a person read it. */
  journal(): string {
    this.journalText ??= renderJournal(this.rows, this.tag, this.config.metric, this.config.direction);
    return this.journalText;
  }

  /** Rewrite the journal after the rows changed (a failed write costs only the journal: it is rewritten after the next row). */
  refreshJournal(): void {
    this.journalText = null;
    try {
      writeJournal(this.dir, this.tag, this.journal());
    } catch {
      // see above
    }
  }

  /**
   * Train the code checked out in `cwd` on `slot` with the seed of the experiment's `run`-th run, and
   * judge the run. A run `aside` trains beside the experiment's own run, on another slot: it is
   * silent on the dashboard (the experiment's own run speaks for both) and recorded in the state
   * file's list of runs aside, so that a restart after kill -9 stops it too.
   */
  async train(experiment: number, cwd: string, slot: Slot, detail: string, run = 0, aside = false): Promise<Outcome> {
    const logPath = path.join(cwd, RUN_LOG);
    const resultPath = verdictPath(cwd);
    // The worktree is the model's to write: .autoresearch/ may be a symlink to a directory of the user's by now.
    realDirectory(path.dirname(resultPath));
    fs.rmSync(resultPath, { force: true }); // a verdict counts only for the run that wrote it
    if (!aside) this.phase('training', experiment, slot, detail);
    const env: Record<string, string> = { ...this.env, [RESULT_FILE_ENV]: resultPath, [SEED_ENV]: String(seedOf(experiment, run)) };
    if (slot.gpu !== null) env.CUDA_VISIBLE_DEVICES = slot.gpu;
    let jobId: string | undefined;
    const result = await this.executor.run(
      { cmd: this.config.runCmd, cwd, logPath, env, timeoutSec: this.config.timeoutSec, name: `autoresearch ${this.tag} #${experiment}`, protect: [this.dir] },
      this.opts.signal,
      {
        onStart: (ref: RunRef) => {
          jobId = ref.jobId;
          if (aside) {
            this.note(experiment, { aside: this.asideWith(experiment, run, { run, runPid: ref.pid, runId: ref.runId, jobId: ref.jobId }) });
            return;
          }
          // The baseline (always experiment 0) keeps its phase: a restart goes on from its measured runs.
          this.note(experiment, { ...(experiment === 0 ? {} : { phase: 'training' as const }), runPid: ref.pid, runId: ref.runId, jobId: ref.jobId });
        },
        onTick: (elapsedSec, state) => {
          if (aside) return;
          this.emit({
            type: 'training',
            at: Date.now(),
            experiment,
            elapsedSec,
            timeoutSec: this.config.timeoutSec,
            logTail: logTail(readLogTail(logPath), LOG_TAIL_LINES),
            ...slotField(slot),
            // A queued job's state is news; a local run is always running, said by the event itself.
            ...(jobId !== undefined ? { state: state.phase, jobId, ...(state.phase === 'pending' && state.reason ? { reason: state.reason } : {}) } : {}),
          });
        },
      },
    );
    if (aside) this.noteIfPossible(experiment, { aside: this.asideWith(experiment, run) });
    // Only regular files in a real directory: train.py may have left a symlink to ~/.bashrc at any of these names (untrusted-file.ts).
    const log = readRegular(logPath) ?? '';
    realDirectory(path.dirname(resultPath));
    let outcome = applyJudge(
      judgeRun({ ...result, log }, this.config.metric),
      parseVerdict(readRegular(resultPath)),
      { exitCode: result.exitCode, wallSec: result.seconds, memoryGb: parseMemoryGb(log) },
      this.judge,
    );
    if (result.crashReason && outcome.kind === 'crash' && outcome.reason !== 'interrupted') outcome = { ...outcome, reason: result.crashReason };
    // A run that failed while the disk is full failed for that reason, whatever its log says
    // (its output may never have reached the log at all).
    if (outcome.kind === 'crash' && outcome.reason !== 'interrupted' && outcome.reason !== 'timeout') {
      const free = freeBytes(this.dir);
      if (free !== null && free < DISK_FULL_BYTES) return { kind: 'crash', reason: DISK_FULL, memoryGb: 0 };
    }
    return outcome;
  }

  /**
   * Append the experiment's row (whole, once), after saving it in its state file. `slot` is the
   * row's slot column: the GPU the run had (slotField), or the one a state file recorded.
   */
  logRow(
    experiment: number,
    fields: {
      commit: string;
      outcome: Outcome;
      status: Status;
      description: string;
      startedAt: string;
      usage: Usage;
      seconds?: number;
      base?: string;
      slot?: string; // the slot column: the GPU the run had (slotField), or the one a state file recorded
      values?: number[]; // the measured runs of this code (for a crash: those before the run that crashed)
      runs?: number; // the runs it got, when more than `values` (a crash counts the crashed run)
      verdict?: string; // why it ended so: the noise test's margin or reason; a crash's reason by default
      files?: string[]; // the editable files its change touched
      code?: string; // the fingerprint of its editable files
      notes?: string; // what the model learned
    },
  ): ResultRow {
    const { outcome } = fields;
    const measured = fields.values ?? [];
    // A measured row keeps its values when there are several (value is their mean); a crash keeps
    // any measured before it, so the runs that happened are not lost with it.
    const values = outcome.kind === 'measured' ? (measured.length > 1 ? measured : undefined) : measured.length > 0 ? measured : undefined;
    const runs = fields.runs ?? (outcome.kind === 'crash' && values ? values.length + 1 : undefined);
    const row: ResultRow = {
      commit: short(fields.commit),
      value: outcome.kind === 'measured' ? (values ? mean(values) : outcome.value) : 0,
      memoryGb: outcome.kind === 'measured' ? outcome.memoryGb : 0,
      status: fields.status,
      description: describe(fields.description, outcome),
      tag: this.tag,
      startedAt: fields.startedAt,
      seconds: fields.seconds ?? (Date.now() - Date.parse(fields.startedAt)) / 1000,
      usage: fields.usage,
      ...(fields.base ? { base: short(fields.base) } : {}),
      ...(fields.slot !== undefined ? { slot: fields.slot } : {}),
      ...(values ? { values } : {}),
      ...(runs !== undefined && runs > Math.max(1, values?.length ?? 0) ? { runs } : {}),
      experiment,
      ...(fields.verdict !== undefined ? { verdict: fields.verdict } : outcome.kind === 'crash' ? { verdict: outcome.reason } : {}),
      ...(fields.files && fields.files.length > 0 ? { files: fields.files } : {}),
      ...(fields.code ? { code: fields.code } : {}),
      ...(fields.notes ? { notes: fields.notes } : {}),
    };
    // The measurement goes into the state file first: if the append fails, the next start writes it.
    // On a full disk this write fails too; the append is still tried, and its error names the cause.
    try {
      this.note(experiment, { row });
    } catch {
      // nothing more can be saved here; appendResult's error is the one to report
    }
    appendResult(this.resultsPath, this.config.metric, row);
    this.rows.push(row);
    this.refreshJournal();
    return row;
  }

  /** The state file's runs aside of `experiment` with run `run`'s entry replaced by `entry` (or dropped). */
  private asideWith(experiment: number, run: number, entry?: NonNullable<InFlight['aside']>[number]): NonNullable<InFlight['aside']> {
    const others = (readExperimentState(this.dir, this.tag, experiment)?.aside ?? []).filter((a) => a.run !== run);
    return entry ? [...others, entry] : others;
  }

  /**
   * Runs `first`, `first` + 1, … of `commit` at once, one per slot: the first in `cwd` (the
   * experiment's own checkout, whose run.log is the row's), the others aside (trainAside).
   * `onOutcome` hears each as it ends; the outcomes come back in slot order once all have ended.
   */
  trainAtOnce(experiment: number, cwd: string, commit: string, slots: readonly Slot[], detail: string, first: number, onOutcome?: (o: Outcome) => void): Promise<Outcome[]> {
    return allEnded(
      slots.map(async (slot, i) => {
        const o = await (i === 0 ? this.train(experiment, cwd, slot, detail, first) : this.trainAside(experiment, commit, slot, first + i));
        onOutcome?.(o);
        return o;
      }),
    );
  }

  /**
   * The `run`-th run of `commit`, aside from the experiment's own (see train): in a worktree of its
   * own, removed after, its log kept as the run's. Another GPU trains the same code at the same time.
   */
  async trainAside(experiment: number, commit: string, slot: Slot, run: number): Promise<Outcome> {
    const dir = `${worktreePath(this.dir, this.tag, experiment)}-run${run + 1}`;
    await this.repo.addWorktree(dir, commit);
    try {
      const outcome = await this.train(experiment, dir, slot, '', run, true);
      // Not copied as the latest run.log: the experiment's own run may be writing that one (the baseline's does).
      this.keepLog(experiment, commit, path.join(dir, RUN_LOG), `-run${run + 1}`, false);
      return outcome;
    } finally {
      await this.repo.removeWorktree(dir);
    }
  }

  /** Keep a run's log under .autoresearch/<tag>/logs/ (head and tail past a size), and whole as the latest run.log. */
  keepLog(experiment: number, commit: string, logPath: string, suffix = '', asLatest = true): void {
    if (!present(logPath)) return; // a symlink left at its name too: keepRunLog records that it was not read
    keepRunLog(logPath, experimentLogPath(this.dir, this.tag, experiment, `${short(commit)}${suffix}`));
    const latest = path.join(this.dir, RUN_LOG);
    if (asLatest && path.resolve(logPath) !== path.resolve(latest)) copyWholeLog(logPath, latest);
  }

  emitResult(experiment: number, row: ResultRow, verdict?: string): void {
    const noise = this.noise();
    this.emit({
      type: 'result',
      at: Date.now(),
      experiment,
      row,
      standing: standingOf(this.rows),
      ...(row.slot !== undefined ? { slot: row.slot } : {}),
      ...(verdict ? { verdict } : {}),
      ...(noise ? { noise } : {}),
    });
  }

  /** Why going on would only crash every experiment: the disk is full. */
  diskFullReason(): string {
    const free = freeBytes(this.dir);
    return `the disk is full (${free === null ? 'unknown' : `${Math.round(free / 1024)} KB`} free on ${this.dir}): free some space, then run the same command again to resume`;
  }
}

/**
 * Every promise's value, in order, once all have ended. Unlike Promise.all, a failure waits for the
 * others: runs that train at once must all be over before their GPUs are handed back.
 */
async function allEnded<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const ended = await Promise.allSettled(promises);
  const failed = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
  if (failed) throw failed.reason;
  return ended.map((e) => (e as PromiseFulfilledResult<T>).value);
}

/** The environment variable that carries a run's seed; train.py seeds with it when it is set. */
export const SEED_ENV = 'AUTORESEARCH_SEED';

/**
 * The seed of an experiment's `run`-th run (0-based): different for every run of a tag, and the
 * same again only for the same experiment and run (experiment numbers are never reused in a tag).
 */
export function seedOf(experiment: number, run: number): number {
  return experiment * 1000 + run + 1;
}

export function readTextOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Something is at `file`'s name, a symlink included (lstat: it is never followed). */
function present(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

export function fixLogTail(logPath: string, lines: number): string {
  return logTail(readLogTail(logPath, 16_384), lines).join('\n');
}
