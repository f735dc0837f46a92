// The dashboard: one component per panel, composed here. `Dashboard` is a pure view of a state
// and a clock; `LiveDashboard` wires it to the store, the clock, the terminal and the keys.

import { Box, useInput, useStdin } from 'ink';
import { isPipelined, slotCapacity, type DashboardState } from './state.js';
import { planLayout } from './layout.js';
import { useEngineEvents, useNow, useTerminalSize } from './hooks.js';
import type { DashboardStore } from './store.js';
import { Banner } from './components/Banner.js';
import { Header } from './components/Header.js';
import { Progress } from './components/Progress.js';
import { Now } from './components/Now.js';
import { Slots } from './components/Slots.js';
import { Recent } from './components/Recent.js';
import { Cost } from './components/Cost.js';
import { Footer } from './components/Footer.js';

export interface DashboardProps {
  state: DashboardState;
  now: number;
  columns?: number;
  rows?: number;
  banner?: string;
  stopRequested?: boolean;
  closed?: boolean;
}

export function Dashboard({ state, now, columns, rows, banner, stopRequested = false, closed = false }: DashboardProps) {
  // Sized for every experiment that can be in flight, so the screen does not jump as they come and go.
  const slots = isPipelined(state) ? (state.gpus?.length || 1) * slotCapacity(state) : 0;
  const layout = planLayout(columns, rows, !!banner, slots);
  const { width } = layout;
  const costWidth = Math.min(48, Math.floor(width / 3));
  return (
    <Box flexDirection="column" width={width}>
      {banner ? <Banner text={banner} width={width} /> : null}
      <Header state={state} width={width} now={now} stopRequested={stopRequested} />
      {layout.wide ? (
        <Box flexDirection="row" width={width}>
          <Progress state={state} width={width - costWidth - 1} />
          <Box width={1} />
          <Cost state={state} width={costWidth} tall />
        </Box>
      ) : (
        <Progress state={state} width={width} />
      )}
      {layout.slotLines > 0 ? <Slots state={state} width={width} now={now} lines={layout.slotLines} /> : null}
      <Now state={state} width={width} now={now} bodyLines={layout.bodyLines} />
      <Recent state={state} width={width} rows={layout.recentRows} />
      {layout.wide ? null : <Cost state={state} width={width} tall={false} />}
      <Footer state={state} width={width} now={now} stopRequested={stopRequested} closed={closed} />
    </Box>
  );
}

export interface LiveDashboardProps {
  store: DashboardStore;
  onGracefulStop: () => void;
  /** Ctrl+C arrives as a key while the terminal is in raw mode; hand it to the engine's SIGINT handler. */
  onInterrupt?: () => void;
  banner?: string;
  columns?: number; // fixed size, for tests; otherwise the terminal's
  rows?: number;
}

function raiseSigint(): void {
  process.kill(process.pid, 'SIGINT');
}

export function LiveDashboard({ store, onGracefulStop, onInterrupt = raiseSigint, banner, columns, rows }: LiveDashboardProps) {
  const snap = useEngineEvents(store);
  const finished = snap.closed || snap.state.runState === 'finished';
  // The tick only schedules a redraw each second; the time itself is read fresh at every render,
  // so a redraw caused by an event never shows a clock older than the event.
  useNow(!finished);
  const now = Date.now();
  const size = useTerminalSize();
  const { isRawModeSupported } = useStdin();
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        onInterrupt();
        return;
      }
      if ((input === 'q' || input === 'Q') && !snap.stopRequested && !finished) {
        store.requestStop();
        onGracefulStop();
      }
    },
    { isActive: isRawModeSupported === true && !snap.closed },
  );
  return (
    <Dashboard
      state={snap.state}
      now={finished ? (snap.state.finishedAt ?? now) : now}
      columns={columns ?? size.columns}
      rows={rows ?? size.rows}
      banner={banner}
      stopRequested={snap.stopRequested}
      closed={snap.closed}
    />
  );
}
