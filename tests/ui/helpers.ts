import { Writable } from 'node:stream';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

export const strip = (s: string): string => s.replace(ANSI, '');

/** Visible width of a line, counting code points (the dashboard's glyphs are all one column wide). */
export const visibleWidth = (line: string): number => [...strip(line)].length;

export function lines(frame: string | undefined): string[] {
  return strip(frame ?? '').split('\n');
}

/** The lines of the panel titled `title`: from its rule to the next rule. */
export function panel(frame: string | undefined, title: string): string[] {
  const all = lines(frame);
  const start = all.findIndex((l) => l.startsWith(`── ${title}`));
  if (start < 0) throw new Error(`no panel "${title}" in:\n${all.join('\n')}`);
  const rest = all.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('── '));
  return end < 0 ? rest : rest.slice(0, end);
}

export const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A writable stream that keeps what is written, for commands' stdout and stderr. */
export function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  });
  return { stream, text: () => out };
}
