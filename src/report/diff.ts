// A unified diff (`git show` output) as HTML: file headers, hunks with old and new line numbers,
// added and removed lines coloured by their prefix, and Python code (train.py) highlighted token by
// token. Hand-written rather than a library (diff2html, highlight.js): those run in the page and
// are each several times this file's size once inlined; this runs once, when the report is written,
// and is about 90 lines (docs/report.md). Every piece of text goes through escapeHtml.

import { escapeHtml } from './escape.js';

const PY_KEYWORDS =
  'False|None|True|and|as|assert|async|await|break|class|continue|def|del|elif|else|except|finally|for|from|global|if|import|in|is|lambda|nonlocal|not|or|pass|raise|return|try|while|with|yield';
/** Comment, string, number, keyword, builtin call: one alternative per token class, tried left to right. */
const PY_TOKEN = new RegExp(
  [
    '(#.*$)',
    `((?:[rRbBfFuU]{0,2})(?:"""|'''|"(?:[^"\\\\]|\\\\.)*"?|'(?:[^'\\\\]|\\\\.)*'?))`,
    '(\\b\\d[\\d_]*(?:\\.[\\d_]*)?(?:[eE][+-]?\\d+)?\\b|\\.\\d+(?:[eE][+-]?\\d+)?\\b)',
    `\\b(${PY_KEYWORDS})\\b`,
    '\\b([A-Za-z_]\\w*)(?=\\()',
  ].join('|'),
  'g',
);
const PY_CLASSES = ['c', 's', 'n', 'k', 'f'] as const;

/** One line of Python as HTML, tokens wrapped in `<span class="c|s|n|k|f">` (comment, string, number, keyword, call). */
export function highlightPython(line: string): string {
  let out = '';
  let at = 0;
  PY_TOKEN.lastIndex = 0;
  for (let m = PY_TOKEN.exec(line); m !== null; m = PY_TOKEN.exec(line)) {
    if (m[0] === '') {
      PY_TOKEN.lastIndex++;
      continue;
    }
    const group = m.slice(1).findIndex((g) => g !== undefined);
    out += escapeHtml(line.slice(at, m.index)) + `<span class="${PY_CLASSES[group]}">${escapeHtml(m[0])}</span>`;
    at = m.index + m[0].length;
  }
  return out + escapeHtml(line.slice(at));
}

export interface DiffOptions {
  /** Lines shown at most; the rest is left to `git show` (the page says so). */
  maxLines?: number;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** The diff as a `<div class="diff">`: one table row per line, with line numbers. */
export function renderDiff(diff: string, opts: DiffOptions = {}): string {
  const maxLines = opts.maxLines ?? 400;
  const lines = diff.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let python = false;
  let oldNo = 0;
  let newNo = 0;
  let inHunk = false;
  let shown = 0;
  for (const line of lines) {
    if (shown >= maxLines) {
      out.push(`<tr class="cut"><td colspan="3">… ${lines.length - shown} more lines: see git show</td></tr>`);
      break;
    }
    shown++;
    if (line.startsWith('diff --git ')) {
      inHunk = false;
      const file = / b\/(.*)$/.exec(line)?.[1] ?? line.slice('diff --git '.length);
      python = /\.pyi?$/.test(file);
      out.push(`<tr class="file"><td colspan="3">${escapeHtml(file)}</td></tr>`);
      continue;
    }
    const hunk = HUNK.exec(line);
    if (hunk) {
      inHunk = true;
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      out.push(`<tr class="hunk"><td></td><td></td><td>${escapeHtml(line)}</td></tr>`);
      continue;
    }
    if (!inHunk) {
      // index, ---, +++ and mode lines: the file row says it all; a binary file's one line is kept.
      if (line.startsWith('Binary files')) out.push(`<tr class="meta"><td></td><td></td><td>${escapeHtml(line)}</td></tr>`);
      continue;
    }
    const sign = line[0];
    const body = line.slice(1);
    const code = python ? highlightPython(body) : escapeHtml(body);
    if (sign === '+') out.push(`<tr class="add"><td></td><td>${newNo++}</td><td>+${code}</td></tr>`);
    else if (sign === '-') out.push(`<tr class="del"><td>${oldNo++}</td><td></td><td>-${code}</td></tr>`);
    else if (sign === '\\') out.push(`<tr class="meta"><td></td><td></td><td>${escapeHtml(line)}</td></tr>`);
    else out.push(`<tr class="ctx"><td>${oldNo++}</td><td>${newNo++}</td><td> ${code}</td></tr>`);
  }
  return `<div class="diff"><table>${out.join('')}</table></div>`;
}
