// One experiment's conversation, whatever the provider: the first user message built from the
// engine's state, tool calls run behind the guards until the model calls submit_experiment, a
// single reminder when it stops without submitting, the --max-turns bound, and the final check
// that the submission changed an editable file. Each provider supplies only its wire format (a
// Wire: how to send the conversation, read the reply, and append tool results and user text).

import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { STATE_DIR } from '../../ledger/state.js';
import { shellGitConfig, type ShellGit } from '../../proc/sandbox.js';
import path from 'node:path';
import { runGit } from '../../git/repo.js';
import { addUsage, ZERO_USAGE, type AgentActivity, type ExperimentContext, type Proposal, type Usage } from '../../engine/types.js';
import { findDuplicate, fingerprintOfFiles } from '../../engine/duplicates.js';
import { readAsGitSees } from '../../proc/untrusted-file.js';
import { buildPromptParts, joinPrompt, NUDGE, type PromptParts } from './prompt.js';
import { duplicateAnswer, sanitizeDescription, sanitizeNotes, SUBMIT_TOOL, summarizeToolCall, ToolRunner } from './tools.js';
import { Transcript, transcriptPath } from './transcript.js';

/** A tool call as the model made it. `malformed` says why its arguments could not be read (they are then not run). */
export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  malformed?: string;
}

/**
 * Why a reply ended: it called tools, or ended its turn; `max_tokens` (its last tool call may be
 * cut short); `pause` (send the turn back as is); the model declined (`refusal`); or the
 * conversation no longer fits the model (`context_full`).
 */
export type ReplyEnd = 'tool_use' | 'end_turn' | 'max_tokens' | 'pause' | 'refusal' | 'context_full';

/** One model reply, already appended to the conversation and written to the transcript by the wire. */
export interface ModelReply {
  toolCalls: ToolCall[];
  end: ReplyEnd;
  usage: Usage; // this call's tokens and cost
}

export interface ToolAnswer {
  id: string;
  name: string;
  text: string;
  isError: boolean;
}

/** A provider's side of one conversation: the messages in its wire format, and the calls. */
export interface Wire {
  /** Send the conversation (streamed, retried through outages), append the reply, write it to the transcript. */
  reply(signal: AbortSignal, emit: (a: AgentActivity) => void, transcript: Transcript): Promise<ModelReply>;
  /** Append the answers to the last reply's tool calls; returns the transcript entry (role, content) that records them. */
  answer(results: ToolAnswer[]): Record<string, unknown>;
  /** Append a user message. */
  say(text: string): void;
}

export interface ConversationOptions {
  model: string;
  maxTurns: number;
  bashTimeoutMs: number;
  redact: (text: string) => string;
  /** The provider's conversation, opened with the system prompt (program.md) and the first user message (its cacheable part first). */
  open: (system: string, firstUser: PromptParts) => Wire;
}

/** program.md as the system prompt; an empty one would be refused by some APIs. */
export function systemPrompt(programText: string): string {
  return programText.trim() === '' ? 'You are an ML research assistant.' : programText;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function skipped(reason: string, usage: Usage): Proposal {
  return { kind: 'skipped', reason, usage };
}

/** What the model hears when its arguments could not be read. */
export function malformedAnswer(why: string): string {
  return `Error: the arguments of this tool call could not be read (${why}); it was not run. Send the arguments as one JSON object with the fields the tool's schema names.`;
}

export async function converse(ctx: ExperimentContext, opts: ConversationOptions, signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal> {
  const emit = (a: AgentActivity): void => {
    try {
      onActivity(a);
    } catch {
      // The dashboard's troubles are not the experiment's.
    }
  };
  const { maxTurns } = opts;
  const transcript = new Transcript(transcriptPath(ctx.stateRoot ?? ctx.repoDir, ctx.tag, ctx.experiment, ctx.fix?.attempt), opts.redact);
  const git = ctx.sandbox && ctx.stateRoot ? shellGit(ctx.stateRoot) : null;
  const runner = new ToolRunner({
    repoDir: ctx.repoDir,
    editable: ctx.editable,
    bashTimeoutMs: opts.bashTimeoutMs,
    redact: opts.redact,
    sandbox: ctx.sandbox ?? false,
    ...(ctx.projectEnv ? { projectEnv: ctx.projectEnv } : {}),
    ...(git ? { git } : {}),
  });
  const parts = buildPromptParts(ctx, { maxTurns });
  const first = joinPrompt(parts);
  const wire = opts.open(systemPrompt(ctx.programText), parts);
  const before = await readEditable(ctx.repoDir, ctx.editable);
  let usage: Usage = ZERO_USAGE;
  let toolCalls = 0;
  let nudged = false;

  transcript.write({
    type: 'start',
    experiment: ctx.experiment,
    fixAttempt: ctx.fix?.attempt ?? null,
    model: opts.model,
    maxTurns,
    editable: ctx.editable,
    system: { chars: ctx.programText.length, sha256: sha256(ctx.programText) },
  });
  transcript.write({ type: 'message', role: 'user', content: first });
  const finish = (p: Proposal): Proposal => {
    transcript.write({ type: 'end', proposal: p });
    return p;
  };

  try {
    for (;;) {
      const reply = await wire.reply(signal, emit, transcript);
      usage = addUsage(usage, reply.usage);
      emit({ kind: 'usage', usage });

      if (reply.end === 'pause') continue; // the API asks us to send the turn back as is
      if (reply.end === 'refusal') return finish(skipped('the model declined to make a change (refusal)', usage));
      if (reply.end === 'context_full') return finish(skipped('the conversation outgrew the model context window', usage));

      const calls = reply.toolCalls;
      if (calls.length === 0) {
        if (nudged) return finish(skipped('the model ended its turn without calling submit_experiment, even after a reminder', usage));
        nudged = true;
        wire.say(NUDGE);
        transcript.write({ type: 'message', role: 'user', content: NUDGE });
        continue;
      }

      const results: ToolAnswer[] = [];
      const record = (): void => transcript.write({ type: 'message', ...wire.answer(results) });
      let submitted: { description: string; notes?: string } | null = null;
      for (const call of calls) {
        signal.throwIfAborted();
        const summary = summarizeToolCall(call.name, call.input);
        if (call.malformed === undefined && call.name === SUBMIT_TOOL) {
          emit({ kind: 'tool', name: call.name, summary });
          const description = sanitizeDescription((call.input as { description?: unknown } | null)?.description);
          if (description === '') {
            const text = 'Error: description must be a non-empty, one-line account of what you changed and why.';
            results.push({ id: call.id, name: call.name, text, isError: true });
            emit({ kind: 'tool-result', name: call.name, isError: true, summary: 'empty description' });
            continue;
          }
          // The same code as an experiment already measured (or in flight) is not trained again: the
          // model hears which one, and may make another change within its tool-call budget.
          const duplicate = findDuplicate(fingerprintOfFiles(readAsGitSees(ctx.repoDir, ctx.editable)), ctx.history, ctx.inFlight);
          if (duplicate) {
            results.push({ id: call.id, name: call.name, text: duplicateAnswer(duplicate, ctx.metric), isError: true });
            emit({ kind: 'duplicate', of: duplicate.experiment, description: duplicate.description });
            continue;
          }
          const notes = sanitizeNotes((call.input as { notes?: unknown } | null)?.notes);
          submitted = { description, ...(notes ? { notes } : {}) };
          results.push({ id: call.id, name: call.name, text: 'Submitted.', isError: false });
          break;
        }
        if (toolCalls >= maxTurns) {
          if (results.length > 0) record();
          return finish(skipped(`the model used all ${maxTurns} tool calls without submitting (--max-turns)`, usage));
        }
        toolCalls++;
        emit({ kind: 'tool', name: call.name, summary });
        const cutOff = reply.end === 'max_tokens' && call === calls[calls.length - 1];
        const run =
          call.malformed !== undefined
            ? { text: malformedAnswer(call.malformed), isError: true, undone: [] }
            : cutOff
              ? { text: 'Error: your reply hit max_tokens while writing this tool call, so its input may be incomplete; it was not run. Make smaller edits.', isError: true, undone: [] }
              : await runner.run(call.name, call.input, signal);
        results.push({ id: call.id, name: call.name, text: run.text, isError: run.isError });
        emit({ kind: 'tool-result', name: call.name, isError: run.isError, summary: firstLine(run.undone.length ? `undone: ${run.undone.join('; ')}` : run.text) });
      }

      record();
      if (submitted !== null) {
        const verdict = await checkChange(ctx.repoDir, ctx.editable, before);
        if (verdict !== null) return finish(skipped(verdict, usage));
        return finish({ kind: 'submitted', description: submitted.description, usage, ...(submitted.notes ? { notes: submitted.notes } : {}) });
      }
    }
  } catch (err) {
    transcript.write({ type: 'error', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), aborted: signal.aborted });
    throw err;
  }
}

/**
 * The main checkout's git directory for the sandboxed shell (so `git show` of an earlier
 * experiment works in the worktree), with its config reduced to what reading needs, written once
 * beside our state. Null when there is none to show.
 */
function shellGit(stateRoot: string): ShellGit | null {
  const dir = path.join(stateRoot, '.git');
  try {
    if (!lstatSync(dir).isDirectory()) return null;
    const config = path.join(stateRoot, STATE_DIR, 'shell-gitconfig');
    writeFileSync(config, shellGitConfig(readFileSync(path.join(dir, 'config'), 'utf8')));
    return { dir, config };
  } catch {
    return null;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** The editable files' bytes (null when absent), to tell whether the model changed anything. */
async function readEditable(repoDir: string, editable: readonly string[]): Promise<Map<string, Buffer | null>> {
  const out = new Map<string, Buffer | null>();
  for (const rel of editable) {
    try {
      out.set(rel, await readFile(path.join(repoDir, rel)));
    } catch {
      out.set(rel, null);
    }
  }
  return out;
}

/** Null when the submission holds a change worth committing, else why it is skipped. */
async function checkChange(repoDir: string, editable: readonly string[], before: Map<string, Buffer | null>): Promise<string | null> {
  const now = await readEditable(repoDir, editable);
  const touched = [...now].some(([rel, data]) => {
    const was = before.get(rel) ?? null;
    return data === null || was === null ? data !== was : !data.equals(was);
  });
  if (!touched) return `the model submitted without changing any editable file (${editable.join(', ')})`;
  const status = await runGit(repoDir, ['--literal-pathspecs', 'status', '--porcelain', '-z', '--untracked-files=all', '--', ...editable]);
  if (status.trim() === '') return 'the model submitted a change that leaves the editable files exactly as committed (nothing to commit)';
  return null;
}
