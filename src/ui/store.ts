// Holds the reduced state between the engine (which may emit hundreds of streamed-text events a
// second) and React. Every event is reduced at once, but subscribers hear about it at most every
// `intervalMs`, so the dashboard redraws calmly however chatty the model is.

import type { EngineEvent } from '../engine/types.js';
import { initialState, reduce, type DashboardState } from './state.js';

export interface Snapshot {
  state: DashboardState;
  stopRequested: boolean; // the user pressed q
  closed: boolean; // the program is exiting: show the summary
}

export class DashboardStore {
  private current: Snapshot = { state: initialState, stopRequested: false, closed: false };
  private published: Snapshot = this.current;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private lastPublish = 0;

  constructor(private readonly intervalMs = 150) {}

  dispatch(e: EngineEvent): void {
    this.current = { ...this.current, state: reduce(this.current.state, e) };
    this.schedule();
  }

  requestStop(): void {
    if (this.current.stopRequested) return;
    this.current = { ...this.current, stopRequested: true };
    this.flush(); // a key press deserves an immediate answer
  }

  close(): void {
    this.current = { ...this.current, closed: true };
    this.flush();
  }

  /** Publish now, cancelling any pending timer. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.lastPublish = Date.now();
    if (this.published === this.current) return;
    this.published = this.current;
    for (const l of this.listeners) l();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): Snapshot => this.published;

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.intervalMs - (Date.now() - this.lastPublish));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }
}
