// The experiment loop. The program, not the model, enforces every step:
// branch → (baseline) → agent edits → verify → commit → train → measure → keep or reset → log → repeat.
// Every step that changes the tree is preceded by a note in .autoresearch/<tag>/inflight.json,
// so a restart after a crash or kill -9 knows exactly what to finish or undo.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { restoreGitState, snapshotGitState } from '../git/guard.js';
import { BRANCH_PREFIX, GitRepo, short } from '../git/repo.js';
import { appendResult, readResultsFile, RESULTS_FILE, rowsOfTag } from '../ledger/results.js';
import { acquireLock } from '../ledger/lock.js';
import {
  clearInFlight,
  experimentLogPath,
  judgeResultPath,
  lockPath,
  logsDir,
  readInFlight,
  STATE_DIR,
  writeInFlight,
  writeTagConfig,
  type InFlight,
} from '../ledger/state.js';
import { scrubEnv } from '../proc/env.js';
import { decideSandbox } from '../proc/sandbox.js';
import { freeBytes, readLogTail, runTraining } from '../proc/training.js';
import { groupAlive, killTree } from '../proc/tree.js';
import { decide, describe, judgeRun, standingOf, stopReason, type Outcome } from './decide.js';
import { applyJudge, judgeRules, parseVerdict, RESULT_FILE_ENV, type JudgeRules } from './judge.js';
import { logTail, parseMemoryGb } from './metric.js';
import {
  addUsage,
  FatalAgentError,
  ZERO_USAGE,
  type Agent,
  type EngineConfig,
  type EngineEvent,
  type ExperimentContext,
  type Phase,
  type Proposal,
  type ResultRow,
  type Usage,
} from './types.js';

export const RUN_LOG = 'run.log';
/** The fixed data and evaluation, beside train.py: the judge of every run (see judge.ts). */
const PREPARE_FILE = 'prepare.py';
/** A failed run on a filesystem with less than this free is blamed on the full disk. */
const DISK_FULL_BYTES = 1024 * 1024;
const DISK_FULL = 'no space left on device';
const LOG_TAIL_LINES = 12;
const FIX_LOG_TAIL_LINES = 60;
/** Skipped experiments in a row after which the loop stops: the model is not making changes, and
 * going on all night would only spend money. */
export const MAX_CONSECUTIVE_SKIPS = 5;

/** A problem with how the program was started: reported with exit code 2, nothing changed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface LoopOptions {
  onEvent: (e: EngineEvent) => void;
  /** Aborted on Ctrl+C / SIGTERM: stop now; its `reason` ('SIGINT' | 'SIGTERM') picks the exit code. */
  signal: AbortSignal;
  /** Asked between experiments: a reason to stop after the current one (the dashboard's `q`), or null. */
  gracefulStop?: () => string | null;
  /** The environment the training run inherits, minus secrets. Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface LoopResult {
  exitCode: number;
  reason: string;
}

const branchOf = (tag: string) => `${BRANCH_PREFIX}${tag}`;
const discardedRef = (tag: string, commit: string) => `refs/autoresearch/${tag}/discarded/${short(commit)}`;

function interruptExitCode(signal: AbortSignal): number {
  return signal.reason === 'SIGTERM' ? 143 : 130;
}

/**
 * The program a run command starts (`uv run train.py` → uv), when it is a plain name to look up
 * on PATH; null for paths, shell syntax or leading variable assignments, which we leave to the shell.
 */
export function runProgram(runCmd: string): string | null {
  const first = runCmd.trim().split(/\s+/)[0] ?? '';
  return /^[A-Za-z0-9_.+-]+$/.test(first) ? first : null;
}

/** Whether the shell that will run the command can find `program` (a builtin, keyword or file on PATH). */
export function shellFinds(program: string, env: NodeJS.ProcessEnv): boolean {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1" >/dev/null', 'sh', program], { env, stdio: 'ignore' }).status === 0;
}

/** Files a run command names (`uv run train.py` → train.py) that must exist before we start. */
export function runTargets(runCmd: string): string[] {
  return runCmd
    .split(/\s+/)
    .filter((word) => /^[\w./-]+\.(py|sh)$/.test(word) && !word.startsWith('-'));
}

export async function runLoop(config: EngineConfig, agent: Agent, opts: LoopOptions): Promise<LoopResult> {
  const repo = await openAndCheck(config, opts.env ?? process.env);
  const dir = repo.dir;
  const tag = config.tag;
  const branch = branchOf(tag);
  const resultsPath = path.join(dir, RESULTS_FILE);
  const programText = fs.readFileSync(path.resolve(config.repoDir, config.programPath), 'utf8');

  const existing = readResultsFile(resultsPath);
  if (existing.metricName !== null && existing.metricName !== config.metric) {
    throw new UsageError(
      `${resultsPath} records "${existing.metricName}", but --metric is "${config.metric}". Use --metric ${existing.metricName}, or move results.tsv aside.`,
    );
  }

  // The user's uncommitted work is never ours to touch, except what a killed run of this very tag left behind.
  const onOurBranch = (await repo.currentBranch()) === branch;
  const inFlight = onOurBranch ? readInFlight(dir, tag) : null;
  const dirty = await repo.dirtyTrackedFiles();
  if (dirty.length > 0 && inFlight === null) {
    throw new UsageError(
      `Uncommitted changes in tracked files: ${dirty.join(', ')}.\n` +
        `autoresearch resets the working tree between experiments, so it will not start over your work. ` +
        `Commit it (git commit -am "...") or stash it (git stash), then run the same command again.`,
    );
  }

  const lock = acquireLock(lockPath(dir), tag);
  try {
    return await new Loop(config, agent, opts, repo, programText, branch, resultsPath).run(inFlight);
  } finally {
    lock.release();
  }
}

async function openAndCheck(config: EngineConfig, env: NodeJS.ProcessEnv): Promise<GitRepo> {
  const programFile = path.resolve(config.repoDir, config.programPath);
  if (!fs.existsSync(programFile)) {
    throw new UsageError(`The research protocol ${programFile} does not exist. Pass --program FILE, or create program.md (autoresearch init writes one).`);
  }
  let repo: GitRepo;
  try {
    repo = await GitRepo.open(config.repoDir);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  for (const file of config.editable) {
    if (!fs.existsSync(path.join(repo.dir, file))) {
      throw new UsageError(`The editable file ${file} does not exist in ${repo.dir}. Check --editable (default train.py).`);
    }
  }
  const program = runProgram(config.runCmd);
  if (program !== null && !shellFinds(program, env)) {
    const hint =
      program === 'uv'
        ? ' Install uv (https://docs.astral.sh/uv/getting-started/installation/), or run with --run-cmd "python train.py".'
        : ' Install it, or pass --run-cmd with a command that exists.';
    throw new UsageError(`--run-cmd "${config.runCmd}" needs ${program}, which is not on PATH.${hint}`);
  }
  const sandbox = decideSandbox(config.sandbox ?? 'auto', config.trainNetwork ?? true);
  if (sandbox.error) throw new UsageError(sandbox.error);
  for (const target of runTargets(config.runCmd)) {
    if (!fs.existsSync(path.join(repo.dir, target))) {
      throw new UsageError(`--run-cmd "${config.runCmd}" runs ${target}, which does not exist in ${repo.dir}.`);
    }
  }
  return repo;
}

class Loop {
  private rows: ResultRow[] = []; // this tag's rows, oldest first
  private startedAtMs = Date.now();
  private experimentsDone = 0;
  private consecutiveSkips = 0;
  private usage: Usage = ZERO_USAGE;
  private readonly env: Record<string, string>;
  private readonly sandboxed: boolean;
  private readonly judge: JudgeRules;

  constructor(
    private readonly config: EngineConfig,
    private readonly agent: Agent,
    private readonly opts: LoopOptions,
    private readonly repo: GitRepo,
    private readonly programText: string,
    private readonly branch: string,
    private readonly resultsPath: string,
  ) {
    this.env = { ...scrubEnv(opts.env ?? process.env), PYTHONUNBUFFERED: '1' };
    this.sandboxed = decideSandbox(config.sandbox ?? 'auto').on; // probed once, in openAndCheck
    // Read once: prepare.py is not editable, so what it promises holds for the whole night.
    this.judge = judgeRules(readTextOrNull(path.join(repo.dir, PREPARE_FILE)), config.metric);
  }

  private get dir(): string {
    return this.repo.dir;
  }

  private emit(e: EngineEvent): void {
    this.opts.onEvent(e);
  }

  private phase(phase: Phase, experiment: number, detail?: string): void {
    this.emit({ type: 'phase', at: Date.now(), phase, experiment, ...(detail ? { detail } : {}) });
  }

  private get best() {
    return standingOf(this.rows).best;
  }

  async run(inFlight: InFlight | null): Promise<LoopResult> {
    const { tag } = this.config;
    await this.repo.excludeOwnFiles([RESULTS_FILE, RUN_LOG, `${STATE_DIR}/`]);
    const resumed = await this.repo.branchExists(this.branch);
    if ((await this.repo.currentBranch()) !== this.branch) {
      if (resumed) await this.repo.checkout(this.branch);
      else await this.repo.createBranch(this.branch);
    }
    writeTagConfig(this.dir, tag, { metric: this.config.metric, direction: this.config.direction });
    fs.mkdirSync(logsDir(this.dir, tag), { recursive: true });
    this.rows = rowsOfTag(readResultsFile(this.resultsPath).rows, tag);

    if (inFlight) await this.recover(inFlight);
    await this.checkHeadIsBest();

    this.emit({
      type: 'started',
      at: Date.now(),
      tag,
      branch: this.branch,
      agent: this.agent.name,
      config: { ...this.config, repoDir: this.dir },
      resumed,
      rows: [...this.rows],
      sandboxed: this.sandboxed,
    });

    if (this.best === null) {
      const baseline = await this.runBaseline();
      if (baseline) return baseline;
    }

    for (;;) {
      const reason = stopReason({
        experimentsDone: this.experimentsDone,
        maxExperiments: this.config.maxExperiments,
        startedAtMs: this.startedAtMs,
        nowMs: Date.now(),
        maxHours: this.config.maxHours,
        costUsd: this.usage.costUsd,
        maxCostUsd: this.config.maxCostUsd,
        stopRequested: this.opts.gracefulStop?.() ?? null,
      });
      if (reason) return this.finish(reason, 0);
      if (this.opts.signal.aborted) return this.finish('interrupted', interruptExitCode(this.opts.signal));
      const stop = await this.experiment();
      if (stop) return stop;
    }
  }

  private finish(reason: string, exitCode: number): LoopResult {
    this.phase('done', this.rows.length);
    this.emit({ type: 'finished', at: Date.now(), reason, exitCode });
    return { exitCode, reason };
  }

  /**
   * Finish what a killed run left: an experiment commit without a row is logged as an interrupted
   * crash, uncommitted edits are saved under a ref, and the tree goes back to the best commit.
   */
  private async recover(inFlight: InFlight): Promise<void> {
    const { tag } = this.config;
    const notes: string[] = [];
    // A training run that outlived its killed parent would still hold the GPU: stop it first.
    if (inFlight.runPid !== undefined && groupAlive(inFlight.runPid)) {
      await killTree(inFlight.runPid);
      notes.push(`stopped the orphaned training run (process group ${inFlight.runPid})`);
    }
    // A git command killed with us leaves its index lock; we hold the run lock, so it is stale.
    if (await this.repo.removeStaleIndexLock()) notes.push('removed a stale .git/index.lock');
    const edits = await this.repo.snapshotWorkingTree();
    if (edits) {
      const ref = `refs/autoresearch/${tag}/interrupted/${short(edits)}`;
      await this.repo.keepRef(ref, edits);
      notes.push(`uncommitted edits of experiment ${inFlight.experiment} saved as ${ref}`);
    }
    const best = this.best;
    const head = await this.repo.head();
    const target = best ? await this.repo.resolve(best.commit) : inFlight.base;
    if (best && target && head !== target) {
      const logged = this.rows.some((r) => r.commit === short(head));
      if (!logged) {
        const description = inFlight.description ?? (await this.repo.subject(head));
        await this.logRow(head, { kind: 'crash', reason: 'interrupted', memoryGb: 0 }, description, inFlight.startedAt, ZERO_USAGE);
        notes.push(`experiment ${inFlight.experiment} (${short(head)}) was interrupted: logged as crash`);
      }
      await this.repo.keepRef(discardedRef(tag, head), head);
    }
    if (target) await this.repo.resetHard(target);
    clearInFlight(this.dir, tag);
    this.emit({
      type: 'recovered',
      at: Date.now(),
      message: `Recovered from an interrupted run${notes.length ? `: ${notes.join('; ')}` : ''}. Tree reset to ${target ? short(target) : 'HEAD'}.`,
    });
  }

  /** The branch must stand at its best commit; if someone moved it, say so rather than guess. */
  private async checkHeadIsBest(): Promise<void> {
    const best = this.best;
    if (!best) return;
    const head = await this.repo.head();
    if (short(head) === best.commit) return;
    throw new UsageError(
      `${this.branch} is at ${short(head)}, but its best result in results.tsv is ${best.commit} ("${best.description}"). ` +
        `The branch was moved by hand. To resume from the best result: git reset --hard ${best.commit}. To start afresh, use a new --tag.`,
    );
  }

  private context(experiment: number, fix?: ExperimentContext['fix']): ExperimentContext {
    return {
      repoDir: this.dir,
      tag: this.config.tag,
      experiment,
      metric: this.config.metric,
      direction: this.config.direction,
      editable: this.config.editable,
      programText: this.programText,
      standing: standingOf(this.rows),
      history: [...this.rows],
      sandbox: this.sandboxed,
      ...(fix ? { fix } : {}),
    };
  }

  /** The unmodified code, measured once per tag: the reference every later experiment must beat. */
  private async runBaseline(): Promise<LoopResult | null> {
    const startedAt = new Date().toISOString();
    const head = await this.repo.head();
    writeInFlight(this.dir, this.config.tag, { experiment: 0, phase: 'baseline', base: head, commit: head, description: 'baseline', startedAt });
    this.phase('baseline', 0, 'measuring the unmodified code');
    const outcome = await this.train(0);
    const row = await this.logRow(head, outcome, 'baseline', startedAt, ZERO_USAGE);
    await this.keepLog(0, head);
    clearInFlight(this.dir, this.config.tag);
    this.emitResult(0, row);
    if (outcome.kind === 'crash' && outcome.reason === 'interrupted') {
      return this.finish('interrupted during the baseline', interruptExitCode(this.opts.signal));
    }
    if (outcome.kind === 'crash') {
      return this.finish(
        `the baseline run failed (${outcome.reason}): the unmodified code must work before experiments can start. See ${path.join(this.dir, RUN_LOG)}.`,
        1,
      );
    }
    return null;
  }

  /** One experiment, start to row. Returns a result only when the loop must end. */
  private async experiment(): Promise<LoopResult | null> {
    const { tag } = this.config;
    const signal = this.opts.signal;
    const n = this.rows.length;
    const best = this.best;
    if (!best) throw new Error('internal: an experiment needs a best commit');
    const base = (await this.repo.resolve(best.commit)) ?? (await this.repo.head());
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let usage: Usage = ZERO_USAGE;

    writeInFlight(this.dir, tag, { experiment: n, phase: 'agent', base, commit: null, description: null, startedAt });
    const edit = await this.askAgent(n, this.context(n));
    usage = addUsage(usage, edit.usage);
    this.usage = addUsage(this.usage, edit.usage);
    if (edit.kind === 'stop') {
      await this.abandonEdits(base);
      return this.finish(edit.reason, edit.exitCode);
    }
    if (edit.kind === 'skipped') {
      await this.abandonEdits(base);
      this.experimentsDone++;
      this.consecutiveSkips++;
      this.emit({ type: 'skipped', at: Date.now(), experiment: n, reason: edit.reason });
      if (this.consecutiveSkips >= MAX_CONSECUTIVE_SKIPS) {
        return this.finish(
          `${this.consecutiveSkips} experiments in a row ended without a change (last: ${edit.reason}). ` +
            `Read the transcripts in ${path.join(STATE_DIR, tag, 'transcripts')}/, adjust ${this.config.programPath} if needed, then run the same command again.`,
          1,
        );
      }
      return null;
    }
    this.consecutiveSkips = 0;

    this.phase('committing', n, edit.description);
    let description = edit.description;
    let commit = await this.repo.commitFiles(edit.changed, description);
    writeInFlight(this.dir, tag, { experiment: n, phase: 'training', base, commit, description, startedAt });
    this.emit({ type: 'committed', at: Date.now(), experiment: n, commit: short(commit), description, restored: edit.restored });

    let outcome = await this.train(n);
    for (let attempt = 1; outcome.kind === 'crash' && outcome.reason !== 'interrupted' && outcome.reason !== DISK_FULL && attempt <= this.config.fixAttempts; attempt++) {
      const log = readLogTail(path.join(this.dir, RUN_LOG), 16_384);
      const fix = await this.askAgent(
        n,
        this.context(n, { attempt, reason: outcome.reason, logTail: logTail(log, FIX_LOG_TAIL_LINES).join('\n'), description }),
      );
      usage = addUsage(usage, fix.usage);
      this.usage = addUsage(this.usage, fix.usage);
      if (fix.kind !== 'submitted') {
        if (fix.kind === 'stop') {
          await this.settle(n, commit, base, outcome, description, startedAt, started, usage);
          return this.finish(fix.reason, fix.exitCode);
        }
        break; // no fix offered: the crash stands
      }
      // The crashed attempt stays reachable; the fixed version replaces it as one experiment commit.
      await this.repo.keepRef(`${discardedRef(tag, commit)}-crash`, commit);
      await this.repo.resetSoft(base);
      description = fix.description;
      this.phase('committing', n, `fix ${attempt}: ${description}`);
      commit = await this.repo.commitFiles([...new Set([...edit.changed, ...fix.changed])], description);
      writeInFlight(this.dir, tag, { experiment: n, phase: 'training', base, commit, description, startedAt });
      this.emit({ type: 'committed', at: Date.now(), experiment: n, commit: short(commit), description, restored: fix.restored });
      outcome = await this.train(n);
    }

    await this.settle(n, commit, base, outcome, description, startedAt, started, usage);
    if (outcome.kind === 'crash' && outcome.reason === 'interrupted') {
      return this.finish('interrupted', interruptExitCode(signal));
    }
    if (outcome.kind === 'crash' && outcome.reason === DISK_FULL) return this.diskFullStop();
    return null;
  }

  /** Decide, log the row, and move the branch: forward on keep, back to the best otherwise. */
  private async settle(n: number, commit: string, base: string, outcome: Outcome, description: string, startedAt: string, started: number, usage: Usage): Promise<void> {
    this.phase('deciding', n);
    const row = await this.logRow(commit, outcome, description, startedAt, usage, (Date.now() - started) / 1000);
    await this.keepLog(n, commit);
    if (row.status !== 'keep') {
      await this.repo.keepRef(discardedRef(this.config.tag, commit), commit);
      await this.repo.resetHard(base);
    }
    clearInFlight(this.dir, this.config.tag);
    this.experimentsDone++;
    this.emitResult(n, row);
  }

  private emitResult(n: number, row: ResultRow): void {
    this.emit({ type: 'result', at: Date.now(), experiment: n, row, standing: standingOf(this.rows) });
  }

  private async logRow(commit: string, outcome: Outcome, description: string, startedAt: string, usage: Usage, seconds?: number): Promise<ResultRow> {
    const best = this.best;
    const status = decide(outcome, best ? best.value : null, this.config.direction);
    const row: ResultRow = {
      commit: short(commit),
      value: outcome.kind === 'measured' ? outcome.value : 0,
      memoryGb: outcome.kind === 'measured' ? outcome.memoryGb : 0,
      status,
      description: describe(description, outcome),
      tag: this.config.tag,
      startedAt,
      seconds: seconds ?? (Date.now() - Date.parse(startedAt)) / 1000,
      usage,
    };
    appendResult(this.resultsPath, this.config.metric, row);
    this.rows.push(row);
    return row;
  }

  private async keepLog(n: number, commit: string): Promise<void> {
    const from = path.join(this.dir, RUN_LOG);
    if (fs.existsSync(from)) await fs.promises.copyFile(from, experimentLogPath(this.dir, this.config.tag, n, short(commit)));
  }

  private async train(n: number): Promise<Outcome> {
    const logPath = path.join(this.dir, RUN_LOG);
    const resultPath = judgeResultPath(this.dir, this.config.tag);
    fs.rmSync(resultPath, { force: true }); // a verdict counts only for the run that wrote it
    this.phase('training', n, this.config.runCmd);
    const result = await runTraining({
      cmd: this.config.runCmd,
      cwd: this.dir,
      logPath,
      timeoutSec: this.config.timeoutSec,
      env: { ...this.env, [RESULT_FILE_ENV]: resultPath },
      sandbox: this.sandboxed ? { network: this.config.trainNetwork ?? true } : null,
      signal: this.opts.signal,
      onStart: (pid) => {
        const current = readInFlight(this.dir, this.config.tag);
        if (current) writeInFlight(this.dir, this.config.tag, { ...current, runPid: pid });
      },
      onTick: (elapsedSec) =>
        this.emit({
          type: 'training',
          at: Date.now(),
          experiment: n,
          elapsedSec,
          timeoutSec: this.config.timeoutSec,
          logTail: logTail(readLogTail(logPath), LOG_TAIL_LINES),
        }),
    });
    const log = fs.readFileSync(logPath, 'utf8');
    const outcome = applyJudge(
      judgeRun({ ...result, log }, this.config.metric),
      parseVerdict(readTextOrNull(resultPath)),
      { exitCode: result.exitCode, wallSec: result.seconds, memoryGb: parseMemoryGb(log) },
      this.judge,
    );
    // A run that failed while the disk is full failed for that reason, whatever its log says
    // (its output may never have reached the log at all).
    if (outcome.kind === 'crash' && outcome.reason !== 'interrupted' && outcome.reason !== 'timeout') {
      const free = freeBytes(this.dir);
      if (free !== null && free < DISK_FULL_BYTES) return { kind: 'crash', reason: DISK_FULL, memoryGb: 0 };
    }
    return outcome;
  }

  /** Going on with a full disk would only crash every experiment: stop, resumably, and say why. */
  private diskFullStop(): LoopResult {
    const free = freeBytes(this.dir);
    return this.finish(
      `the disk is full (${free === null ? 'unknown' : `${Math.round(free / 1024)} KB`} free on ${this.dir}): free some space, then run the same command again to resume`,
      1,
    );
  }

  /**
   * Let the agent edit, then enforce the rules: refs and non-editable files put back, and only
   * editable files that really changed are committed.
   */
  private async askAgent(n: number, ctx: ExperimentContext): Promise<AgentEdit> {
    const { editable } = this.config;
    this.phase('agent', n, ctx.fix ? `fixing: ${ctx.fix.reason}` : undefined);
    const snapshot = await snapshotGitState(this.dir);
    let proposal: Proposal;
    try {
      proposal = await this.agent.propose(ctx, this.opts.signal, (activity) =>
        this.emit({ type: 'agent', at: Date.now(), experiment: n, activity }),
      );
    } catch (err) {
      await restoreGitState(this.dir, snapshot, editable);
      if (this.opts.signal.aborted) return { kind: 'stop', reason: 'interrupted', exitCode: interruptExitCode(this.opts.signal), usage: ZERO_USAGE };
      if (err instanceof FatalAgentError) return { kind: 'stop', reason: err.message, exitCode: 1, usage: ZERO_USAGE };
      return { kind: 'skipped', reason: `the agent failed: ${(err as Error).message}`, usage: ZERO_USAGE };
    }
    const restored = await restoreGitState(this.dir, snapshot, editable);
    if (this.opts.signal.aborted) return { kind: 'stop', reason: 'interrupted', exitCode: interruptExitCode(this.opts.signal), usage: proposal.usage };
    if (proposal.kind === 'skipped') return { kind: 'skipped', reason: proposal.reason, usage: proposal.usage };
    const changed = (await this.repo.changedPaths()).filter((p) => editable.includes(p));
    if (changed.length === 0) return { kind: 'skipped', reason: 'the agent submitted without changing an editable file', usage: proposal.usage };
    return { kind: 'submitted', description: proposal.description, changed, restored, usage: proposal.usage };
  }

  /** Drop an experiment that never reached a commit, keeping its edits reachable under a ref. */
  private async abandonEdits(base: string): Promise<void> {
    const edits = await this.repo.snapshotWorkingTree();
    if (edits) await this.repo.keepRef(`refs/autoresearch/${this.config.tag}/abandoned/${short(edits)}`, edits);
    await this.repo.resetHard(base);
    clearInFlight(this.dir, this.config.tag);
  }
}

function readTextOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

type AgentEdit =
  | { kind: 'submitted'; description: string; changed: string[]; restored: string[]; usage: Usage }
  | { kind: 'skipped'; reason: string; usage: Usage }
  | { kind: 'stop'; reason: string; exitCode: number; usage: Usage };
