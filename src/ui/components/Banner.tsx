// The banner says loudly what kind of run this is (e.g. a demo with a scripted model), so nobody
// mistakes a demo's numbers for research.

import { Text } from 'ink';
import { fit } from '../format.js';

export function Banner({ text, width }: { text: string; width: number }) {
  return (
    <Text bold inverse color="yellow" wrap="truncate-end">
      {fit(` ${text}`, width)}
    </Text>
  );
}
