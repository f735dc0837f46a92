// Who and where: tag and branch, the model, how long the run has gone, which experiment, and
// whether it is running, stopping or finished.

import { Box, Text } from 'ink';
import { isPipelined, type DashboardState } from '../state.js';
import { directionWords, slotsWords, formatDuration, sandboxWords, textWidth, truncate } from '../format.js';

export function runStateLabel(s: DashboardState, stopRequested: boolean): { text: string; color: string } {
  switch (s.runState) {
    case 'waiting':
      return { text: '○ starting', color: 'gray' };
    case 'running':
      if (!stopRequested) return { text: '● running', color: 'green' };
      return { text: isPipelined(s) ? '◐ stopping after those in flight' : '◐ stopping after this experiment', color: 'yellow' };
    case 'stopping':
      return { text: '◐ stopping', color: 'yellow' };
    case 'finished':
      return s.finish && s.finish.exitCode !== 0
        ? { text: `■ stopped (exit ${s.finish.exitCode})`, color: 'red' }
        : { text: '■ finished', color: 'blue' };
  }
}

export function elapsedSec(s: DashboardState, now: number): number {
  if (s.startedAt === null) return 0;
  const end = s.finishedAt ?? Math.max(now, s.lastEventAt ?? now);
  return (end - s.startedAt) / 1000;
}

export function Header({ state, width, now, stopRequested }: { state: DashboardState; width: number; now: number; stopRequested: boolean }) {
  const label = runStateLabel(state, stopRequested);
  const where = [state.tag ?? '…', state.branch, state.agent].filter((x): x is string => !!x).join(' · ');
  const leftWidth = Math.max(0, width - textWidth(label.text) - 2);
  const done = state.counts.keep + state.counts.discard + state.counts.crash;
  // An unsandboxed run is news, and must survive truncation on a narrow terminal: it goes first.
  const second = [
    ...(state.sandboxed === false ? [sandboxWords(false)] : []),
    // Several experiments in flight: their numbers are in the In flight panel; here, how many at once.
    isPipelined(state) ? slotsWords(state.gpus, state.lookahead) : `experiment #${state.experiment}`,
    `elapsed ${formatDuration(elapsedSec(state, now))}`,
    `${state.metric} (${directionWords(state.direction)})`,
    `${done} done${state.resumed ? ` (${state.sessionExperiments} this session)` : ''}`,
    ...(state.sandboxed === true ? [sandboxWords(true)] : []),
  ].join(' · ');
  return (
    <Box flexDirection="column" width={width}>
      <Box width={width} justifyContent="space-between">
        <Text wrap="truncate-end">
          <Text bold>autoresearch</Text>
          {truncate(`  ${where}`, Math.max(0, leftWidth - 12))}
        </Text>
        <Text color={label.color} bold>
          {label.text}
        </Text>
      </Box>
      <Text dimColor wrap="truncate-end">
        {truncate(second, width)}
      </Text>
    </Box>
  );
}
