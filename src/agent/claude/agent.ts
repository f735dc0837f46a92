// The Claude agent: one short, self-contained conversation per experiment. The program's protocol
// (program.md) is the cached system prompt, the first user message is rebuilt from the engine's
// state every time, and the model works with bash and the text editor until it calls
// submit_experiment. The agent never commits: it leaves the change in the working tree.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import Anthropic, { AnthropicError, APIError } from '@anthropic-ai/sdk';
import type { ContentBlock, ContentBlockParam, Message, MessageParam, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { simpleGit } from 'simple-git';
import { addUsage, FatalAgentError, ZERO_USAGE, type Agent, type AgentActivity, type ExperimentContext, type Proposal, type Usage } from '../../engine/types.js';
import { checkApiKey } from './model.js';
import { usageOfCall } from './pricing.js';
import { buildUserPrompt, NUDGE } from './prompt.js';
import { DEFAULT_BACKOFF, StreamStalledError, withRetry, type BackoffPolicy } from './retry.js';
import { sanitizeDescription, SUBMIT_TOOL, summarizeToolCall, toolDefinitions, ToolRunner, type AgentTool } from './tools.js';
import { Transcript, transcriptPath } from './transcript.js';

export interface ClaudeAgentOptions {
  apiKey?: string; // default: ANTHROPIC_API_KEY, as the SDK reads it
  baseURL?: string; // default: ANTHROPIC_BASE_URL, else https://api.anthropic.com
  model: string;
  maxTurns?: number; // tool calls per experiment (submit_experiment aside); default 30
  bashTimeoutMs?: number; // per bash command; default 120 s
  apiPatienceMs?: number; // how long one API call may keep failing before the run stops; default 1 h
  maxTokens?: number; // max_tokens per response; default 32000
  retryBaseMs?: number; // first backoff delay; default 1 s
  streamIdleTimeoutMs?: number; // a stream silent this long is treated as dropped and retried; default 5 min
}

export const DEFAULTS = {
  maxTurns: 30,
  bashTimeoutMs: 120_000,
  apiPatienceMs: 60 * 60 * 1000,
  maxTokens: 32_000,
  retryBaseMs: 1000,
  streamIdleTimeoutMs: 5 * 60 * 1000,
} as const;

function toParam(block: ContentBlock): ContentBlockParam {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'thinking':
      // Thinking blocks must go back exactly as received, signature included.
      return { type: 'thinking', thinking: block.thinking, signature: block.signature };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: block.data };
    default:
      return block as unknown as ContentBlockParam;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function skipped(reason: string, usage: Usage): Proposal {
  return { kind: 'skipped', reason, usage };
}

export class ClaudeAgent implements Agent {
  readonly name: string;
  private readonly client: Anthropic;
  private readonly model: string;
  private readonly maxTurns: number;
  private readonly bashTimeoutMs: number;
  private readonly maxTokens: number;
  private readonly idleMs: number;
  private readonly policy: BackoffPolicy;
  private readonly secret: string;
  private readonly tools: AgentTool[] = toolDefinitions();

  constructor(options: ClaudeAgentOptions) {
    const apiKey = options.apiKey ?? process.env['ANTHROPIC_API_KEY'];
    if (apiKey === undefined || apiKey.trim() === '') throw new FatalAgentError(checkApiKey({}) ?? 'ANTHROPIC_API_KEY is not set.');
    this.secret = apiKey;
    this.model = options.model;
    this.name = options.model;
    this.maxTurns = options.maxTurns ?? DEFAULTS.maxTurns;
    this.bashTimeoutMs = options.bashTimeoutMs ?? DEFAULTS.bashTimeoutMs;
    this.maxTokens = options.maxTokens ?? DEFAULTS.maxTokens;
    this.idleMs = options.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs;
    this.policy = { ...DEFAULT_BACKOFF, baseMs: options.retryBaseMs ?? DEFAULTS.retryBaseMs, patienceMs: options.apiPatienceMs ?? DEFAULTS.apiPatienceMs };
    this.client = new Anthropic({
      apiKey,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      maxRetries: 0, // retry.ts is the only retry policy
      timeout: this.idleMs + 5000, // our stream watchdog fires first; this only bounds connecting
      logLevel: 'off', // errors surface as exceptions; console output would tear the dashboard
    });
  }

  /** Replace the API key wherever it might appear in text we keep or show. */
  private readonly redact = (text: string): string => (this.secret.length >= 8 && text.includes(this.secret) ? text.split(this.secret).join('[REDACTED]') : text);

  async propose(ctx: ExperimentContext, signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal> {
    const emit = (a: AgentActivity): void => {
      try {
        onActivity(a);
      } catch {
        // The dashboard's troubles are not the experiment's.
      }
    };
    const transcript = new Transcript(transcriptPath(ctx.repoDir, ctx.tag, ctx.experiment, ctx.fix?.attempt), this.redact);
    const runner = new ToolRunner({ repoDir: ctx.repoDir, editable: ctx.editable, bashTimeoutMs: this.bashTimeoutMs, redact: this.redact, sandbox: ctx.sandbox ?? false });
    // A 1-hour TTL: between two experiments lies a training run of about five minutes, which a
    // 5-minute cache entry would not survive.
    const system = [{ type: 'text' as const, text: ctx.programText.trim() === '' ? 'You are an ML research assistant.' : ctx.programText, cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }];
    const first = buildUserPrompt(ctx, { maxTurns: this.maxTurns });
    const messages: MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: first }] }];
    const before = await readEditable(ctx.repoDir, ctx.editable);
    let usage: Usage = ZERO_USAGE;
    let toolCalls = 0;
    let nudged = false;

    transcript.write({
      type: 'start',
      experiment: ctx.experiment,
      fixAttempt: ctx.fix?.attempt ?? null,
      model: this.model,
      maxTurns: this.maxTurns,
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
        const response = await this.call(messages, system, signal, emit, transcript);
        usage = addUsage(
          usage,
          usageOfCall(this.model, {
            inputTokens: response.usage.input_tokens,
            outputTokens: response.usage.output_tokens,
            cacheReadTokens: response.usage.cache_read_input_tokens ?? 0,
            cacheWriteTokens: response.usage.cache_creation_input_tokens ?? 0,
            cacheWrite1hTokens: response.usage.cache_creation?.ephemeral_1h_input_tokens ?? 0,
          }),
        );
        emit({ kind: 'usage', usage });
        const content = response.content.map(toParam);
        messages.push({ role: 'assistant', content });
        transcript.write({ type: 'message', role: 'assistant', id: response.id, content, stop_reason: response.stop_reason, usage: response.usage });

        if (response.stop_reason === 'pause_turn') continue; // the API asks us to send the turn back as is
        if (response.stop_reason === 'refusal') return finish(skipped('the model declined to make a change (refusal)', usage));
        if (response.stop_reason === 'model_context_window_exceeded') return finish(skipped('the conversation outgrew the model context window', usage));

        const uses = response.content.filter((b): b is Extract<ContentBlock, { type: 'tool_use' }> => b.type === 'tool_use');
        if (uses.length === 0) {
          if (nudged) return finish(skipped('the model ended its turn without calling submit_experiment, even after a reminder', usage));
          nudged = true;
          messages.push({ role: 'user', content: NUDGE });
          transcript.write({ type: 'message', role: 'user', content: NUDGE });
          continue;
        }

        const results: ToolResultBlockParam[] = [];
        let submitted: string | null = null;
        for (const use of uses) {
          signal.throwIfAborted();
          const summary = summarizeToolCall(use.name, use.input);
          if (use.name === SUBMIT_TOOL) {
            emit({ kind: 'tool', name: use.name, summary });
            const description = sanitizeDescription((use.input as { description?: unknown } | null)?.description);
            if (description === '') {
              const text = 'Error: description must be a non-empty, one-line account of what you changed and why.';
              results.push({ type: 'tool_result', tool_use_id: use.id, content: text, is_error: true });
              emit({ kind: 'tool-result', name: use.name, isError: true, summary: 'empty description' });
              continue;
            }
            submitted = description;
            results.push({ type: 'tool_result', tool_use_id: use.id, content: 'Submitted.' });
            break;
          }
          if (toolCalls >= this.maxTurns) {
            if (results.length > 0) transcript.write({ type: 'message', role: 'user', content: results });
            return finish(skipped(`the model used all ${this.maxTurns} tool calls without submitting (--max-turns)`, usage));
          }
          toolCalls++;
          emit({ kind: 'tool', name: use.name, summary });
          const cutOff = response.stop_reason === 'max_tokens' && use === uses[uses.length - 1];
          const run = cutOff
            ? { text: 'Error: your reply hit max_tokens while writing this tool call, so its input may be incomplete; it was not run. Make smaller edits.', isError: true, undone: [] }
            : await runner.run(use.name, use.input, signal);
          results.push({ type: 'tool_result', tool_use_id: use.id, content: run.text, ...(run.isError ? { is_error: true } : {}) });
          emit({ kind: 'tool-result', name: use.name, isError: run.isError, summary: firstLine(run.undone.length ? `undone: ${run.undone.join('; ')}` : run.text) });
        }

        if (submitted !== null) {
          transcript.write({ type: 'message', role: 'user', content: results });
          const verdict = await checkChange(ctx.repoDir, ctx.editable, before);
          if (verdict !== null) return finish(skipped(verdict, usage));
          return finish({ kind: 'submitted', description: submitted, usage });
        }
        messages.push({ role: 'user', content: results });
        transcript.write({ type: 'message', role: 'user', content: results });
      }
    } catch (err) {
      transcript.write({ type: 'error', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), aborted: signal.aborted });
      throw err;
    }
  }

  /** One model response, streamed, retried through outages. */
  private call(
    messages: MessageParam[],
    system: Array<{ type: 'text'; text: string; cache_control: { type: 'ephemeral'; ttl: '1h' } }>,
    signal: AbortSignal,
    emit: (a: AgentActivity) => void,
    transcript: Transcript,
  ): Promise<Message> {
    return withRetry(
      async () => {
        const controller = new AbortController();
        const onAbort = (): void => controller.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        let stalled = false;
        let timer: NodeJS.Timeout | undefined;
        const arm = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            stalled = true;
            controller.abort();
          }, this.idleMs);
        };
        arm();
        let started: { readonly response: Response | null | undefined } | undefined; // the stream, for the catch below
        try {
          const stream = this.client.messages.stream(
            { model: this.model, max_tokens: this.maxTokens, system, tools: this.tools, messages: withMovingBreakpoint(messages) },
            { signal: controller.signal },
          );
          started = stream;
          stream.on('connect', arm);
          stream.on('streamEvent', arm);
          stream.on('text', (delta) => emit({ kind: 'text', text: delta }));
          // Newer models return their words between tool calls as thinking; show them too.
          stream.on('thinking', (delta) => emit({ kind: 'text', text: delta }));
          return await stream.finalMessage();
        } catch (err) {
          if (stalled && !signal.aborted) throw new StreamStalledError(`no data from the API for ${this.idleMs / 1000} s`);
          throw explainNotAStream(err, started?.response);
        } finally {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        }
      },
      this.model,
      this.policy,
      {
        signal,
        onRetry: (info) => {
          emit({ kind: 'retry', attempt: info.attempt, waitMs: info.waitMs, reason: info.reason });
          transcript.write({ type: 'retry', ...info });
        },
      },
    );
  }
}

/**
 * The conversation with a cache breakpoint on its newest block, so each call of an experiment
 * reads what the previous one wrote (tool results such as a view of train.py are then paid at the
 * cache-read rate on every later call). With the tools and the system prompt that makes three
 * breakpoints, within the API's four. The stored messages stay unmarked.
 */
export function withMovingBreakpoint(messages: MessageParam[]): MessageParam[] {
  const last = messages[messages.length - 1];
  if (!last || last.role !== 'user') return messages;
  const blocks: ContentBlockParam[] = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...last.content];
  const tail = blocks[blocks.length - 1];
  if (!tail || (tail.type !== 'text' && tail.type !== 'tool_result')) return messages;
  blocks[blocks.length - 1] = { ...tail, cache_control: { type: 'ephemeral' } };
  return [...messages.slice(0, -1), { role: 'user', content: blocks }];
}

/**
 * The SDK reports a 200 reply that is not an event stream (a captive portal's HTML page, a proxy's
 * JSON) only as "request ended without sending any chunks"; say what came instead, so the retry
 * reason points at the culprit. Other errors pass through unchanged.
 */
function explainNotAStream(err: unknown, response: Response | null | undefined): unknown {
  if (!(err instanceof AnthropicError) || err instanceof APIError || !response) return err;
  const type = response.headers.get('content-type') ?? 'no content-type';
  if (type.includes('text/event-stream')) return err;
  return new AnthropicError(`${err.message}: got ${type} (HTTP ${response.status}) instead of an event stream`);
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
  const status = await simpleGit({ baseDir: repoDir }).raw(['--literal-pathspecs', 'status', '--porcelain', '-z', '--untracked-files=all', '--', ...editable]);
  if (status.trim() === '') return 'the model submitted a change that leaves the editable files exactly as committed (nothing to commit)';
  return null;
}
