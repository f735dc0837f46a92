// Mounting the Ink dashboard. Kept apart from index.ts so that Ink and React (the slowest imports
// of the program) load only when a dashboard is drawn, never in plain mode or for other commands.

import { render } from 'ink';
import { createElement } from 'react';
import { LiveDashboard } from './Dashboard.js';
import type { DashboardStore } from './store.js';

/** Redraws per second at most; the model streams far faster than anyone can read. */
export const MAX_FPS = 8;

export interface Mounted {
  unmount(): void;
  waitUntilExit(): Promise<unknown>;
}

export function mountDashboard(
  store: DashboardStore,
  opts: { stdout: NodeJS.WriteStream; stdin?: NodeJS.ReadStream; onGracefulStop: () => void; banner?: string },
): Mounted {
  return render(createElement(LiveDashboard, { store, onGracefulStop: opts.onGracefulStop, banner: opts.banner }), {
    stdout: opts.stdout,
    stdin: opts.stdin ?? process.stdin,
    // Ctrl+C belongs to the engine's signal handler (stop now, resumably); the dashboard forwards it.
    exitOnCtrlC: false,
    // Stray console output is printed above the dashboard instead of tearing it. (Test runners
    // replace the console with one Ink cannot wrap; then it is left alone.)
    patchConsole: typeof console.Console === 'function',
    maxFps: MAX_FPS,
    // Ink's incremental mode misplaced lines of this layout in tmux; whole-frame redraws at 8 Hz
    // are calm enough, since the frame never fills the terminal (see layout.ts).
    incrementalRendering: false,
  });
}
