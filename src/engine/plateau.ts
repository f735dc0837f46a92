// Plateaus and near misses: after --plateau experiments in a row without a keep, the prompt says so
// and brings back what is worth another look. Pure functions of the tag's rows.

import { ENGINE_DEFAULTS } from './config.js';
import { experimentOf } from './duplicates.js';
import { clipText, valueText } from './history.js';
import type { ResultRow } from './types.js';

/** The default of --plateau (config.ts): experiments in a row without a keep before near misses are shown. */
export const DEFAULT_PLATEAU = ENGINE_DEFAULTS.plateau;
/** Near misses shown, the newest first. */
export const NEAR_MISSES_SHOWN = 8;

/** Experiments since the last keep (the baseline counts as one): the length of the current dry spell. */
export function sinceLastKeep(rows: readonly ResultRow[]): number {
  let n = 0;
  for (let i = rows.length - 1; i >= 0 && rows[i]!.status !== 'keep'; i--) n++;
  return n;
}

export interface NearMiss {
  experiment: number;
  row: ResultRow;
  why: string;
}

/**
 * Discarded experiments worth another look: those better than the best of their time but within
 * the noise margin, and those that beat an older best but did not apply on the newer one (never
 * measured on it). Newest first.
 */
export function nearMisses(rows: readonly ResultRow[]): NearMiss[] {
  const out: NearMiss[] = [];
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!;
    if (row.status !== 'discard') continue;
    const verdict = row.verdict ?? '';
    if (verdict.startsWith('within noise')) out.push({ experiment: experimentOf(row, i), row, why: 'better than the best of its time, but within the noise' });
    else if (/does not apply/.test(verdict) || /does not apply on the new best/.test(row.description)) {
      out.push({ experiment: experimentOf(row, i), row, why: 'beat an older best, but was never measured on the newer one (it did not apply)' });
    }
  }
  return out;
}

/** The prompt's plateau section, or null when the tag is not on a plateau (or --plateau is 0). */
export function plateauText(rows: readonly ResultRow[], plateau: number, discardedRef: (commit: string) => string): string | null {
  if (plateau <= 0) return null;
  const dry = sinceLastKeep(rows);
  if (dry < plateau) return null;
  const misses = nearMisses(rows);
  const shown = misses.slice(0, NEAR_MISSES_SHOWN);
  return [
    `Plateau: ${dry} experiments in a row without a keep. Another small tweak of the same kind is unlikely to pay off.`,
    ...(shown.length > 0
      ? [
          `Near misses worth another look (${shown.length}${misses.length > shown.length ? ` of ${misses.length}` : ''}, newest first; read a diff with \`git show <ref>\`):`,
          ...shown.map((m) => `- #${m.experiment} ${m.row.commit} ${valueText(m.row)}, ${m.why}; ref ${discardedRef(m.row.commit)} | ${clipText(m.row.description, 110)}`),
        ]
      : ['No near misses so far: nothing discarded came within the noise of the best.']),
    'Consider combining near misses that touch different things, or a structural change (architecture, optimizer, schedule) rather than another small hyperparameter step.',
  ].join('\n');
}
