// The dashboard's state as a pure function of the engine's events. Nothing here knows about Ink
// or time passing: the view adds "now" when it renders, so this reducer is tested on its own.

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
}

export interface UsageTotals {
  /** Every row of the tag read so far, earlier sessions included. */
  rows: Usage;
  /** Rows finished by this invocation. */
  session: Usage;
  /** The experiment in progress: not yet in a row. */
  current: Usage;
  /** Earlier agent calls of the experiment in progress (a fix attempt restarts the agent's running total). */
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
  resumed: boolean;
  sandboxed: boolean | null; // null: not said (an engine event without the field)
  startedAt: number | null;
  lastEventAt: number | null;
  finishedAt: number | null;

  phase: Phase;
  phaseAt: number | null;
  phaseDetail: string | null;
  experiment: number;
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
  resumed: false,
  sandboxed: null,
  startedAt: null,
  lastEventAt: null,
  finishedAt: null,
  phase: 'starting',
  phaseAt: null,
  phaseDetail: null,
  experiment: 0,
  description: null,
  commit: null,
  counts: { keep: 0, discard: 0, crash: 0 },
  sessionExperiments: 0,
  standing: { baseline: null, best: null },
  bestSeries: [],
  recent: [],
  lastResult: null,
  streamText: '',
  tool: null,
  retry: null,
  training: null,
  usage: { rows: ZERO_USAGE, session: ZERO_USAGE, current: ZERO_USAGE, carried: ZERO_USAGE },
  notice: null,
  stopReason: null,
  finish: null,
};

/** Tokens and dollars so far, the experiment in progress included. */
export function totalUsage(s: DashboardState): Usage {
  return addUsage(addUsage(s.usage.rows, s.usage.carried), s.usage.current);
}

/** This invocation's tokens and dollars, the experiment in progress included. */
export function sessionUsage(s: DashboardState): Usage {
  return addUsage(addUsage(s.usage.session, s.usage.carried), s.usage.current);
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
        usage: { rows: usage, session: ZERO_USAGE, current: ZERO_USAGE, carried: ZERO_USAGE },
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
      const newExperiment = e.experiment !== state.experiment;
      const next: DashboardState = {
        ...s,
        phase: e.phase,
        phaseAt: e.at,
        phaseDetail: e.detail ?? null,
        experiment: e.experiment,
      };
      if (state.runState === 'waiting') next.runState = 'running';
      if (e.phase === 'stopping') next.runState = state.runState === 'finished' ? 'finished' : 'stopping';
      if (newExperiment) {
        next.description = null;
        next.commit = null;
        next.training = null;
        next.streamText = '';
        next.tool = null;
        next.retry = null;
        next.notice = null;
      }
      if ((e.phase === 'training' || e.phase === 'baseline') && state.timeoutSec !== null) {
        // A new run starts at zero; the bar shows at once rather than after the engine's first tick.
        next.training = { experiment: e.experiment, elapsedSec: 0, timeoutSec: state.timeoutSec, logTail: [], at: e.at };
      }
      if (e.phase === 'agent') {
        // A new agent call (the first of an experiment, or a fix attempt) starts a fresh transcript.
        next.streamText = '';
        next.tool = null;
        next.retry = null;
        next.training = null;
      }
      return next;
    }
    case 'agent': {
      const a = e.activity;
      switch (a.kind) {
        case 'text':
          return { ...s, streamText: appendStream(state.streamText, a.text), retry: null };
        case 'tool': {
          // Words from the next turn must not run into this turn's last word.
          const sep = state.streamText !== '' && !/\s$/.test(state.streamText) ? ' ' : '';
          return { ...s, streamText: appendStream(state.streamText, sep), tool: { name: a.name, summary: a.summary, result: null }, retry: null };
        }
        case 'tool-result': {
          const tool = state.tool && state.tool.name === a.name ? state.tool : { name: a.name, summary: '', result: null };
          return { ...s, tool: { ...tool, result: { isError: a.isError, summary: a.summary } } };
        }
        case 'retry':
          return { ...s, retry: { attempt: a.attempt, waitMs: a.waitMs, reason: a.reason, at: e.at } };
        case 'usage': {
          const u = state.usage;
          const carried = restarted(u.current, a.usage) ? addUsage(u.carried, u.current) : u.carried;
          return { ...s, usage: { ...u, carried, current: a.usage } };
        }
      }
      return s;
    }
    case 'committed':
      return {
        ...s,
        experiment: e.experiment,
        description: e.description,
        commit: e.commit,
        notice: e.restored.length > 0 ? `restored ${e.restored.join(', ')} (outside the editable files)` : state.notice,
      };
    case 'skipped':
      return { ...s, notice: `#${e.experiment} skipped: ${e.reason}` };
    case 'training':
      return {
        ...s,
        training: { experiment: e.experiment, elapsedSec: e.elapsedSec, timeoutSec: e.timeoutSec, logTail: e.logTail, at: e.at },
      };
    case 'result': {
      const entry: RecentRow = { experiment: e.experiment, row: e.row };
      const u = state.usage;
      const bestValue = e.standing.best ? e.standing.best.value : null;
      return {
        ...s,
        counts: { ...state.counts, [e.row.status]: state.counts[e.row.status] + 1 },
        sessionExperiments: state.sessionExperiments + 1,
        standing: e.standing,
        bestSeries: [...state.bestSeries, bestValue],
        recent: [...state.recent, entry].slice(-RECENT_MAX),
        lastResult: entry,
        usage: {
          rows: addUsage(u.rows, e.row.usage),
          session: addUsage(u.session, e.row.usage),
          current: ZERO_USAGE,
          carried: ZERO_USAGE,
        },
      };
    }
    case 'stopping':
      return { ...s, runState: state.runState === 'finished' ? 'finished' : 'stopping', stopReason: e.reason };
    case 'finished':
      return {
        ...s,
        runState: 'finished',
        phase: 'done',
        phaseAt: e.at,
        finishedAt: e.at,
        finish: { reason: e.reason, exitCode: e.exitCode },
        tool: null,
        retry: null,
      };
  }
  return s;
}

/** Fold a whole event list: what a test, or a late-attaching viewer, would see. */
export function reduceAll(events: readonly EngineEvent[], from: DashboardState = initialState): DashboardState {
  return events.reduce(reduce, from);
}
