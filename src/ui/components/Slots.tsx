// What is in flight: one line per experiment, grouped by GPU — the one training, then the drafts
// queued behind it — with its phase in words and its description (or, while the model drafts, the
// tool call it is making). Shown when more than one experiment can be in flight (--gpus, --lookahead).

import { Text } from 'ink';
import type { DashboardState, InFlight } from '../state.js';
import { fit, formatDuration, formatLimit, oneLine, textWidth, toolLabel, truncate } from '../format.js';
import { TIME_BUDGET_SEC } from '../layout.js';
import { Line, Section } from './Section.js';

/** The widest phase column: past this, the description gets the room. */
const PHASE_MAX = 30;

/** The run's duration to measure against: the fixed training budget, or the timeout when shorter. */
function budgetOf(timeoutSec: number): number {
  return Math.min(TIME_BUDGET_SEC, timeoutSec);
}

/** Seconds into the experiment's run, moved on by the clock between the engine's reports. */
export function runElapsed(f: InFlight, now: number, finished: boolean): number {
  const t = f.training;
  if (!t) return 0;
  const live = (f.phase === 'training' || f.phase === 'baseline') && !finished && t.job?.state !== 'pending';
  const extra = live ? Math.max(0, (now - t.at) / 1000) : 0;
  return Math.min(t.timeoutSec, t.elapsedSec + extra);
}

/** The phase of an experiment in words, and the time it has taken so far where that matters. */
export function slotPhaseWords(f: InFlight, now: number, finished = false): { glyph: string; text: string; time: string; color: string } {
  const since = formatDuration(Math.max(0, now - f.phaseAt) / 1000);
  const run = f.training ? `${formatDuration(runElapsed(f, now, finished))}/${formatLimit(budgetOf(f.training.timeoutSec))}` : '';
  // Which of its runs it is, from the engine's detail: a better first run trained again with a new
  // seed ("confirming #12: run 2 of 3, a new seed"), a baseline run ("…: run 2 of 3").
  const confirming = f.phase === 'training' ? /^confirming #(\d+): run (\d+) of (\d+)/.exec(f.detail ?? '') : null;
  const baselineRun = /^measuring the unmodified code: run (\d+) of (\d+)/.exec(f.detail ?? '');
  const baselineText = baselineRun ? `baseline — run ${baselineRun[1]} of ${baselineRun[2]}` : null;
  switch (f.phase) {
    case 'agent': {
      const retry = f.retry ? ` (API retry ${f.retry.attempt})` : '';
      if (f.detail?.startsWith('fixing')) return { glyph: '✎', text: `fixing a crash${retry}`, time: since, color: 'yellow' };
      if (f.detail?.startsWith('redoing')) return { glyph: '✎', text: `redoing on the new best${retry}`, time: since, color: 'magenta' };
      return { glyph: '✎', text: `drafting${retry}`, time: since, color: 'magenta' };
    }
    case 'committing':
      return { glyph: '●', text: 'committing', time: '', color: 'blue' };
    case 'waiting':
      return { glyph: '…', text: f.slot !== null ? `waiting for GPU ${f.slot}` : 'waiting for the GPU', time: since, color: 'gray' };
    case 'rebasing':
      return { glyph: '↻', text: 'moving onto the new best', time: '', color: 'blue' };
    case 'training':
      // A cluster job waits in the queue before it runs: its clock has not started.
      if (f.training?.job?.state === 'pending') {
        const why = f.training.job.reason ? ` (${f.training.job.reason})` : '';
        return { glyph: '…', text: `PENDING${why}${f.training.job.id ? ` · job ${f.training.job.id}` : ''}`, time: since, color: 'yellow' };
      }
      if (f.training?.job?.id) return { glyph: '▶', text: `RUNNING · job ${f.training.job.id}`, time: run, color: 'cyan' };
      // The engine says so in the run's detail: the change beat its base, and the best moved meanwhile.
      if (f.detail?.startsWith('re-run')) return { glyph: '↻', text: 're-running on the new best', time: run, color: 'cyan' };
      if (baselineText) return { glyph: '▶', text: baselineText, time: run, color: 'cyan' };
      if (confirming) return { glyph: '▶', text: `confirming #${confirming[1]} — run ${confirming[2]} of ${confirming[3]}`, time: run, color: 'cyan' };
      return { glyph: '▶', text: 'training', time: run, color: 'cyan' };
    case 'baseline':
      return { glyph: '▶', text: baselineText ?? 'baseline', time: run, color: 'cyan' };
    case 'deciding':
      return { glyph: '●', text: 'reading the result', time: '', color: 'blue' };
    default:
      return { glyph: '○', text: f.phase, time: '', color: 'gray' };
  }
}

/** In flight, in screen order: by GPU as given with --gpus, then by number (the one training first). */
export function slotOrder(state: Pick<DashboardState, 'inFlight' | 'gpus'>): InFlight[] {
  const rank = (slot: string | null) => {
    const i = slot === null || state.gpus === null ? -1 : state.gpus.indexOf(slot);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...state.inFlight].sort((a, b) => rank(a.slot) - rank(b.slot) || a.experiment - b.experiment);
}

export function Slots({ state, width, now, lines }: { state: DashboardState; width: number; now: number; lines: number }) {
  const inner = width - 1;
  const all = slotOrder(state);
  // One line stays for "+N more" when the panel is shorter than what is in flight.
  const shown = all.length > lines ? all.slice(0, Math.max(0, lines - 1)) : all;
  const hidden = all.slice(shown.length);
  const finished = state.runState === 'finished';
  const showSlot = state.gpus !== null && all.some((f) => f.slot !== null);
  const slotWidth = showSlot ? Math.max(...all.map((f) => textWidth(`gpu ${f.slot ?? '-'}`))) : 0;
  const numWidth = Math.max(0, ...all.map((f) => `#${f.experiment}`.length));
  const phases = shown.map((f) => slotPhaseWords(f, now, finished));
  const phaseWidth = Math.min(PHASE_MAX, Math.max(0, ...phases.map((p) => textWidth(`${p.glyph} ${p.text}`))));
  const timeWidth = Math.max(0, ...phases.map((p) => textWidth(p.time)));
  const rows = shown.map((f, i) => {
    const p = phases[i]!;
    const slot = showSlot ? `${`gpu ${f.slot ?? '-'}`.padEnd(slotWidth)}  ` : '';
    const head = `${slot}${`#${f.experiment}`.padEnd(numWidth)}  `;
    const phase = fit(`${p.glyph} ${p.text}`, phaseWidth);
    const time = timeWidth > 0 ? ` ${fit(p.time, timeWidth, 'right')}` : '';
    const room = Math.max(0, inner - textWidth(head) - phaseWidth - time.length - 2);
    // Until it has a description, a draft's line says what the model is doing.
    const what = f.description
      ? { text: truncate(`"${oneLine(f.description)}"`, room), dim: false }
      : f.tool
        ? { text: truncate(`▸ ${toolLabel(f.tool.name, f.tool.summary)}`, room), dim: true }
        : { text: '', dim: true };
    return (
      <Text key={f.experiment} wrap="truncate-end">
        <Text dimColor>{head}</Text>
        <Text color={p.color}>{phase}</Text>
        {time}
        {what.text ? <Text dimColor={what.dim}>{`  ${what.text}`}</Text> : null}
      </Text>
    );
  });
  const more = hidden.length > 0 ? truncate(`+${hidden.length} more: ${[...hidden].sort((a, b) => a.experiment - b.experiment).map((f) => `#${f.experiment}`).join(' ')}`, inner) : null;
  const blanks = Math.max(0, lines - rows.length - (more ? 1 : 0));
  const title = all.length > 0 ? `In flight · ${all.length}` : 'In flight';
  return (
    <Section title={title} width={width}>
      {rows}
      {more ? <Line dim>{more}</Line> : null}
      {Array.from({ length: blanks }, (_, i) => (
        <Line key={`blank${i}`} dim>
          {i === 0 && rows.length === 0 && !finished ? 'nothing in flight' : ' '}
        </Line>
      ))}
    </Section>
  );
}
