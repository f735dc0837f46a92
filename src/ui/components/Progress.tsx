// Is it getting better? Baseline and best (absolute and relative), the tally, and the
// best-so-far curve as a sparkline.

import { Text } from 'ink';
import { improvementPercent } from '../../engine/decide.js';
import type { DashboardState } from '../state.js';
import { formatValue, sparkline, textWidth, truncate } from '../format.js';
import { Line, Section } from './Section.js';

export function improvementText(state: DashboardState): string | null {
  const pct = improvementPercent(state.standing, state.direction);
  if (pct === null) return null;
  if (Math.abs(pct) < 0.005) return 'no better yet';
  return pct > 0 ? `${pct.toFixed(2)}% better` : `${(-pct).toFixed(2)}% worse`;
}

/** The noise floor, and what it was measured from: "noise σ 0.002500 from 9 runs (6 df)". */
export function noiseText(noise: NonNullable<DashboardState['noise']>): string {
  const from = noise.runs !== undefined ? ` from ${noise.runs} runs` : '';
  return `noise σ ${formatValue(noise.sigma)}${from} (${noise.df} df)`;
}

/** Columns taken by "baseline X   best Y  Z% better", so the best's description gets the rest. */
function headWidth(state: DashboardState): number {
  const { baseline, best } = state.standing;
  const improvement = improvementText(state);
  return 9 + formatValue(baseline?.value ?? 0).length + 8 + formatValue(best?.value ?? 0).length + (improvement ? improvement.length + 2 : 0);
}

export function Progress({ state, width }: { state: DashboardState; width: number }) {
  const inner = width - 1;
  const { baseline, best } = state.standing;
  const improvement = improvementText(state);
  const series = state.bestSeries;
  const first = series.find((v): v is number => v !== null);
  const last = series.length > 0 ? series[series.length - 1] : null;
  const label = 'best so far ';
  const ends = first !== undefined && last !== null && last !== undefined ? [formatValue(first), formatValue(last)] : null;
  const sparkWidth = Math.max(0, inner - textWidth(label) - (ends ? ends[0]!.length + ends[1]!.length + 2 : 0));
  return (
    <Section title="Progress" width={width}>
      {baseline && best ? (
        <Text wrap="truncate-end">
          {'baseline '}
          {formatValue(baseline.value)}
          {'   best '}
          <Text bold color="green">
            {formatValue(best.value)}
          </Text>
          {improvement ? <Text bold>{`  ${improvement}`}</Text> : null}
          <Text dimColor>{truncate(`  ${best.commit} "${best.description}"`, Math.max(0, inner - headWidth(state)))}</Text>
        </Text>
      ) : (
        <Line dim>baseline: waiting for the first run of train.py as it stands</Line>
      )}
      <Text wrap="truncate-end">
        <Text color="green">{`kept ${state.counts.keep}`}</Text>
        {'   '}
        <Text color="gray">{`discarded ${state.counts.discard}`}</Text>
        {'   '}
        <Text color="red">{`crashed ${state.counts.crash}`}</Text>
        {state.noise ? <Text dimColor>{`   ${noiseText(state.noise)}`}</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>{label}</Text>
        {ends ? <Text dimColor>{`${ends[0]} `}</Text> : null}
        <Text color="cyan">{sparkline(series, sparkWidth)}</Text>
        {ends ? <Text dimColor>{` ${ends[1]}`}</Text> : null}
      </Text>
    </Section>
  );
}
