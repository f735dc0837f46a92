// How much of each panel fits the terminal. Ink clears the whole screen (a visible flicker) when
// a frame is as tall as the terminal, so the dashboard always stays at least one line shorter.

import type { Status } from '../engine/types.js';

export interface Layout {
  width: number; // columns the dashboard draws in
  wide: boolean; // side-by-side panels
  recentRows: number; // rows in the Recent results table
  bodyLines: number; // lines of the Now panel between its phase line and its description
  slotLines: number; // lines of the In flight panel; 0: no such panel
}

/** The fixed training budget of train.py (TIME_BUDGET in prepare.py), marked on the training bar. */
export const TIME_BUDGET_SEC = 300;

export const MIN_WIDTH = 40;
export const MAX_WIDTH = 160;

/**
 * `slots`: how many experiments can be in flight at once when the In flight panel shows (0: it does
 * not). Its lines come first, short of squeezing the Now panel below one line and Recent below two.
 */
export function planLayout(columns: number | undefined, rows: number | undefined, hasBanner: boolean, slots = 0): Layout {
  const width = Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, columns && columns > 0 ? columns : 80));
  const wide = width >= 120;
  const height = rows && rows > 0 ? rows : 40;
  // banner + header(2) + progress(4) + now(rule, phase, description: 3) + recent(rule, column heads: 2)
  // + cost(2) + footer(1) + 3 spare lines for the exit summary (4 lines); side by side saves the cost panel's 2.
  const fixed = (hasBanner ? 1 : 0) + 2 + 4 + 3 + 2 + (wide ? 0 : 2) + 1 + 3;
  let avail = height - 1 - fixed;
  let slotLines = 0;
  if (slots > 0) {
    slotLines = Math.max(1, Math.min(slots, avail - 1 - 1 - 2));
    avail -= 1 + slotLines; // its rule and its lines
  }
  const bodyLines = avail >= 15 ? 5 : avail >= 11 ? 4 : avail >= 5 ? 3 : Math.max(1, avail - 2);
  const recentRows = Math.max(2, Math.min(10, avail - bodyLines));
  return { width, wide, recentRows, bodyLines, slotLines };
}

export const STATUS_COLOR: Record<Status, string> = {
  keep: 'green',
  discard: 'gray',
  crash: 'red',
};
