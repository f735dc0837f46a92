// The tools as Chat Completions function tools: the same names and input shapes as the Claude
// agent's (Anthropic's bash and text editor tools, written out as JSON Schema, since other models
// know no built-in versions of them), run by shared/tools.ts behind the same guards.

import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { BASH_TOOL, EDITOR_TOOL, SUBMIT_DESCRIPTION, SUBMIT_DESCRIPTION_FIELD, SUBMIT_NOTES_FIELD, SUBMIT_TOOL } from '../shared/tools.js';

export function functionTools(): ChatCompletionFunctionTool[] {
  return [
    {
      type: 'function',
      function: {
        name: BASH_TOOL,
        description:
          'Run a bash command in the repository root and get its output (stdout and stderr, cut when long). Each command runs in a fresh shell with a time limit: cd and variables do not carry over. Use it for quick, read-only checks; do not run the training and do not use git to commit, reset or switch branches.',
        parameters: {
          type: 'object',
          properties: {
            command: { type: 'string', description: 'The bash command to run.' },
            restart: { type: 'boolean', description: 'Restart the shell instead of running a command (rarely needed: every command gets a fresh shell).' },
          },
          required: ['command'],
        },
      },
    },
    {
      type: 'function',
      function: {
        name: EDITOR_TOOL,
        description:
          'View and edit files in the repository. view: show a file with line numbers (or list a directory); view_range [start, end] shows part of it (end -1: to the end). str_replace: replace old_str, which must occur exactly once, with new_str. create: write file_text as a new file. insert: insert insert_text after line insert_line (0: at the top). Only the editable files may be changed.',
        parameters: {
          type: 'object',
          properties: {
            command: { type: 'string', enum: ['view', 'str_replace', 'create', 'insert'], description: 'What to do.' },
            path: { type: 'string', description: 'Repository-relative path of the file, e.g. train.py.' },
            view_range: { type: 'array', items: { type: 'integer' }, description: 'view only: [first line, last line], 1-based; -1 as the last means the end of the file.' },
            old_str: { type: 'string', description: 'str_replace only: the exact text to replace; it must occur exactly once.' },
            new_str: { type: 'string', description: 'str_replace only: the replacement text ("" deletes old_str).' },
            file_text: { type: 'string', description: 'create only: the content of the new file.' },
            insert_line: { type: 'integer', description: 'insert only: the line after which to insert; 0 for the top of the file.' },
            insert_text: { type: 'string', description: 'insert only: the text to insert.' },
          },
          required: ['command', 'path'],
        },
      },
    },
    {
      type: 'function',
      function: {
        name: SUBMIT_TOOL,
        description: SUBMIT_DESCRIPTION,
        parameters: {
          type: 'object',
          properties: { description: { type: 'string', description: SUBMIT_DESCRIPTION_FIELD }, notes: { type: 'string', description: SUBMIT_NOTES_FIELD } },
          required: ['description'],
        },
      },
    },
  ];
}

/**
 * A tool call's arguments as the model sent them (a JSON text), read into the tool's input, or why
 * they cannot be. An empty text is an empty object: some servers send "" for a call without arguments.
 */
export function parseArguments(text: string): { input: Record<string, unknown> } | { malformed: string } {
  if (text.trim() === '') return { input: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const shown = text.length > 200 ? `${text.slice(0, 199)}…` : text;
    return { malformed: `not valid JSON (${(err as Error).message}): ${shown}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { malformed: `a JSON object was expected, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` };
  return { input: value as Record<string, unknown> };
}
