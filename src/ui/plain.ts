// Plain mode, for --no-tui and for stdout that is not a terminal (nohup, a log file): one
// timestamped line per meaningful event, no ANSI codes, no streamed text, and training progress
// at most once a minute, so a night's log stays readable with `less` or `grep`. With several GPUs,
// each experiment's lines start with its GPU (`[gpu 1] #8 …`): the experiments' lines interleave.

import { improvementPercent, standingOf } from '../engine/decide.js';
import type { Direction, EngineEvent, Standing, Usage } from '../engine/types.js';
import { addUsage, ZERO_USAGE } from '../engine/types.js';
import { directionWords, formatChange, formatCost, formatDuration, formatLimit, formatTimestamp, formatValue, oneLine, sandboxWords, slotsWords, toolLabel, truncate } from './format.js';
import { isPipelined } from './state.js';

/** How often a long training run gets a progress line. */
export const TRAINING_EVERY_SEC = 60;
const MAX_DETAIL = 160; // a tool summary or log line is cut here: one event, one line

export interface PlainLogger {
  onEvent(e: EngineEvent): void;
  /** The last line (or lines) once the program is done; the `finished` event normally prints it. */
  close(): void;
}

export function createPlainLogger(write: (text: string) => void, opts: { banner?: string } = {}): PlainLogger {
  let metric = 'val_bpb';
  let direction: Direction = 'min';
  let tag = '';
  let startedAt: number | null = null;
  let standing: Standing = { baseline: null, best: null };
  let counts = { keep: 0, discard: 0, crash: 0 };
  let usage: Usage = ZERO_USAGE;
  // Per experiment: runs on several GPUs report in turn, and each gets its own line a minute.
  const lastTrainingLine = new Map<number, number>();
  const jobStates = new Map<number, string>(); // a cluster job's last state said, per experiment
  let finished = false;
  let bannerShown = false;

  const line = (at: number, text: string) => write(`${formatTimestamp(at)}  ${text}\n`);
  /** A line about one experiment: its number, after its GPU when it has one. */
  const about = (e: { at: number; experiment: number; slot?: string }, text: string) =>
    line(e.at, `${e.slot !== undefined ? `[gpu ${e.slot}] ` : ''}#${e.experiment} ${text}`);
  const showBanner = (at: number) => {
    if (opts.banner && !bannerShown) line(at, `*** ${opts.banner} ***`);
    bannerShown = true;
  };

  const resultLine = (e: Extract<EngineEvent, { type: 'result' }>): string => {
    const { row } = e;
    const head = `${e.slot !== undefined ? `[gpu ${e.slot}] ` : ''}#${e.experiment} ${row.status.padEnd(7)}`;
    const desc = `"${oneLine(row.description)}"`;
    if (row.status === 'crash') return `${head} ${desc}`;
    const value = `${metric} ${formatValue(row.value)}`;
    const { baseline, best } = e.standing;
    let note: string;
    if (row.status === 'keep') {
      const isBaseline = !baseline || (baseline.commit === row.commit && baseline.value === row.value);
      note = isBaseline ? 'baseline' : `best, ${formatChange(row.value, baseline.value)} vs baseline`;
    } else {
      note = best ? `best ${formatValue(best.value)}` : 'no best yet';
    }
    const runs = row.values && row.values.length > 1 ? ` · mean of ${row.values.length} runs` : '';
    const verdict = e.verdict && e.verdict !== 'not better' ? ` · ${oneLine(e.verdict)}` : '';
    return `${head} ${value} (${note})  ${desc}${runs}${verdict}`;
  };

  const summary = (at: number, reason: string, exitCode: number) => {
    const done = counts.keep + counts.discard + counts.crash;
    const parts = [`finished: ${reason} (exit ${exitCode})`, `${done} experiments: ${counts.keep} keep, ${counts.discard} discard, ${counts.crash} crash`];
    if (standing.best) {
      const pct = improvementPercent(standing, direction);
      parts.push(`best ${metric} ${formatValue(standing.best.value)} (${standing.best.commit}${pct !== null ? `, ${pct.toFixed(2)}% better than baseline` : ''})`);
    }
    parts.push(`cost ${formatCost(usage.costUsd)}`);
    if (startedAt !== null) parts.push(`ran ${formatDuration((at - startedAt) / 1000)}`);
    line(at, parts.join(' · '));
    if (tag) line(at, `all rows: autoresearch results --tag ${tag}`);
  };

  return {
    onEvent(e: EngineEvent): void {
      showBanner(e.at);
      switch (e.type) {
        case 'started': {
          metric = e.config.metric;
          direction = e.config.direction;
          tag = e.tag;
          startedAt = e.at;
          for (const r of e.rows) {
            counts[r.status]++;
            usage = addUsage(usage, r.usage);
          }
          standing = standingOf(e.rows);
          line(
            e.at,
            `${e.resumed ? 'resumed' : 'started'} ${e.tag} on ${e.branch} · agent ${e.agent} · ${metric} (${directionWords(direction)}) · timeout ${formatLimit(e.config.timeoutSec)}` +
              (e.resumed ? ` · ${e.rows.length} earlier rows${standing.best ? `, best ${formatValue(standing.best.value)} (${standing.best.commit})` : ''}` : '') +
              (isPipelined({ gpus: e.config.gpus ?? null, lookahead: e.config.lookahead ?? 0 }) ? ` · ${slotsWords(e.config.gpus ?? null, e.config.lookahead ?? 0)}` : '') +
              (e.sandboxed === undefined ? '' : ` · ${sandboxWords(e.sandboxed)}`),
          );
          return;
        }
        case 'recovered':
          line(e.at, `recovered: ${oneLine(e.message)}`);
          return;
        case 'phase':
          if (e.phase === 'baseline') about(e, `baseline: training train.py as it stands${e.detail ? ` (${oneLine(e.detail)})` : ''}`);
          else if (e.phase === 'agent') about(e, `agent: proposing${e.detail ? ` (${oneLine(e.detail)})` : ''}`);
          else if (e.phase === 'rebasing') about(e, 'moving onto the new best');
          else if (e.phase === 'training') {
            lastTrainingLine.set(e.experiment, 0);
            about(e, `training${e.detail ? ` (${oneLine(e.detail)})` : ''}`);
          }
          return;
        case 'agent': {
          const a = e.activity;
          // The submission itself is the `committed` line that follows.
          if (a.kind === 'tool' && a.name !== 'submit_experiment') about(e, `tool ${truncate(toolLabel(a.name, a.summary), MAX_DETAIL)}`);
          else if (a.kind === 'tool-result' && a.isError) about(e, `tool ${toolLabel(a.name, '')} failed: ${truncate(oneLine(a.summary), MAX_DETAIL)}`);
          else if (a.kind === 'retry') about(e, `API retry ${a.attempt} in ${formatDuration(a.waitMs / 1000)}: ${oneLine(a.reason)}`);
          else if (a.kind === 'duplicate') about(e, `refused a duplicate: identical code to #${a.of} ${truncate(`"${oneLine(a.description)}"`, MAX_DETAIL)}, not trained again`);
          return; // streamed text and running usage would drown the log
        }
        case 'committed':
          about(e, `committed ${e.commit} "${oneLine(e.description)}"` + (e.restored.length ? ` (restored ${e.restored.join(', ')})` : ''));
          return;
        case 'skipped':
          lastTrainingLine.delete(e.experiment);
          about(e, `skipped: ${oneLine(e.reason)}`);
          return;
        case 'training': {
          if (e.state !== undefined) {
            // A queued job: one line when it starts waiting (and why), and one when it starts running.
            const said = e.state === 'pending' ? `PENDING${e.reason ? ` (${e.reason})` : ''}` : 'RUNNING';
            if (jobStates.get(e.experiment) !== `${e.jobId} ${said}`) {
              jobStates.set(e.experiment, `${e.jobId} ${said}`);
              line(e.at, `#${e.experiment} job ${e.jobId ?? '?'} ${said}`);
            }
            if (e.state === 'pending') return;
          }
          const prev = lastTrainingLine.get(e.experiment) ?? 0;
          if (e.elapsedSec - prev < TRAINING_EVERY_SEC) return;
          lastTrainingLine.set(e.experiment, e.elapsedSec);
          const tail = e.logTail.length ? `  | ${truncate(oneLine(e.logTail[e.logTail.length - 1] ?? ''), MAX_DETAIL)}` : '';
          about(e, `training ${formatDuration(e.elapsedSec)} / timeout ${formatLimit(e.timeoutSec)}${tail}`);
          return;
        }
        case 'result':
          lastTrainingLine.delete(e.experiment);
          jobStates.delete(e.experiment);
          counts[e.row.status]++;
          usage = addUsage(usage, e.row.usage);
          standing = e.standing;
          line(e.at, resultLine(e));
          return;
        case 'stopping':
          line(e.at, `stopping: ${oneLine(e.reason)}`);
          return;
        case 'finished':
          finished = true;
          summary(e.at, oneLine(e.reason), e.exitCode);
          return;
      }
    },
    close(): void {
      if (!finished && startedAt !== null) summary(Date.now(), 'closed before the engine finished', 1);
      finished = true;
    },
  };
}
