// The dashboard's state as a pure function of the engine's events. Nothing here knows about Ink
// or time passing: the view adds "now" when it renders, so this reducer is tested on its own.
//
// Several experiments can be in flight at once (the next one drafted while one trains, one per GPU),
// and their events interleave. Each is tracked by number until its row (or skip) lands; the "Now"
// fields at the top level mirror the one the Now panel follows (see focusOf).

import { standingOf } from '../engine/decide.js';
import { addUsage, ZERO_USAGE } from '../engine/types.js';
import type { Direction, EngineEvent, Phase, ResultRow, Standing, Status, Usage } from '../engine/types.js';

/** How many result rows the Recent panel can show; older ones live in results.tsv. */
export const RECENT_MAX = 10;
/** How much streamed model text is kept: a few screen lines' worth, so memory stays flat overnight. */
export const STREAM_MAX = 1200;

export type RunState = 'waiting' | 'running' | 'stopping' | 'finished';

export interface RecentRow {
  experiment: number;
  row: ResultRow;
  /** Why it was kept or not, with its margin against the noise (this session's results only: results.tsv does not hold it). */
  verdict?: string;
}

export interface ToolCall {
  name: string;
  summary: string;
  result: { isError: boolean; summary: string } | null;
}

export interface TrainingProgress {
  experiment: number;
  elapsedSec: number;
  timeoutSec: number;
  logTail: string[];
  at: number; // when the engine reported it, so the view can keep the clock moving in between
  /** A cluster job: waiting in the queue (and why) or running, with its id; absent for a local run. */
  job?: { state: 'pending' | 'running'; reason?: string; id?: string };
}

export interface UsageTotals {
  /** Every row of the tag read so far, earlier sessions included. */
  rows: Usage;
  /** Rows finished by this invocation. */
  session: Usage;
  /** This invocation's experiments that ended without a row (skipped, cut short): spent all the same. */
  dropped: Usage;
}

/** One experiment in flight, from its first event to its row or skip. */
export interface InFlight {
  experiment: number;
  /** The GPU it drafts for and trains on; null with one slot. */
  slot: string | null;
  phase: Phase;
  phaseAt: number;
  detail: string | null;
  description: string | null;
  commit: string | null;
  training: TrainingProgress | null;
  /** When its current run began: the Now panel follows the newest run. */
  runStartedAt: number | null;
  streamText: string;
  tool: ToolCall | null;
  retry: { attempt: number; waitMs: number; reason: string; at: number } | null;
  /** Running total of its current agent call, and of its earlier calls (a fix or redo counts from zero again). */
  usage: Usage;
  carried: Usage;
}

export interface DashboardState {
  runState: RunState;
  tag: string | null;
  branch: string | null;
  agent: string | null;
  metric: string;
  direction: Direction;
  timeoutSec: number | null;
  /** The GPUs given with --gpus (one slot each); null: one slot. */
  gpus: string[] | null;
  lookahead: number;
  resumed: boolean;
  sandboxed: boolean | null; // null: not said (an engine event without the field)
  startedAt: number | null;
  lastEventAt: number | null;
  finishedAt: number | null;

  /** Experiments in flight, by number. */
  inFlight: InFlight[];
  /** The experiment the Now panel follows (it may have ended: its last state stays on screen). */
  focus: number | null;

  // The Now panel's experiment, mirrored from `inFlight` (phase also says 'done' once finished).
  phase: Phase;
  phaseAt: number | null;
  phaseDetail: string | null;
  experiment: number;
  /** Its GPU, when there are several. */
  slot: string | null;
  /** The description of the experiment in progress, once the agent has submitted it. */
  description: string | null;
  commit: string | null;

  counts: Record<Status, number>;
  /** Experiments finished by this invocation. */
  sessionExperiments: number;
  standing: Standing;
  /** Best-so-far after each row (null before the first kept row): the sparkline's data. */
  bestSeries: (number | null)[];
  recent: RecentRow[];
  lastResult: RecentRow | null;
  /** The noise σ per run pooled so far (from the latest result), and how many runs it comes from; null while unknown. */
  noise: { sigma: number; df: number; runs?: number } | null;

  streamText: string;
  tool: ToolCall | null;
  retry: { attempt: number; waitMs: number; reason: string; at: number } | null;
  training: TrainingProgress | null;
  usage: UsageTotals;

  /** The latest thing worth telling the user that is not a result: a recovery, a skip, restored files. */
  notice: string | null;
  stopReason: string | null;
  finish: { reason: string; exitCode: number } | null;
}

export const initialState: DashboardState = {
  runState: 'waiting',
  tag: null,
  branch: null,
  agent: null,
  metric: 'val_bpb',
  direction: 'min',
  timeoutSec: null,
  gpus: null,
  lookahead: 0,
  resumed: false,
  sandboxed: null,
  startedAt: null,
  lastEventAt: null,
  finishedAt: null,
  inFlight: [],
  focus: null,
  phase: 'starting',
  phaseAt: null,
  phaseDetail: null,
  experiment: 0,
  slot: null,
  description: null,
  commit: null,
  counts: { keep: 0, discard: 0, crash: 0 },
  sessionExperiments: 0,
  standing: { baseline: null, best: null },
  bestSeries: [],
  recent: [],
  lastResult: null,
  noise: null,
  streamText: '',
  tool: null,
  retry: null,
  training: null,
  usage: { rows: ZERO_USAGE, session: ZERO_USAGE, dropped: ZERO_USAGE },
  notice: null,
  stopReason: null,
  finish: null,
};

/** What the experiments in flight have spent so far: not yet in a row. */
export function inFlightUsage(s: DashboardState): Usage {
  let u = ZERO_USAGE;
  for (const f of s.inFlight) u = addUsage(addUsage(u, f.carried), f.usage);
  return u;
}

/** Tokens and dollars so far, the experiments in progress included. */
export function totalUsage(s: DashboardState): Usage {
  return addUsage(addUsage(s.usage.rows, s.usage.dropped), inFlightUsage(s));
}

/** This invocation's tokens and dollars, the experiments in progress included. */
export function sessionUsage(s: DashboardState): Usage {
  return addUsage(addUsage(s.usage.session, s.usage.dropped), inFlightUsage(s));
}

/** How many experiments a slot holds at once: the one training and the drafts ahead of it. */
export function slotCapacity(s: Pick<DashboardState, 'lookahead'>): number {
  return 1 + Math.max(0, s.lookahead);
}

/** Whether more than one experiment can be in flight, so the dashboard lists them one per line. */
export function isPipelined(s: Pick<DashboardState, 'gpus' | 'lookahead'>): boolean {
  return s.gpus !== null || s.lookahead > 0;
}

/** Phases in which an experiment holds its GPU with a run to show. */
const RUN_PHASES: ReadonlySet<Phase> = new Set<Phase>(['baseline', 'training', 'deciding']);

/**
 * The experiment the Now panel follows: the newest run when any trains (a run's log is the thing to
 * watch, and a new run starts only every few minutes per GPU, so the panel does not flicker between
 * GPUs' ticks); otherwise the one it already follows while that is in flight; otherwise the one that
 * changed phase last. With nothing in flight it stays on the last one, whose end stays on screen.
 */
export function focusOf(inFlight: readonly InFlight[], current: number | null): number | null {
  let run: InFlight | null = null;
  for (const f of inFlight) {
    if (!RUN_PHASES.has(f.phase)) continue;
    const started = f.runStartedAt ?? f.phaseAt;
    const best = run ? (run.runStartedAt ?? run.phaseAt) : -Infinity;
    if (run === null || started > best || (started === best && f.experiment > run.experiment)) run = f;
  }
  if (run) return run.experiment;
  if (current !== null && inFlight.some((f) => f.experiment === current)) return current;
  let latest: InFlight | null = null;
  for (const f of inFlight) if (latest === null || f.phaseAt > latest.phaseAt || (f.phaseAt === latest.phaseAt && f.experiment > latest.experiment)) latest = f;
  return latest ? latest.experiment : current;
}

/** Experiments finished for the tag: every row, the baseline included. */
export function experimentsDone(s: DashboardState): number {
  return s.counts.keep + s.counts.discard + s.counts.crash;
}

function countRows(rows: readonly ResultRow[]): Record<Status, number> {
  const counts = { keep: 0, discard: 0, crash: 0 };
  for (const r of rows) counts[r.status]++;
  return counts;
}

function bestSeriesOf(rows: readonly ResultRow[]): (number | null)[] {
  // A row is only kept when it beats the best before it, so the best is the last kept value.
  let best: number | null = null;
  return rows.map((r) => {
    if (r.status === 'keep') best = r.value;
    return best;
  });
}

function sumUsage(rows: readonly ResultRow[]): Usage {
  let u = ZERO_USAGE;
  for (const r of rows) u = addUsage(u, r.usage);
  return u;
}

function appendStream(text: string, chunk: string): string {
  const joined = text + chunk;
  return joined.length > STREAM_MAX ? joined.slice(joined.length - STREAM_MAX) : joined;
}

/** A running total that went down means a new agent call started counting from zero. */
function restarted(prev: Usage, next: Usage): boolean {
  return next.costUsd < prev.costUsd || next.inputTokens < prev.inputTokens || next.outputTokens < prev.outputTokens;
}

function newInFlight(experiment: number, slot: string | null, phase: Phase, at: number): InFlight {
  return {
    experiment,
    slot,
    phase,
    phaseAt: at,
    detail: null,
    description: null,
    commit: null,
    training: null,
    runStartedAt: null,
    streamText: '',
    tool: null,
    retry: null,
    usage: ZERO_USAGE,
    carried: ZERO_USAGE,
  };
}

function spent(f: InFlight): Usage {
  return addUsage(f.carried, f.usage);
}

/**
 * Apply `change` to experiment `n`, adding it when this is its first event. A slot that would hold
 * more experiments than it can lets go of its oldest: their end was never told (a draft cut short
 * by a stop has no event), and with --lookahead 0 this is how one experiment follows the other.
 */
function upsert(s: DashboardState, n: number, slot: string | undefined, firstPhase: Phase, at: number, change: (f: InFlight) => InFlight): DashboardState {
  const existing = s.inFlight.find((f) => f.experiment === n);
  if (existing) return { ...s, inFlight: s.inFlight.map((f) => (f === existing ? change(f) : f)) };
  const label = slot ?? null;
  const same = s.inFlight.filter((f) => f.slot === label);
  const overflow = new Set(same.slice(0, Math.max(0, same.length - slotCapacity(s) + 1)).map((f) => f.experiment));
  let dropped = s.usage.dropped;
  for (const f of s.inFlight) if (overflow.has(f.experiment)) dropped = addUsage(dropped, spent(f));
  const kept = s.inFlight.filter((f) => !overflow.has(f.experiment));
  const inFlight = [...kept, change(newInFlight(n, label, firstPhase, at))].sort((a, b) => a.experiment - b.experiment);
  // A new experiment: the news about the previous one is old.
  return { ...s, inFlight, notice: null, usage: { ...s.usage, dropped } };
}

/** Drop experiment `n` from the in-flight list; `keepUsage` when its spending is not in a row. */
function remove(s: DashboardState, n: number, keepUsage: boolean): DashboardState {
  const gone = s.inFlight.find((f) => f.experiment === n);
  if (!gone) return s;
  return {
    ...s,
    inFlight: s.inFlight.filter((f) => f !== gone),
    usage: keepUsage ? { ...s.usage, dropped: addUsage(s.usage.dropped, spent(gone)) } : s.usage,
  };
}

/** Point the Now fields at the experiment to follow. A finished run keeps its last picture. */
function withFocus(s: DashboardState): DashboardState {
  if (s.runState === 'finished') return s;
  const focus = focusOf(s.inFlight, s.focus);
  const f = s.inFlight.find((x) => x.experiment === focus);
  if (!f) return { ...s, focus };
  return {
    ...s,
    focus,
    experiment: f.experiment,
    slot: f.slot,
    phase: f.phase,
    phaseAt: f.phaseAt,
    phaseDetail: f.detail,
    description: f.description,
    commit: f.commit,
    training: f.training,
    streamText: f.streamText,
    tool: f.tool,
    retry: f.retry,
  };
}

function onPhase(s: DashboardState, e: Extract<EngineEvent, { type: 'phase' }>): DashboardState {
  return upsert(s, e.experiment, e.slot, e.phase, e.at, (f) => {
    const next: InFlight = { ...f, phase: e.phase, phaseAt: e.at, detail: e.detail ?? null };
    if ((e.phase === 'training' || e.phase === 'baseline') && s.timeoutSec !== null) {
      // A new run starts at zero; the bar shows at once rather than after the engine's first tick.
      next.training = { experiment: e.experiment, elapsedSec: 0, timeoutSec: s.timeoutSec, logTail: [], at: e.at };
    }
    if (e.phase === 'training' || e.phase === 'baseline') next.runStartedAt = e.at;
    if (e.phase === 'agent') {
      // A new agent call (the first of an experiment, a fix, a redo) starts a fresh transcript.
      next.streamText = '';
      next.tool = null;
      next.retry = null;
      next.training = null;
      next.runStartedAt = null;
    }
    return next;
  });
}

function onAgent(f: InFlight, e: Extract<EngineEvent, { type: 'agent' }>): InFlight {
  const a = e.activity;
  switch (a.kind) {
    case 'text':
      return { ...f, streamText: appendStream(f.streamText, a.text), retry: null };
    case 'tool': {
      // Words from the next turn must not run into this turn's last word.
      const sep = f.streamText !== '' && !/\s$/.test(f.streamText) ? ' ' : '';
      return { ...f, streamText: appendStream(f.streamText, sep), tool: { name: a.name, summary: a.summary, result: null }, retry: null };
    }
    case 'tool-result': {
      const tool = f.tool && f.tool.name === a.name ? f.tool : { name: a.name, summary: '', result: null };
      return { ...f, tool: { ...tool, result: { isError: a.isError, summary: a.summary } } };
    }
    case 'retry':
      return { ...f, retry: { attempt: a.attempt, waitMs: a.waitMs, reason: a.reason, at: e.at } };
    case 'duplicate':
      // Shown where the submission's tool line is: the model is asked for another change.
      return { ...f, tool: { name: 'submit_experiment', summary: '', result: { isError: true, summary: `refused: identical code to #${a.of}, not trained again` } } };
    case 'usage': {
      const carried = restarted(f.usage, a.usage) ? addUsage(f.carried, f.usage) : f.carried;
      return { ...f, carried, usage: a.usage };
    }
  }
  return f;
}

export function reduce(state: DashboardState, e: EngineEvent): DashboardState {
  const s: DashboardState = { ...state, lastEventAt: e.at };
  switch (e.type) {
    case 'started': {
      const rows = e.rows;
      const usage = sumUsage(rows);
      return {
        ...s,
        runState: 'running',
        tag: e.tag,
        branch: e.branch,
        agent: e.agent,
        metric: e.config.metric,
        direction: e.config.direction,
        timeoutSec: e.config.timeoutSec,
        gpus: e.config.gpus ?? null,
        lookahead: e.config.lookahead ?? 0,
        resumed: e.resumed,
        sandboxed: e.sandboxed ?? null,
        startedAt: e.at,
        finishedAt: null,
        counts: countRows(rows),
        standing: standingOf(rows),
        bestSeries: bestSeriesOf(rows),
        // Earlier rows are numbered by position: the baseline is experiment 0.
        recent: rows.slice(-RECENT_MAX).map((row, i) => ({ experiment: rows.length - Math.min(rows.length, RECENT_MAX) + i, row })),
        lastResult: null,
        usage: { rows: usage, session: ZERO_USAGE, dropped: ZERO_USAGE },
        inFlight: [],
        focus: null,
        experiment: rows.length,
        finish: null,
        stopReason: null,
      };
    }
    case 'recovered':
      return { ...s, notice: e.message };
    case 'phase': {
      // 'done' carries the number the next experiment would have had; the last one is still the news.
      if (e.phase === 'done') return { ...s, phase: 'done', phaseAt: e.at, phaseDetail: e.detail ?? null };
      if (e.phase === 'stopping') {
        return { ...s, phase: 'stopping', phaseAt: e.at, phaseDetail: e.detail ?? null, runState: state.runState === 'finished' ? 'finished' : 'stopping' };
      }
      const next = onPhase(s, e);
      if (state.runState === 'waiting') next.runState = 'running';
      return withFocus(next);
    }
    case 'agent':
      return withFocus(upsert(s, e.experiment, e.slot, 'agent', e.at, (f) => onAgent(f, e)));
    case 'committed': {
      const next = upsert(s, e.experiment, e.slot, 'committing', e.at, (f) => ({ ...f, description: e.description, commit: e.commit }));
      if (e.restored.length > 0) next.notice = `#${e.experiment}: restored ${e.restored.join(', ')} (outside the editable files)`;
      return withFocus(next);
    }
    case 'skipped':
      return withFocus({ ...remove(s, e.experiment, true), notice: `#${e.experiment} skipped: ${e.reason}` });
    case 'training':
      return withFocus(
        upsert(s, e.experiment, e.slot, 'training', e.at, (f) => ({
          ...f,
          runStartedAt: f.runStartedAt ?? e.at,
          training: {
            experiment: e.experiment,
            elapsedSec: e.elapsedSec,
            timeoutSec: e.timeoutSec,
            logTail: e.logTail,
            at: e.at,
            ...(e.state ? { job: { state: e.state, ...(e.reason ? { reason: e.reason } : {}), ...(e.jobId ? { id: e.jobId } : {}) } } : {}),
          },
        })),
      );
    case 'result': {
      const entry: RecentRow = { experiment: e.experiment, row: e.row, ...(e.verdict ? { verdict: e.verdict } : {}) };
      const u = state.usage;
      const bestValue = e.standing.best ? e.standing.best.value : null;
      // The row carries the experiment's whole usage: what it spent in flight is counted there now.
      const next = remove(s, e.experiment, false);
      return withFocus({
        ...next,
        counts: { ...state.counts, [e.row.status]: state.counts[e.row.status] + 1 },
        sessionExperiments: state.sessionExperiments + 1,
        standing: e.standing,
        bestSeries: [...state.bestSeries, bestValue],
        recent: [...state.recent, entry].slice(-RECENT_MAX),
        lastResult: entry,
        noise: e.noise ?? state.noise,
        usage: { ...next.usage, rows: addUsage(u.rows, e.row.usage), session: addUsage(u.session, e.row.usage) },
      });
    }
    case 'stopping':
      return { ...s, runState: state.runState === 'finished' ? 'finished' : 'stopping', stopReason: e.reason };
    case 'finished': {
      // Whatever is still listed ended without a row (drafts cut short): its spending stays counted.
      let dropped = s.usage.dropped;
      for (const f of s.inFlight) dropped = addUsage(dropped, spent(f));
      return {
        ...s,
        runState: 'finished',
        phase: 'done',
        phaseAt: e.at,
        finishedAt: e.at,
        finish: { reason: e.reason, exitCode: e.exitCode },
        inFlight: [],
        usage: { ...s.usage, dropped },
        tool: null,
        retry: null,
      };
    }
  }
  return s;
}

/** Fold a whole event list: what a test, or a late-attaching viewer, would see. */
export function reduceAll(events: readonly EngineEvent[], from: DashboardState = initialState): DashboardState {
  return events.reduce(reduce, from);
}
