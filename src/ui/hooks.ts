// State in hooks: the dashboard reads the store, a slow clock, and the terminal's size.

import { useStdout } from 'ink';
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { DashboardStore, Snapshot } from './store.js';

/** The engine's events as reduced state, re-rendered at the store's calm pace. */
export function useEngineEvents(store: DashboardStore): Snapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/** Wall-clock time, ticking once a second while `running` (elapsed times move without events). */
export function useNow(running: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [running, intervalMs]);
  return now;
}

/** Columns and rows of the terminal, following resizes. */
export function useTerminalSize(): { columns: number | undefined; rows: number | undefined } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns as number | undefined, rows: stdout.rows as number | undefined });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stdout]);
  return size;
}
