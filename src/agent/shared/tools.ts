// The tools offered to the model and how each call is carried out: bash, the text editor (the
// input shapes of Anthropic's own tools, which every provider's definitions copy) and
// `submit_experiment`, which ends the edit phase. Each provider declares them in its wire format
// (claude/tools.ts, openai/tools.ts); this file runs them. Every bash command is followed by the
// git guard, which undoes anything outside the rules and tells the model what it undid.

import { restoreGitState, snapshotGitState } from '../../git/guard.js';
import { crashReason, type Duplicate } from '../../engine/duplicates.js';
import { clipText } from '../../engine/history.js';
import type { ShellGit } from '../../proc/sandbox.js';
import { runBash, unrunnableCommand } from './bash.js';
import { runEditor, type EditorInput } from './editor.js';
import type { ToolOutcome } from './outcome.js';

export const BASH_TOOL = 'bash';
export const EDITOR_TOOL = 'str_replace_based_edit_tool';
export const SUBMIT_TOOL = 'submit_experiment';

export const DESCRIPTION_MAX = 200;

/** What submit_experiment's description asks for, in every provider's definition. */
export const SUBMIT_DESCRIPTION =
  'Submit the one change you made for this experiment. Call it once, after your edit is in place; the program then commits the change, runs the training, measures the objective and keeps or discards it. Nothing after this call is executed.';
export const SUBMIT_DESCRIPTION_FIELD = `One line, at most ${DESCRIPTION_MAX} characters: what you changed and why (e.g. "raise matrix LR 0.02 -> 0.04: loss was still falling fast at the end").`;

export const NOTES_MAX = 500;
export const SUBMIT_NOTES_FIELD = `Optional, at most ${NOTES_MAX} characters: what this experiment taught you that should guide later ones (e.g. "every wider model was worse; the optimizer is the bottleneck"). Notes are kept for the whole night and shown to every later experiment. Leave it out when there is nothing new.`;

/** Notes fit for one results.tsv cell, like a description but longer; '' when absent. */
export function sanitizeNotes(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : '';
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line.length <= NOTES_MAX ? line : `${line.slice(0, NOTES_MAX - 1)}…`;
}

/** What the model hears when it submits code already measured or in flight: which experiment, and what to do instead. */
export function duplicateAnswer(dup: Duplicate, metric: string): string {
  const what = `experiment #${dup.experiment} ("${clipText(dup.description, 160)}")`;
  const result =
    dup.kind === 'in-flight'
      ? 'it is in flight right now (drafted or training on another GPU); its result is not in yet'
      : dup.row.status === 'crash'
        ? `it crashed (${crashReason(dup.row) ?? 'unknown reason'})`
        : `it was measured: ${dup.row.status}, ${metric} ${dup.row.value.toFixed(6)}${dup.row.verdict ? ` (${clipText(dup.row.verdict, 120)})` : ''}`;
  return (
    `Error: not submitted. The editable files are identical to ${what}: ${result}. ` +
    'Training the same code again would only repeat that result. Make a different change (or build on that one), then call submit_experiment again.'
  );
}

/** A description fit for one results.tsv cell: one line, no tabs or control characters, bounded. */
export function sanitizeDescription(raw: unknown): string {
  const text = typeof raw === 'string' ? raw : '';
  // eslint-disable-next-line no-control-regex
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return line.length <= DESCRIPTION_MAX ? line : `${line.slice(0, DESCRIPTION_MAX - 1)}…`;
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** A short, one-line account of a tool call, for the dashboard. */
export function summarizeToolCall(name: string, input: unknown): string {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  if (name === BASH_TOOL) return i['restart'] === true ? 'restart' : oneLine(String(i['command'] ?? ''), 120);
  if (name === EDITOR_TOOL) {
    const range = Array.isArray(i['view_range']) ? ` ${JSON.stringify(i['view_range'])}` : '';
    return oneLine(`${String(i['command'] ?? '?')} ${String(i['path'] ?? '?')}${range}`, 120);
  }
  if (name === SUBMIT_TOOL) return oneLine(String(i['description'] ?? ''), 120);
  return oneLine(JSON.stringify(input) ?? '', 120);
}

export interface ToolRunnerOptions {
  repoDir: string;
  editable: readonly string[];
  bashTimeoutMs: number;
  sandbox?: boolean; // bash commands run in the sandbox (the engine's decision, in ExperimentContext)
  projectEnv?: string; // the runs' Python environment: `uv run` in the shell uses it too, and the sandbox shows it (read-only)
  git?: ShellGit; // the main repository's git directory, shown read-only in the sandbox so `git show <ref>` works
  /** Removes secrets from any text before the model sees it (defence in depth: the shell has no key anyway). */
  redact: (text: string) => string;
}

export interface ToolRun extends ToolOutcome {
  undone: string[]; // what the guard put back after a bash command
}

/** Runs the bash and editor tools. (submit_experiment is handled by the conversation loop.) */
export class ToolRunner {
  constructor(private readonly opts: ToolRunnerOptions) {}

  async run(name: string, input: unknown, signal: AbortSignal): Promise<ToolRun> {
    const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
    if (name === EDITOR_TOOL) {
      const out = await runEditor(this.opts.repoDir, this.opts.editable, i as EditorInput);
      return { ...out, text: this.opts.redact(out.text), undone: [] };
    }
    if (name === BASH_TOOL) return this.bash(i, signal);
    return { text: `Error: there is no tool named ${JSON.stringify(name)}. Use ${BASH_TOOL}, ${EDITOR_TOOL} or ${SUBMIT_TOOL}.`, isError: true, undone: [] };
  }

  private async bash(input: Record<string, unknown>, signal: AbortSignal): Promise<ToolRun> {
    if (input['restart'] === true) {
      return { text: 'The shell was restarted. (Every command runs in a fresh shell anyway: state such as cd or variables does not carry over.)', isError: false, undone: [] };
    }
    const command = input['command'];
    if (typeof command !== 'string' || command.trim() === '') return { text: 'Error: bash needs a non-empty command.', isError: true, undone: [] };
    const unrunnable = unrunnableCommand(command);
    if (unrunnable !== null) return { text: `Error: ${unrunnable}`, isError: true, undone: [] };
    const snapshot = await snapshotGitState(this.opts.repoDir);
    let result: ToolOutcome | null = null;
    let failure: unknown = null;
    try {
      const env = this.opts.projectEnv ? { ...process.env, UV_PROJECT_ENVIRONMENT: this.opts.projectEnv } : process.env;
      result = await runBash(command, { cwd: this.opts.repoDir, timeoutMs: this.opts.bashTimeoutMs, signal, env, sandbox: this.opts.sandbox ?? false, ...(this.opts.git ? { git: this.opts.git } : {}) });
    } catch (err) {
      failure = err ?? new Error('bash failed');
    }
    // Even an aborted or failed command must not leave the repository off its rails.
    const undone = await restoreGitState(this.opts.repoDir, snapshot, this.opts.editable);
    if (result === null) {
      // An abort ends the experiment; anything else (the OS would not start the command) is the
      // model's to hear about, not a reason to throw the whole experiment away.
      if (signal.aborted) throw failure;
      const why = failure instanceof Error ? failure.message : String(failure);
      return { text: this.opts.redact(`Error: the command could not be started: ${why.length > 300 ? `${why.slice(0, 299)}…` : why}`), isError: true, undone };
    }
    let text = this.opts.redact(result.text);
    if (undone.length > 0) {
      text +=
        '\n\n[autoresearch] This command did things outside the rules; the program undid them:\n' +
        undone.map((u) => `- ${u}`).join('\n') +
        '\nOnly the editable files may change, and git history is managed by the program: do not commit, reset, switch branches or create files.';
    }
    return { text, isError: result.isError || undone.length > 0, undone };
  }
}
