// Small text helpers shared by the dashboard, plain mode and `autoresearch results`.
// Pure and dependency-free, so every renderer formats numbers and times the same way.

import type { Direction } from '../engine/types.js';

/** `4s`, `3m05s`, `1h02m03s`: compact enough for a header, exact enough for a log. */
export function formatDuration(totalSec: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(totalSec) ? totalSec : 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(sec)}s`;
  if (m > 0) return `${m}m${pad(sec)}s`;
  return `${sec}s`;
}

/**
 * A limit the user set (`--timeout 1.5`), shown as given: like formatDuration, but fractions of a
 * second are kept (to 2 places), since rounding a limit down misstates it.
 */
export function formatLimit(totalSec: number): string {
  const whole = Math.floor(Math.max(0, Number.isFinite(totalSec) ? totalSec : 0));
  const frac = Math.round((totalSec - whole) * 100) / 100;
  if (!(frac > 0 && frac < 1)) return formatDuration(Math.round(totalSec));
  const base = formatDuration(whole);
  const fraction = frac.toFixed(2).replace(/0+$/, '').slice(1); // 0.50 → .5
  return base.replace(/s$/, `${fraction}s`);
}

/** `950`, `12.3k`, `4.56M`: token counts grow by orders of magnitude over a night. */
export function formatTokens(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n));
  if (abs < 1_000_000) return `${(n / 1000).toFixed(abs < 10_000 ? 1 : 0)}k`;
  if (abs < 1_000_000_000) return `${(n / 1_000_000).toFixed(abs < 10_000_000 ? 2 : 1)}M`;
  return `${(n / 1_000_000_000).toFixed(2)}G`;
}

export function formatCost(usd: number): string {
  return `$${(Number.isFinite(usd) ? usd : 0).toFixed(2)}`;
}

/** The metric as results.tsv writes it (six decimals), so the screen and the file agree. */
export function formatValue(v: number): string {
  return Number.isFinite(v) ? v.toFixed(6) : String(v);
}

/** Signed relative change of `value` against `baseline`, as a percentage string: `-0.61%`. */
export function formatChange(value: number, baseline: number): string {
  if (baseline === 0 || !Number.isFinite(value) || !Number.isFinite(baseline)) return 'n/a';
  const pct = ((value - baseline) / Math.abs(baseline)) * 100;
  const sign = pct > 0 ? '+' : pct < 0 ? '-' : '±';
  return `${sign}${Math.abs(pct).toFixed(2)}%`;
}

export function directionWords(direction: Direction): string {
  return direction === 'min' ? 'lower is better' : 'higher is better';
}

/** Local wall-clock time `YYYY-MM-DD HH:MM:SS`, the prefix of every plain-mode line. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

// Characters that take two terminal columns: CJK, Hangul, fullwidth forms and most emoji.
// An approximation of East Asian Width, good enough to keep a model's description on one line.
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
// Zero-width: combining marks, joiners, variation selectors.
const ZERO = /[\u0300-\u036f\u200b-\u200f\u20d0-\u20ff\ufe00-\ufe0f]/u;

function charWidth(ch: string): number {
  if (ZERO.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

/** Visible width of plain text (no ANSI codes) in terminal columns. */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

/** One line, control characters and runs of whitespace collapsed: model text must not break a layout. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/** Cut to at most `width` columns, ending with `…` when something was cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(s) <= width) return s;
  let out = '';
  let w = 0;
  for (const ch of s) {
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** Keep the end of the text instead: `…last words`. */
export function truncateStart(s: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(s) <= width) return s;
  const chars = [...s];
  let out = '';
  let w = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i] ?? '';
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out = ch + out;
    w += cw;
  }
  return `…${out}`;
}

/** Pad (or cut) to exactly `width` columns. */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const t = truncate(s, width);
  const pad = ' '.repeat(Math.max(0, width - textWidth(t)));
  return align === 'left' ? t + pad : pad + t;
}

/** Greedy word wrap into lines of at most `width` columns; overlong words are cut hard. */
export function wrapWords(text: string, width: number): string[] {
  if (width <= 0) return [];
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (word === '') continue;
    let w = word;
    while (textWidth(w) > width) {
      if (line) {
        lines.push(line);
        line = '';
      }
      const head = [...w].slice(0, width).join('');
      lines.push(head);
      w = [...w].slice(width).join('');
    }
    if (!line) line = w;
    else if (textWidth(line) + 1 + textWidth(w) <= width) line += ` ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line) lines.push(line);
  return lines;
}

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * A one-line chart of a series, at most `width` characters. Longer series are sampled at even
 * intervals (always including the last point), which is faithful for a best-so-far curve since
 * it is monotone. Null entries (no value yet) are drawn as spaces.
 */
export function sparkline(values: readonly (number | null)[], width: number): string {
  if (width <= 0 || values.length === 0) return '';
  const n = Math.min(width, values.length);
  const picked: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const idx = n === 1 ? values.length - 1 : Math.round((i * (values.length - 1)) / (n - 1));
    picked.push(values[idx] ?? null);
  }
  const finite = picked.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length === 0) return ' '.repeat(n);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  return picked
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      if (hi === lo) return BLOCKS[3];
      const level = Math.round(((v - lo) / (hi - lo)) * (BLOCKS.length - 1));
      return BLOCKS[level] ?? BLOCKS[0];
    })
    .join('');
}

/** `[██████░░░░│░░░]`: `fraction` filled, with an optional mark (e.g. the time budget) at `markAt`. */
export function progressBar(fraction: number, width: number, markAt?: number): string {
  if (width <= 0) return '';
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  const mark = markAt !== undefined && markAt > 0 && markAt < 1 ? Math.min(width - 1, Math.round(markAt * width)) : -1;
  let out = '';
  for (let i = 0; i < width; i++) {
    if (i === mark && i >= filled) out += '│';
    else out += i < filled ? '█' : '░';
  }
  return out;
}

/**
 * A tool call as a person would say it: `view train.py`, `$ ls -la`, `submit: raise lr`. Names are
 * those of the Claude agent's tools; any other tool shows as `name summary`.
 */
export function toolLabel(name: string, summary: string): string {
  const s = oneLine(summary);
  switch (name) {
    case 'str_replace_based_edit_tool':
      return s || 'edit';
    case 'bash':
      return `$ ${s}`;
    case 'submit_experiment':
      return `submit: ${s}`;
    default:
      return s ? `${name} ${s}` : name;
  }
}

/** Whether the model's shell and the training run are isolated, in the words the header and the plain log use. */
export function sandboxWords(sandboxed: boolean): string {
  return sandboxed ? 'sandboxed' : 'NOT sandboxed';
}

/** `gpus 0,1,2 · lookahead 1`: the GPUs the run trains on (when given) and how far each drafts ahead. */
export function slotsWords(gpus: readonly string[] | null, lookahead: number): string {
  return [...(gpus !== null ? [`gpu${gpus.length === 1 ? '' : 's'} ${gpus.join(',')}`] : []), `lookahead ${lookahead}`].join(' · ');
}
