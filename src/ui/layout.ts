// How much of each panel fits the terminal. Ink clears the whole screen (a visible flicker) when
// a frame is as tall as the terminal, so the dashboard always stays at least one line shorter.

import type { Status } from '../engine/types.js';

export interface Layout {
  width: number; // columns the dashboard draws in
  wide: boolean; // side-by-side panels
  recentRows: number; // rows in the Recent results table
  bodyLines: number; // lines of the Now panel between its phase line and its description
}

/** The fixed training budget of train.py (TIME_BUDGET in prepare.py), marked on the training bar. */
export const TIME_BUDGET_SEC = 300;

export const MIN_WIDTH = 40;
export const MAX_WIDTH = 160;

export function planLayout(columns: number | undefined, rows: number | undefined, hasBanner: boolean): Layout {
  const width = Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, columns && columns > 0 ? columns : 80));
  const wide = width >= 120;
  const height = rows && rows > 0 ? rows : 40;
  // banner + header(2) + progress(4) + now(rule, phase, description: 3) + recent(rule, column heads: 2)
  // + cost(2) + footer(1) + 3 spare lines for the exit summary (4 lines); side by side saves the cost panel's 2.
  const fixed = (hasBanner ? 1 : 0) + 2 + 4 + 3 + 2 + (wide ? 0 : 2) + 1 + 3;
  const avail = height - 1 - fixed;
  const bodyLines = avail >= 15 ? 5 : avail >= 11 ? 4 : 3;
  const recentRows = Math.max(2, Math.min(10, avail - bodyLines));
  return { width, wide, recentRows, bodyLines };
}

export const STATUS_COLOR: Record<Status, string> = {
  keep: 'green',
  discard: 'gray',
  crash: 'red',
};
