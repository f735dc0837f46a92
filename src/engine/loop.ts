// The experiment loop. The program, not the model, enforces every step:
// branch → (baseline) → experiments (drafted by the agent, committed, trained, measured, kept or
// reset, logged) → until a limit, q or Ctrl+C. This file sets the night up and finishes it; the
// scheduler keeps the slots busy, and each experiment runs itself in its own worktree. Every step
// that changes the tree is preceded by a note in .autoresearch/<tag>/inflight/, so a restart
// after a crash or kill -9 knows exactly what to finish or undo.

import fs from 'node:fs';
import path from 'node:path';
import { LocalExecutor } from '../exec/local.js';
import type { Executor } from '../exec/types.js';
import { BRANCH_PREFIX, short } from '../git/repo.js';
import { acquireLock } from '../ledger/lock.js';
import { decideSandbox } from '../proc/sandbox.js';
import { cutTornTail, readResultsFile, RESULTS_FILE, rowsOfTag, widenHeader } from '../ledger/results.js';
import { clearExperimentState, lockPath, logsDir, readAllInFlight, readExperimentState, settleUnfinishedWrites, STATE_DIR, tagDir, writeExperimentState, writeTagConfig, type InFlight } from '../ledger/state.js';
import { Lab, interruptExitCode, RUN_LOG, slotField, type LoopOptions, type Slot } from './lab.js';
import { preflight, UsageError } from './preflight.js';
import { runCount } from './noise.js';
import { recover } from './recovery.js';
import { Scheduler } from './scheduler.js';
import { batchOutcome, type Outcome } from './decide.js';
import { ZERO_USAGE, type Agent, type EngineConfig } from './types.js';

export { UsageError } from './preflight.js';
export { RUN_LOG, type LoopOptions } from './lab.js';
export { MAX_CONSECUTIVE_SKIPS } from './scheduler.js';

export interface LoopResult {
  exitCode: number;
  reason: string;
}

const branchOf = (tag: string) => `${BRANCH_PREFIX}${tag}`;

export async function runLoop(config: EngineConfig, agent: Agent, opts: LoopOptions, executor?: Executor): Promise<LoopResult> {
  const { repo, programText } = await preflight(config, opts.env ?? process.env);
  const sandboxed = decideSandbox(config.sandbox ?? 'auto').on; // probed once, in preflight
  // A cluster executor's jobs are isolated by the cluster: they are never wrapped in the sandbox.
  const runs: Executor = executor ?? new LocalExecutor(sandboxed ? { network: config.trainNetwork ?? true } : null);
  const unusable = await runs.check?.();
  if (unusable) throw new UsageError(unusable);
  const lock = acquireLock(lockPath(repo.dir), config.tag);
  try {
    const lab = new Lab(config, agent, opts, repo, runs, programText, branchOf(config.tag), path.join(repo.dir, RESULTS_FILE));
    return await run(lab);
  } finally {
    lock.release();
  }
}

/**
 * One slot per GPU given; or `jobs` slots that leave the GPUs to the environment (a cluster's jobs
 * get theirs from the cluster); or one such slot.
 */
export function slotsOf(gpus: string[] | null | undefined, jobs = 1): Slot[] {
  if (gpus && gpus.length > 0) return gpus.map((gpu, index) => ({ index, gpu }));
  return Array.from({ length: Math.max(1, jobs) }, (_, index) => ({ index, gpu: null }));
}

async function run(lab: Lab): Promise<LoopResult> {
  const { repo, tag, branch } = lab;
  await repo.excludeOwnFiles([RESULTS_FILE, `${RESULTS_FILE}.torn-*`, RUN_LOG, `${STATE_DIR}/`]);
  const resumed = await repo.branchExists(branch);
  if ((await repo.currentBranch()) !== branch) {
    if (resumed) await repo.checkout(branch);
    else await repo.createBranch(branch);
  }
  writeTagConfig(lab.dir, tag, { metric: lab.config.metric, direction: lab.config.direction });
  fs.mkdirSync(logsDir(lab.dir, tag), { recursive: true });
  // A row cut short by a crash mid-write: keep its bytes, trim it, and say so.
  const torn = cutTornTail(lab.resultsPath);
  const tornNote = torn
    ? `${RESULTS_FILE} ended in a torn row (${torn.bytes} bytes, cut short by a crash mid-write): saved to ${torn.savedTo} and cut off`
    : null;
  // A results.tsv begun by an older version gets the newer columns, so nothing of the memory is cut off its rows.
  const widened = widenHeader(lab.resultsPath, lab.config.metric);
  lab.rows = rowsOfTag(readResultsFile(lab.resultsPath).rows, tag);
  await fingerprintOlderRows(lab);

  const notes = [
    ...(tornNote ? [tornNote] : []),
    ...(widened ? [`${RESULTS_FILE} was begun by an older version: its header now has the columns ${widened.join(', ')} too (every row kept as it was)`] : []),
    ...settleUnfinishedWrites(lab.dir, tag),
  ];
  const inFlight = readAllInFlight(lab.dir, tag);
  const strayTrees = (await repo.worktrees()).length > 0;
  if (inFlight.length > 0 || strayTrees) await recover(lab, inFlight, notes);
  else if (notes.length > 0) lab.emit({ type: 'recovered', at: Date.now(), message: `${notes.join('; ')}.` });
  await checkHeadIsBest(lab);
  lab.refreshJournal();

  lab.emit({
    type: 'started',
    at: Date.now(),
    tag,
    branch,
    agent: lab.agent.name,
    config: { ...lab.config, repoDir: lab.dir },
    resumed,
    rows: [...lab.rows],
    sandboxed: lab.sandboxed,
  });

  const slots = slotsOf(lab.config.gpus, lab.config.jobs);
  if (lab.best === null) {
    const stop = await runBaseline(lab, slots);
    if (stop) return finish(lab, stop.reason, stop.exitCode);
  }
  lab.nextExperiment = nextFreeExperiment(lab);
  const stop = await new Scheduler(lab, slots).run();
  return finish(lab, stop.reason, stop.exitCode);
}

/**
 * The first experiment number this tag has not used: past its rows, and past any experiment that
 * left a log or a transcript without a row (a skipped one). Numbers name logs and transcripts and
 * pick seeds, so one is never used twice in a tag.
 */
function nextFreeExperiment(lab: Lab): number {
  let next = lab.rows.length;
  for (const row of lab.rows) if (row.experiment !== undefined) next = Math.max(next, row.experiment + 1);
  for (const dir of [logsDir(lab.dir, lab.tag), path.join(tagDir(lab.dir, lab.tag), 'transcripts')]) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^(\d+)[-.]/.exec(name);
      if (m) next = Math.max(next, Number(m[1]) + 1);
    }
  }
  return next;
}

function finish(lab: Lab, reason: string, exitCode: number): LoopResult {
  lab.phase('done', lab.rows.length, null);
  lab.emit({ type: 'finished', at: Date.now(), reason, exitCode });
  return { exitCode, reason };
}

/**
 * Rows written before code fingerprints were recorded get theirs from git, so that their code is
 * not trained again either (in memory only: results.tsv is append-only). A commit git no longer
 * has is left without one.
 */
async function fingerprintOlderRows(lab: Lab): Promise<void> {
  for (const row of lab.rows) {
    if (row.code) continue;
    try {
      row.code = await lab.codeOf(row.commit);
    } catch {
      // gone (a hand-pruned ref): nothing to compare with
    }
  }
}

/** The branch must stand at its best commit; if someone moved it, say so rather than guess. */
async function checkHeadIsBest(lab: Lab): Promise<void> {
  const best = lab.best;
  if (!best) return;
  const head = await lab.repo.head();
  if (short(head) === best.commit) return;
  throw new UsageError(
    `${lab.branch} is at ${short(head)}, but its best result in results.tsv is ${best.commit} ("${best.description}"). ` +
      `The branch was moved by hand. To resume from the best result: git reset --hard ${best.commit}. To start afresh, use a new --tag.`,
  );
}

/**
 * The unmodified code, measured --baseline-runs times (new seeds): the reference every later
 * experiment must beat, and the first estimate of the noise. With several slots the runs train at
 * once, one per slot (the first in the main checkout, the others in worktrees of their own), since
 * nothing else can start before the baseline is known. A baseline stopped part way (Ctrl+C, kill -9)
 * leaves its state file with the runs it measured; the next start goes on from them rather than
 * measuring again, and never hands out a seed an earlier attempt used.
 */
async function runBaseline(lab: Lab, slots: Slot[]): Promise<{ reason: string; exitCode: number } | null> {
  const head = await lab.repo.head();
  const wanted = Math.max(1, lab.config.baselineRuns);
  const logPath = path.join(lab.dir, RUN_LOG);
  const earlier = readExperimentState(lab.dir, lab.tag, 0);
  // Measured runs count only for the code they measured: after a new commit the baseline starts over.
  const goOn = earlier !== null && earlier.phase === 'baseline' && earlier.commit === head && (earlier.values?.length ?? 0) > 0;
  const values: number[] = goOn ? [...earlier.values!] : [];
  let run = baselineSeedsUsed(lab, earlier);
  const startedAt = goOn ? earlier.startedAt : new Date().toISOString();
  writeExperimentState(lab.dir, lab.tag, { experiment: 0, phase: 'baseline', base: head, commit: head, description: 'baseline', startedAt, runs: run, values });
  lab.phase('baseline', 0, slots[0]!, 'measuring the unmodified code');
  let outcome: Outcome;
  let first = run; // the seed index of the run in the main checkout, whose log is run.log
  for (;;) {
    const batch = slots.slice(0, Math.min(wanted - values.length, slots.length));
    first = run;
    run += batch.length;
    // Written down before the runs start: a kill -9 during them must not let their seeds be used again.
    lab.note(0, { runs: run });
    const detail = baselineDetail(values.length, batch.length, wanted);
    const outcomes = await lab.trainAtOnce(0, lab.dir, head, batch, detail, first, (o) => {
      if (o.kind !== 'measured') return;
      values.push(o.value);
      lab.noteIfPossible(0, { values: [...values] }); // each as it comes: a kill -9 while the others train keeps it
    });
    // A crashed baseline stops the night (no mean to make); a stop by the user is said as such.
    outcome = batchOutcome(outcomes);
    if (outcome.kind !== 'measured' || values.length >= wanted) break;
    lab.keepLog(0, head, logPath, `-run${first + 1}`);
  }
  if (outcome.kind === 'crash' && outcome.reason === 'interrupted') {
    // No row: the state file keeps the measured runs, and the next start finishes the baseline.
    lab.keepLog(0, head, logPath, `-run${first + 1}`);
    lab.note(0, { runPid: undefined, runId: undefined, jobId: undefined });
    return { reason: 'interrupted during the baseline', exitCode: interruptExitCode(lab.opts.signal) };
  }
  const status = outcome.kind === 'crash' ? 'crash' : 'keep';
  // A failed attempt's row counts every seed it used (several runs may have crashed at once), so the next attempt starts past them.
  const runs = outcome.kind === 'crash' ? { runs: run - lab.rows.reduce((a, r) => a + runCount(r), 0) } : {};
  const row = lab.logRow(0, { commit: head, outcome, status, description: 'baseline', startedAt, usage: ZERO_USAGE, ...slotField(slots[0]), values, ...runs, code: await lab.codeOf(head) });
  lab.keepLog(0, head, logPath);
  clearExperimentState(lab.dir, lab.tag, 0);
  lab.emitResult(0, row);
  if (outcome.kind === 'crash') {
    return {
      reason: `the baseline run failed (${outcome.reason}): the unmodified code must work before experiments can start. See ${path.join(lab.dir, RUN_LOG)}.`,
      exitCode: 1,
    };
  }
  return null;
}

/** "measuring the unmodified code: run 2 of 3", or "runs 1–3 of 3 at once, one per slot". */
function baselineDetail(measured: number, batch: number, wanted: number): string {
  if (wanted === 1) return 'measuring the unmodified code';
  if (batch === 1) return `measuring the unmodified code: run ${measured + 1} of ${wanted}`;
  return `measuring the unmodified code: runs ${measured + 1}–${measured + batch} of ${wanted} at once, one per slot`;
}

/**
 * How many seeds earlier attempts at this tag's baseline used (the baseline is always experiment 0,
 * so each attempt must start past them): the runs of its failed attempts in results.tsv (every row
 * of a tag without a best is one), the runs an interrupted one wrote in its state file, and, for
 * rows written before crashes counted their runs, the numbered run logs it kept.
 */
function baselineSeedsUsed(lab: Lab, state: InFlight | null): number {
  let used = lab.rows.reduce((a, r) => a + runCount(r), 0);
  if (state?.phase === 'baseline') used = Math.max(used, state.runs ?? 0);
  let names: string[] = [];
  try {
    names = fs.readdirSync(logsDir(lab.dir, lab.tag));
  } catch {
    // no logs yet
  }
  for (const name of names) {
    const m = /^0000-[0-9a-f]+-run(\d+)\.log$/.exec(name);
    if (m) used = Math.max(used, Number(m[1]));
  }
  return used;
}
