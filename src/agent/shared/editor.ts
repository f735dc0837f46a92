// Executor of Anthropic's text editor tool (text_editor_20250728: view, create, str_replace,
// insert), confined to the repository: anything may be viewed, only editable files written.

import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveInRepo } from './paths.js';
import type { ToolOutcome } from './outcome.js';

export interface EditorInput {
  command?: unknown;
  path?: unknown;
  view_range?: unknown;
  file_text?: unknown;
  old_str?: unknown;
  new_str?: unknown;
  insert_line?: unknown;
  insert_text?: unknown;
}

export const VIEW_MAX_CHARS = 100_000;
const SNIPPET_LINES = 4;

function fail(text: string): ToolOutcome {
  return { text: `Error: ${text}`, isError: true };
}

function numbered(lines: string[], firstLine: number): string {
  return lines.map((l, i) => `${String(firstLine + i).padStart(6)}\t${l}`).join('\n');
}

function capped(text: string): string {
  if (text.length <= VIEW_MAX_CHARS) return text;
  return `${text.slice(0, VIEW_MAX_CHARS)}\n[output cut at ${VIEW_MAX_CHARS} characters; use view_range to see the rest]`;
}

function snippetAround(content: string, startLine: number, lineCount: number): string {
  const lines = content.split('\n');
  const from = Math.max(0, startLine - SNIPPET_LINES);
  const to = Math.min(lines.length, startLine + lineCount + SNIPPET_LINES);
  return numbered(lines.slice(from, to), from + 1);
}

async function listDir(abs: string, rel: string): Promise<string> {
  const out: string[] = [];
  async function walk(dir: string, prefix: string, depth: number): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules' || e.name === '__pycache__') continue;
      const shown = prefix ? `${prefix}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${shown}/` : shown);
      if (e.isDirectory() && depth < 2) await walk(path.join(dir, e.name), shown, depth + 1);
      if (out.length > 2000) return;
    }
  }
  await walk(abs, '', 1);
  return `Files and directories up to 2 levels deep in ${rel || '.'} (hidden ones excluded):\n${out.join('\n')}`;
}

async function view(abs: string, rel: string, range: [number, number] | null): Promise<ToolOutcome> {
  const info = await stat(abs);
  if (info.isDirectory()) return { text: capped(await listDir(abs, rel)), isError: false };
  const buf = await readFile(abs);
  if (buf.includes(0)) return { text: `${rel} is a binary file of ${buf.length} bytes; it cannot be shown as text.`, isError: false };
  const lines = buf.toString('utf8').split('\n');
  let from = 1;
  let to = lines.length;
  if (range !== null) {
    const [a, b] = range;
    if (a < 1 || a > lines.length) return fail(`view_range start ${a} is outside the file's lines 1-${lines.length}.`);
    if (b !== -1 && (b < a || b > lines.length)) return fail(`view_range end ${b} must be -1 or between ${a} and ${lines.length}.`);
    from = a;
    to = b === -1 ? lines.length : b;
  }
  return { text: capped(numbered(lines.slice(from - 1, to), from)), isError: false };
}

async function readText(abs: string, rel: string): Promise<string | ToolOutcome> {
  try {
    return await readFile(abs, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fail(`${rel} does not exist; use the create command to make it.`);
    throw err;
  }
}

/** An editor call whose fields have been checked: the right types for its command. */
type EditorCall =
  | { command: 'view'; path: string; range: [number, number] | null }
  | { command: 'create'; path: string; fileText: string }
  | { command: 'str_replace'; path: string; oldStr: string; newStr: string }
  | { command: 'insert'; path: string; line: number; text: string };

/** What a JSON value is, for error messages; never echoes a (possibly huge) string. */
function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return `the number ${v}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A path (or other model-given text) fit to quote in an error message. */
function clip(p: string): string {
  return p.length <= 200 ? p : `${p.slice(0, 199)}…`;
}

/**
 * Check the types of a call's fields before anything is read or written, so a malformed call is
 * refused with the field's name instead of half-working (a number for new_str used to be taken
 * as '' and silently delete old_str). Returns the checked call, or why it is refused.
 */
function parseCall(input: EditorInput): EditorCall | string {
  const { command, path: p } = input;
  if (command !== 'view' && command !== 'create' && command !== 'str_replace' && command !== 'insert') {
    return `unknown command ${clip(JSON.stringify(command) ?? String(command))}; use view, create, str_replace or insert.`;
  }
  if (typeof p !== 'string') return `path must be a string, got ${kindOf(p)}.`;
  switch (command) {
    case 'view': {
      const r = input.view_range;
      if (r === undefined || r === null) return { command, path: p, range: null };
      if (!Array.isArray(r) || r.length !== 2 || !r.every((n) => Number.isInteger(n))) {
        return 'view_range must be two integers [start_line, end_line] (end_line -1 means the end of the file).';
      }
      return { command, path: p, range: r as [number, number] };
    }
    case 'create':
      if (typeof input.file_text !== 'string') return `create needs file_text (the whole content of the file) as a string, got ${kindOf(input.file_text)}.`;
      return { command, path: p, fileText: input.file_text };
    case 'str_replace': {
      if (typeof input.old_str !== 'string' || input.old_str === '') {
        return `str_replace needs a non-empty old_str (the exact text to replace), got ${input.old_str === '' ? 'an empty string' : kindOf(input.old_str)}.`;
      }
      // The tool's spec makes new_str optional: left out (or ''), old_str is deleted. Any other
      // non-string is a malformed call, not a deletion.
      const n = input.new_str;
      if (n !== undefined && typeof n !== 'string') return `new_str must be a string (the replacement text; leave it out or make it "" to delete old_str), got ${kindOf(n)}.`;
      return { command, path: p, oldStr: input.old_str, newStr: n ?? '' };
    }
    case 'insert': {
      const line = input.insert_line;
      if (typeof line !== 'number' || !Number.isInteger(line)) {
        return `insert_line must be an integer (the line after which to insert; 0 for the top of the file), got ${kindOf(line)}.`;
      }
      // insert_text is the current name; older versions of the tool called it new_str.
      const given = input.insert_text !== undefined ? 'insert_text' : input.new_str !== undefined ? 'new_str' : null;
      const text = given === null ? undefined : input[given];
      if (typeof text !== 'string') return `insert needs insert_text (the text to insert) as a string, got ${kindOf(text)}.`;
      return { command, path: p, line, text };
    }
  }
}

export async function runEditor(repoDir: string, editable: readonly string[], input: EditorInput): Promise<ToolOutcome> {
  const call = parseCall(input);
  if (typeof call === 'string') return fail(call);
  let rel = clip(call.path); // until resolved: what the model asked for
  try {
    const where = await resolveInRepo(repoDir, call.path, call.command !== 'view', editable);
    if (!where.ok) return fail(where.why);
    rel = where.rel;
    const { abs } = where;
    switch (call.command) {
      case 'view':
        return await view(abs, rel, call.range);
      case 'create': {
        await writeFile(abs, call.fileText);
        return { text: `File ${rel} written (${call.fileText.split('\n').length} lines).`, isError: false };
      }
      case 'str_replace': {
        const { oldStr, newStr } = call;
        const content = await readText(abs, rel);
        if (typeof content !== 'string') return content;
        const first = content.indexOf(oldStr);
        if (first < 0) return fail(`no replacement was made: old_str did not appear verbatim in ${rel}. View the file and copy the text exactly, whitespace included.`);
        const second = content.indexOf(oldStr, first + 1);
        if (second >= 0) {
          const lineOf = (i: number): number => content.slice(0, i).split('\n').length;
          return fail(`no replacement was made: old_str appears more than once in ${rel} (lines ${lineOf(first)} and ${lineOf(second)}); include more context to make it unique.`);
        }
        const updated = content.slice(0, first) + newStr + content.slice(first + oldStr.length);
        await writeFile(abs, updated);
        const startLine = content.slice(0, first).split('\n').length - 1;
        return { text: `The file ${rel} has been edited. Here is the changed region:\n${snippetAround(updated, startLine, newStr.split('\n').length)}`, isError: false };
      }
      case 'insert': {
        const { line, text } = call;
        const content = await readText(abs, rel);
        if (typeof content !== 'string') return content;
        const lines = content.split('\n');
        if (line < 0 || line > lines.length) return fail(`insert_line must be an integer between 0 and ${lines.length}.`);
        // A trailing newline ends the last inserted line; it does not add an empty one.
        const inserted = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
        lines.splice(line, 0, ...inserted);
        const updated = lines.join('\n');
        await writeFile(abs, updated);
        return { text: `Inserted ${inserted.length} line(s) into ${rel} after line ${line}:\n${snippetAround(updated, line, inserted.length)}`, isError: false };
      }
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOENT') return fail(`${rel} does not exist.`);
    if (code === 'EISDIR') return fail(`${rel} is a directory.`);
    if (code === 'EACCES' || code === 'EPERM') return fail(`${rel}: permission denied.`);
    // Any other file-system failure (ENAMETOOLONG, ELOOP, ENOSPC, EROFS ...) is told to the model
    // like the ones above: the experiment goes on. Only a bug of ours (no errno code) escapes.
    if (typeof code === 'string') return fail(`${rel || '.'}: the ${call.command} failed (${code}).`);
    throw err;
  }
}
