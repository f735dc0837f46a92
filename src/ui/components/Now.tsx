// What is it doing right now: the phase, then either the model's streamed words and the tool call
// in progress, or the training bar and the last lines of run.log, then the experiment's description.
// The panel has a fixed height whatever the phase, so the screen below it never jumps.

import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { Phase } from '../../engine/types.js';
import type { DashboardState } from '../state.js';
import { formatDuration, formatLimit, oneLine, progressBar, textWidth, toolLabel, truncate, wrapWords } from '../format.js';
import { TIME_BUDGET_SEC } from '../layout.js';
import { Line, Section } from './Section.js';

const PHASE_LABEL: Record<Phase, { glyph: string; text: string; color: string }> = {
  starting: { glyph: '○', text: 'starting', color: 'gray' },
  baseline: { glyph: '▶', text: 'baseline: training train.py as it stands', color: 'cyan' },
  agent: { glyph: '✎', text: 'agent thinking', color: 'magenta' },
  committing: { glyph: '●', text: 'committing', color: 'blue' },
  waiting: { glyph: '…', text: 'drafted, waiting for its GPU', color: 'gray' },
  rebasing: { glyph: '↻', text: 'moving the change onto the new best', color: 'blue' },
  training: { glyph: '▶', text: 'training', color: 'cyan' },
  deciding: { glyph: '●', text: 'reading the result', color: 'blue' },
  stopping: { glyph: '◐', text: 'stopping', color: 'yellow' },
  done: { glyph: '■', text: 'finished', color: 'blue' },
};

/** Seconds of training so far, moved on by the clock between the engine's reports. */
export function trainingElapsed(state: DashboardState, now: number): number {
  const t = state.training;
  if (!t) return 0;
  const live = (state.phase === 'training' || state.phase === 'baseline') && state.runState !== 'finished';
  const extra = live ? Math.max(0, (now - t.at) / 1000) : 0;
  return Math.min(t.timeoutSec, t.elapsedSec + extra);
}

function phaseLine(state: DashboardState, now: number, showsBar: boolean): string {
  const p = PHASE_LABEL[state.phase];
  const parts = [`${p.glyph} ${p.text}`];
  if (state.phase === 'stopping' && state.stopReason) parts[0] = `${p.glyph} stopping: ${state.stopReason}`;
  if (state.phase === 'done' && state.finish) parts[0] = `${p.glyph} finished: ${state.finish.reason}`;
  const live = state.runState !== 'finished' && state.phase !== 'starting' && state.phase !== 'done';
  // While training, the bar carries the time.
  if (live && !showsBar && state.phaseAt !== null) parts.push(formatDuration(Math.max(0, now - state.phaseAt) / 1000));
  if (state.phaseDetail) parts.push(state.phaseDetail);
  if (state.retry && state.phase === 'agent') {
    const left = Math.max(0, Math.ceil((state.retry.at + state.retry.waitMs - now) / 1000));
    parts.push(`API retry ${state.retry.attempt} in ${left}s: ${state.retry.reason}`);
  }
  return parts.join(' · ');
}

function streamLines(state: DashboardState, width: number, count: number): { text: string; dim: boolean }[] {
  const text = oneLine(state.streamText);
  if (!text) {
    const hint = state.phase === 'agent' ? 'waiting for the model…' : '';
    return [{ text: hint, dim: true }, ...Array.from({ length: count - 1 }, () => ({ text: '', dim: true }))].slice(0, count);
  }
  const lines = wrapWords(text, width).slice(-count);
  while (lines.length < count) lines.push('');
  return lines.map((l) => ({ text: l, dim: false }));
}

function toolLine(state: DashboardState): { text: string; color?: string } {
  const t = state.tool;
  if (!t) return { text: '' };
  const call = `▸ ${toolLabel(t.name, t.summary)}`;
  if (!t.result) return { text: `${call} …`, color: 'yellow' };
  if (t.result.isError) return { text: `${call} ✗ ${oneLine(t.result.summary)}`, color: 'red' };
  return { text: `${call} ✓${t.result.summary ? ` ${oneLine(t.result.summary)}` : ''}`, color: 'green' };
}

function TrainingBar({ state, now, width }: { state: DashboardState; now: number; width: number }) {
  const t = state.training!;
  const elapsed = trainingElapsed(state, now);
  const budget = TIME_BUDGET_SEC < t.timeoutSec ? TIME_BUDGET_SEC : null;
  const label = ` ${formatDuration(elapsed)}${budget ? ` / budget ${formatDuration(budget)}` : ''} · timeout ${formatLimit(t.timeoutSec)}`;
  // A bar wider than this reads as a rule rather than a gauge.
  const barWidth = Math.max(10, Math.min(60, width - textWidth(label) - 2));
  const over = budget !== null && elapsed > budget;
  return (
    <Text wrap="truncate-end">
      <Text dimColor>[</Text>
      <Text color={over ? 'yellow' : 'cyan'}>{progressBar(elapsed / t.timeoutSec, barWidth, budget ? budget / t.timeoutSec : undefined)}</Text>
      <Text dimColor>]</Text>
      {label}
    </Text>
  );
}

export function Now({ state, width, now, bodyLines }: { state: DashboardState; width: number; now: number; bodyLines: number }) {
  const inner = width - 1;
  const p = PHASE_LABEL[state.phase];
  const title = state.experiment > 0 || state.phase !== 'starting' ? `Now · #${state.experiment}${state.slot !== null ? ` · gpu ${state.slot}` : ''}` : 'Now';
  let body: ReactNode[];
  const showsBar = state.training !== null && (state.phase === 'training' || state.phase === 'baseline' || state.phase === 'deciding' || state.runState === 'finished');
  const phaseText = phaseLine(state, now, showsBar && state.runState !== 'finished');
  if (showsBar && state.training) {
    const log = state.training.logTail.map(oneLine).filter((l) => l !== '').slice(-(bodyLines - 1));
    while (log.length < bodyLines - 1) log.push('');
    body = [
      <TrainingBar key="bar" state={state} now={now} width={inner} />,
      ...log.map((l, i) => (
        <Line key={`log${i}`} dim>
          {l ? `  ${truncate(l, inner - 2)}` : ' '}
        </Line>
      )),
    ];
  } else {
    const tool = toolLine(state);
    body = [
      ...streamLines(state, inner - 2, bodyLines - 1).map((l, i) => (
        <Line key={`s${i}`} dim={l.dim}>
          {l.text ? `  ${l.text}` : ' '}
        </Line>
      )),
      <Line key="tool" color={tool.color}>
        {tool.text ? truncate(tool.text, inner) : ' '}
      </Line>,
    ];
  }
  return (
    <Section title={title} width={width}>
      <Text wrap="truncate-end">
        <Text color={p.color} bold>
          {truncate(phaseText, inner)}
        </Text>
        {state.notice ? <Text color="yellow">{truncate(`  ⚠ ${oneLine(state.notice)}`, Math.max(0, inner - textWidth(phaseText)))}</Text> : null}
      </Text>
      {body}
      {state.description ? (
        <Text wrap="truncate-end">
          <Text dimColor>{state.commit ? `${state.commit} ` : ''}</Text>
          {truncate(`"${oneLine(state.description)}"`, inner - (state.commit ? state.commit.length + 1 : 0))}
        </Text>
      ) : (
        <Line dim>{state.phase === 'agent' ? 'description: not yet submitted' : ' '}</Line>
      )}
    </Section>
  );
}
