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

async function view(abs: string, rel: string, range: unknown): Promise<ToolOutcome> {
  const info = await stat(abs);
  if (info.isDirectory()) return { text: capped(await listDir(abs, rel)), isError: false };
  const buf = await readFile(abs);
  if (buf.includes(0)) return { text: `${rel} is a binary file of ${buf.length} bytes; it cannot be shown as text.`, isError: false };
  const lines = buf.toString('utf8').split('\n');
  let from = 1;
  let to = lines.length;
  if (range !== undefined && range !== null) {
    if (!Array.isArray(range) || range.length !== 2 || !range.every((n) => Number.isInteger(n))) {
      return fail('view_range must be two integers [start_line, end_line] (end_line -1 means the end of the file).');
    }
    const [a, b] = range as [number, number];
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

export async function runEditor(repoDir: string, editable: readonly string[], input: EditorInput): Promise<ToolOutcome> {
  const command = input.command;
  if (command !== 'view' && command !== 'create' && command !== 'str_replace' && command !== 'insert') {
    return fail(`unknown command ${JSON.stringify(command)}; use view, create, str_replace or insert.`);
  }
  if (typeof input.path !== 'string') return fail('path must be a string.');
  const write = command !== 'view';
  const where = await resolveInRepo(repoDir, input.path, write, editable);
  if (!where.ok) return fail(where.why);
  const { abs, rel } = where;
  try {
    switch (command) {
      case 'view':
        return await view(abs, rel, input.view_range);
      case 'create': {
        if (typeof input.file_text !== 'string') return fail('create needs file_text (the whole content of the file).');
        await writeFile(abs, input.file_text);
        return { text: `File ${rel} written (${input.file_text.split('\n').length} lines).`, isError: false };
      }
      case 'str_replace': {
        if (typeof input.old_str !== 'string' || input.old_str === '') return fail('str_replace needs a non-empty old_str.');
        const newStr = typeof input.new_str === 'string' ? input.new_str : '';
        const content = await readText(abs, rel);
        if (typeof content !== 'string') return content;
        const first = content.indexOf(input.old_str);
        if (first < 0) return fail(`no replacement was made: old_str did not appear verbatim in ${rel}. View the file and copy the text exactly, whitespace included.`);
        const second = content.indexOf(input.old_str, first + 1);
        if (second >= 0) {
          const lineOf = (i: number): number => content.slice(0, i).split('\n').length;
          return fail(`no replacement was made: old_str appears more than once in ${rel} (lines ${lineOf(first)} and ${lineOf(second)}); include more context to make it unique.`);
        }
        const updated = content.slice(0, first) + newStr + content.slice(first + input.old_str.length);
        await writeFile(abs, updated);
        const startLine = content.slice(0, first).split('\n').length - 1;
        return { text: `The file ${rel} has been edited. Here is the changed region:\n${snippetAround(updated, startLine, newStr.split('\n').length)}`, isError: false };
      }
      case 'insert': {
        const text = typeof input.insert_text === 'string' ? input.insert_text : typeof input.new_str === 'string' ? input.new_str : null;
        if (text === null) return fail('insert needs insert_text.');
        const line = input.insert_line;
        const content = await readText(abs, rel);
        if (typeof content !== 'string') return content;
        const lines = content.split('\n');
        if (typeof line !== 'number' || !Number.isInteger(line) || line < 0 || line > lines.length) {
          return fail(`insert_line must be an integer between 0 and ${lines.length}.`);
        }
        // A trailing newline ends the last inserted line; it does not add an empty one.
        const inserted = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
        lines.splice(line, 0, ...inserted);
        const updated = lines.join('\n');
        await writeFile(abs, updated);
        return { text: `Inserted ${inserted.length} line(s) into ${rel} after line ${line}:\n${snippetAround(updated, line, inserted.length)}`, isError: false };
      }
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return fail(`${rel} does not exist.`);
    if (e.code === 'EISDIR') return fail(`${rel} is a directory.`);
    if (e.code === 'EACCES' || e.code === 'EPERM') return fail(`${rel}: permission denied.`);
    throw err;
  }
}
