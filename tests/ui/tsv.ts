// Writing results.tsv fixtures with the ledger's own formatting,
// plus hand-made damage: a torn last line, a second tag.

import type { ResultRow, Status } from '../../src/engine/types.js';
import { formatHeader, formatRow } from '../../src/ledger/results.js';

export const tsvLine = (r: ResultRow): string => formatRow(r);

export function tsv(rows: ResultRow[], metric = 'val_bpb'): string {
  return [formatHeader(metric), ...rows.map(tsvLine)].join('\n') + '\n';
}

/** A deterministic night of `n` experiments for tag `tag`: slow progress, discards, some crashes. */
export function night(n: number, tag = 'big', start = Date.UTC(2026, 10, 26, 0, 0, 0)): ResultRow[] {
  const rows: ResultRow[] = [];
  let best = 1.0;
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < n; i++) {
    let status: Status;
    let value: number;
    const x = rand();
    if (i === 0) {
      status = 'keep';
      value = best;
    } else if (x < 0.05) {
      status = 'crash';
      value = 0;
    } else {
      value = best + (rand() - 0.8) * 0.01;
      status = value < best ? 'keep' : 'discard';
      if (status === 'keep') best = value;
    }
    rows.push({
      commit: (0x1000000 + i).toString(16).slice(-7),
      value,
      memoryGb: status === 'crash' ? 0 : 40 + (i % 7),
      status,
      description: i === 0 ? 'baseline' : `experiment ${i}: try idea number ${i % 97}`,
      tag,
      startedAt: new Date(start + i * 330_000).toISOString(),
      seconds: 330,
      usage: { inputTokens: 12000, outputTokens: 900, cacheReadTokens: 30000, cacheWriteTokens: 2000, costUsd: 0.0812 },
    });
  }
  return rows;
}
