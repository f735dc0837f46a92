// Colours need a colour-capable terminal; FORCE_COLOR stands in for one. Set before Ink (and its
// chalk) load, which is why everything here is imported dynamically.

import { afterAll, expect, it } from 'vitest';

const savedForceColor = process.env.FORCE_COLOR;
process.env.FORCE_COLOR = '1';
const { render } = await import('ink-testing-library');
const { Dashboard } = await import('../../src/ui/Dashboard.js');
const { reduceAll } = await import('../../src/ui/state.js');
const { at, scriptedNight } = await import('./fixtures.js');

// Chalk has read it by now; do not leak it to other test files sharing this worker.
afterAll(() => {
  if (savedForceColor === undefined) delete process.env.FORCE_COLOR;
  else process.env.FORCE_COLOR = savedForceColor;
});

const GREEN = '\u001b[32m';
const GRAY = '\u001b[90m';
const RED = '\u001b[31m';

it('colours recent results by status: keep green, discard gray, crash red', () => {
  const { lastFrame, unmount } = render(<Dashboard state={reduceAll(scriptedNight())} now={at(1010)} columns={80} rows={40} />);
  const raw = (lastFrame() ?? '').split('\n');
  // The Recent panel comes last, so a commit's last mention is its row there.
  const rowOf = (commit: string) => raw.filter((l) => l.includes(commit)).at(-1) ?? '';
  expect(rowOf('b000002')).toContain(GREEN);
  expect(rowOf('c000003')).toContain(GRAY);
  expect(rowOf('d000004')).toContain(RED);
  unmount();
});
