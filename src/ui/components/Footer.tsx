// The keys while running; once the program ends, a summary that stays on screen with the last frame.

import { Box, Text } from 'ink';
import { improvementPercent } from '../../engine/decide.js';
import { isPipelined, type DashboardState } from '../state.js';
import { elapsedSec } from './Header.js';
import { costText } from './Cost.js';
import { formatDuration, formatValue, oneLine, truncate } from '../format.js';

export function summaryLines(state: DashboardState, now: number): string[] {
  const finish = state.finish;
  const how = finish ? `${finish.exitCode === 0 ? 'finished' : `stopped (exit ${finish.exitCode})`}: ${finish.reason}` : 'stopped';
  const c = state.counts;
  const done = c.keep + c.discard + c.crash;
  const lines = [`■ ${how} · ran ${formatDuration(elapsedSec(state, now))} · cost ${costText(state)}`];
  let tally = `${done} experiments: ${c.keep} kept, ${c.discard} discarded, ${c.crash} crashed`;
  const { best } = state.standing;
  const pct = improvementPercent(state.standing, state.direction);
  if (pct !== null) tally += ` · ${Math.abs(pct).toFixed(2)}% ${pct >= 0 ? 'better' : 'worse'} than baseline`;
  lines.push(tally);
  if (best) lines.push(`best ${state.metric} ${formatValue(best.value)}  ${best.commit} "${oneLine(best.description)}"`);
  if (state.tag) lines.push(`All rows: autoresearch results --tag ${state.tag} · resume: run the same command again`);
  return lines;
}

export function Footer({
  state,
  width,
  now,
  stopRequested,
  closed,
}: {
  state: DashboardState;
  width: number;
  now: number;
  stopRequested: boolean;
  closed: boolean;
}) {
  if (closed || state.runState === 'finished') {
    const lines = summaryLines(state, now);
    const failed = state.finish ? state.finish.exitCode !== 0 : true;
    return (
      <Box flexDirection="column" width={width}>
        {lines.map((l, i) => (
          <Text key={i} wrap="truncate-end" bold={i === 0} color={i === 0 ? (failed ? 'red' : 'green') : undefined} dimColor={i === lines.length - 1 && i > 1}>
            {truncate(l, width)}
          </Text>
        ))}
      </Box>
    );
  }
  // q lets every experiment already started finish: with several in flight, that is more than one.
  const after = isPipelined(state) ? 'the experiments in flight' : 'this experiment';
  if (stopRequested || state.runState === 'stopping') {
    return (
      <Text color="yellow" wrap="truncate-end">
        {truncate(`◐ stopping after ${after}… (Ctrl+C stops now)`, width)}
      </Text>
    );
  }
  return (
    <Text dimColor wrap="truncate-end">
      {truncate(`q stop after ${after} · Ctrl+C stop now`, width)}
    </Text>
  );
}
