// The last results, newest at the bottom like results.tsv, coloured by status.

import { Text } from 'ink';
import type { DashboardState, RecentRow } from '../state.js';
import { fit, formatValue, oneLine, textWidth } from '../format.js';
import { STATUS_COLOR } from '../layout.js';
import { Line, Section } from './Section.js';

/**
 * The verdict of a result with its margin, short: the σ behind it is on the Progress panel.
 * "mean of 3 runs, better by 0.006700, noise allows 0.004100"; null when there is nothing to add.
 */
export function verdictText(row: RecentRow['row'], verdict: string | undefined): string | null {
  if (!verdict || verdict === 'not better') return null;
  const runs = row.values && row.values.length > 1 ? `mean of ${row.values.length} runs, ` : '';
  return `${runs}${oneLine(verdict).replace(/ \(σ [^)]*\)$/, '')}`;
}

/**
 * The newest row's description, then its verdict when the whole of both fits (said once: a
 * discard's description already ends in it). What the change was matters more than the margin, so
 * a narrow terminal shows the description alone; `autoresearch results` has every verdict.
 */
export function describeNewest(r: RecentRow, width: number): string {
  const desc = oneLine(r.row.description);
  const v = verdictText(r.row, r.verdict);
  if (!v || !r.verdict) return desc;
  const bare = desc.replace(` (${oneLine(r.verdict)})`, '');
  const both = `${bare} · ${v}`;
  return textWidth(both) <= width ? both : desc;
}

export function Recent({ state, width, rows }: { state: DashboardState; width: number; rows: number }) {
  const inner = width - 1;
  const shown = state.recent.slice(-rows);
  const valueWidth = Math.max(state.metric.length, ...shown.map((r) => formatValue(r.row.value).length), 8);
  const head = `${fit('#', 4, 'right')}  ${fit('commit', 7)}  ${fit(state.metric, valueWidth, 'right')}  ${fit('mem GB', 6, 'right')}  ${fit('status', 7)}  description`;
  const fixed = 4 + 2 + 7 + 2 + valueWidth + 2 + 6 + 2 + 7 + 2;
  const lines = shown.map((r, i) => {
    const { experiment, row } = r;
    const text =
      `${fit(String(experiment), 4, 'right')}  ${fit(row.commit, 7)}  ` +
      `${fit(row.status === 'crash' ? '—' : formatValue(row.value), valueWidth, 'right')}  ` +
      `${fit(row.status === 'crash' ? '—' : row.memoryGb.toFixed(1), 6, 'right')}  ${fit(row.status, 7)}  ` +
      fit(i === shown.length - 1 ? describeNewest(r, Math.max(0, inner - fixed)) : oneLine(row.description), Math.max(0, inner - fixed));
    return { key: `${experiment}-${row.commit}-${row.startedAt}`, text, color: STATUS_COLOR[row.status] };
  });
  const pad = Math.max(0, rows - lines.length);
  const bestCommit = state.standing.best?.commit;
  return (
    <Section title="Recent results" width={width}>
      <Line dim>{fit(head, inner)}</Line>
      {lines.map((l) => (
        <Text key={l.key} color={l.color} bold={l.text.includes(bestCommit ?? '\u0000') && l.color === 'green'} wrap="truncate-end">
          {l.text.trimEnd()}
        </Text>
      ))}
      {lines.length === 0 ? <Line dim>no results yet</Line> : null}
      {Array.from({ length: Math.max(0, pad - (lines.length === 0 ? 1 : 0)) }, (_, i) => (
        <Text key={`pad${i}`}> </Text>
      ))}
    </Section>
  );
}
