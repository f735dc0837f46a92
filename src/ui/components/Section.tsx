// A panel: a dim rule with the panel's title, then its lines. Rules rather than boxed borders
// keep the dashboard short enough for a 24-line terminal and make truncation exact.

import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { truncate } from '../format.js';

export function Section({ title, width, children }: { title: string; width: number; children?: ReactNode }) {
  const head = truncate(`── ${title} `, width);
  return (
    <Box flexDirection="column" width={width}>
      <Text dimColor wrap="truncate-end">
        {head + '─'.repeat(Math.max(0, width - head.length))}
      </Text>
      <Box flexDirection="column" paddingLeft={1} width={width}>
        {children}
      </Box>
    </Box>
  );
}

/** One line that never wraps: long text is cut with an ellipsis at the container's edge. */
export function Line({ children, color, dim, bold }: { children?: ReactNode; color?: string; dim?: boolean; bold?: boolean }) {
  return (
    <Text wrap="truncate-end" color={color} dimColor={dim} bold={bold}>
      {children}
    </Text>
  );
}
