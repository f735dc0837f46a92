// What has it cost: tokens by kind and dollars, for the tag and for this session when resumed.

import { Text } from 'ink';
import type { DashboardState } from '../state.js';
import { sessionUsage, totalUsage } from '../state.js';
import { formatCost, formatTokens } from '../format.js';
import { Line, Section } from './Section.js';

export function costText(state: DashboardState): string {
  const u = totalUsage(state);
  return state.resumed ? `${formatCost(u.costUsd)} (this session ${formatCost(sessionUsage(state).costUsd)})` : formatCost(u.costUsd);
}

/** One line under the other panels, or three lines beside Progress on a wide terminal. */
export function Cost({ state, width, tall }: { state: DashboardState; width: number; tall: boolean }) {
  const u = totalUsage(state);
  const io = `in ${formatTokens(u.inputTokens)} · out ${formatTokens(u.outputTokens)}`;
  const cache = `cache read ${formatTokens(u.cacheReadTokens)} · write ${formatTokens(u.cacheWriteTokens)}`;
  if (tall) {
    return (
      <Section title="Cost" width={width}>
        <Line bold>{costText(state)}</Line>
        <Line dim>{`tokens ${io}`}</Line>
        <Line dim>{`       ${cache}`}</Line>
      </Section>
    );
  }
  return (
    <Section title="Cost" width={width}>
      <Text wrap="truncate-end">
        <Text bold>{costText(state)}</Text>
        <Text dimColor>{`  tokens ${io} · ${cache}`}</Text>
      </Text>
    </Section>
  );
}
