// The contract the CLI calls: start the dashboard (or plain log lines), feed it the engine's
// events, close it when the program ends. The engine never imports anything from here.

import type { EngineEvent } from '../engine/types.js';
import { createPlainLogger } from './plain.js';
import { DashboardStore } from './store.js';

export interface UiHandle {
  onEvent(e: EngineEvent): void;
  close(): Promise<void>;
}

export interface UiOptions {
  /** Dashboard when true; plain timestamped lines otherwise (the CLI decides from --no-tui and isTTY). */
  tui: boolean;
  stdout: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** `q`: finish the current experiment, then stop. */
  onGracefulStop: () => void;
  /** Shown prominently at the top, e.g. "DEMO — scripted model, toy trainer, no GPU, no API key". */
  banner?: string;
}

/** Redraws per second at most (also in tui.ts, which is loaded lazily). */
const MAX_FPS = 8;

export function startUi(opts: UiOptions): UiHandle {
  if (!opts.tui) {
    const logger = createPlainLogger((text) => opts.stdout.write(text), { banner: opts.banner });
    return {
      onEvent: (e) => logger.onEvent(e),
      close: async () => logger.close(),
    };
  }

  // Events are reduced into the store from the first one on; the dashboard draws whatever the
  // store holds once Ink has loaded (a fraction of a second), so nothing is lost meanwhile.
  const store = new DashboardStore(Math.round(1000 / MAX_FPS));
  const mounted = import('./tui.js').then((m) =>
    m.mountDashboard(store, { stdout: opts.stdout, stdin: opts.stdin, onGracefulStop: opts.onGracefulStop, banner: opts.banner }),
  );
  mounted.catch(() => {}); // reported by close(); no unhandled rejection meanwhile
  let closing: Promise<void> | null = null;
  return {
    onEvent: (e) => store.dispatch(e),
    close: () => {
      closing ??= (async () => {
        const instance = await mounted;
        store.close(); // final state and the summary, published at once
        await new Promise<void>((resolve) => setImmediate(resolve)); // let React commit it
        instance.unmount(); // Ink leaves the last frame on screen
        await instance.waitUntilExit();
      })();
      return closing;
    },
  };
}
