// Reading a training log: the objective value and peak memory, from the summary block
// train.py prints (`val_bpb:          0.997900`) or a `key=value` line. Pure functions.

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A number as Python prints it, including nan/inf in any case and sign.
const NUMBER = String.raw`[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf(?:inity)?)`;

/** The last `<key>: <number>` or `<key>=<number>` in the log, or null. NaN and ±Infinity are returned as such. */
export function lastKeyedNumber(log: string, key: string): number | null {
  const pattern = new RegExp(String.raw`(?:^|[\s|,;])${escapeRegExp(key)}\s*(?::|=)\s*(${NUMBER})(?![\w.])`, 'gim');
  let last: string | null = null;
  for (const match of log.matchAll(pattern)) last = match[1] ?? null;
  if (last === null) return null;
  const lower = last.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(last);
}

/** The objective value reported in the log: the last match wins, because a run may print progress first. */
export function parseMetric(log: string, metric: string): number | null {
  return lastKeyedNumber(log, metric);
}

/** Peak memory in GB: `peak_vram_mb:` (converted) or `memory_gb`; 0 when the log reports neither. */
export function parseMemoryGb(log: string): number {
  const mb = lastKeyedNumber(log, 'peak_vram_mb');
  if (mb !== null && Number.isFinite(mb)) return mb / 1024;
  const gb = lastKeyedNumber(log, 'memory_gb');
  if (gb !== null && Number.isFinite(gb)) return gb;
  return 0;
}

/** True when the log shows the run died for lack of (GPU or host) memory. */
export function looksOutOfMemory(log: string): boolean {
  return /out of memory|OutOfMemoryError|CUDA error: out of memory|Killed process .* \(python|MemoryError/i.test(log);
}

/** The last `n` non-empty lines of a log, for the dashboard and for a fix attempt's prompt. */
export function logTail(log: string, n: number): string[] {
  const lines = log.split(/\r?\n|\r/).filter((l) => l.trim() !== '');
  return lines.slice(-n);
}
