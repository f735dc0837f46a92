// --provider openai: the same agent as Claude's (shared/conversation.ts: program.md as the system
// message, a fresh bounded conversation per experiment, the same three tools behind the same
// guards, the same retry policy and transcripts) in the Chat Completions wire format, for any
// OpenAI-compatible endpoint: vLLM, Ollama, OpenRouter, OpenAI. Replies are streamed, tool calls
// put together from their deltas, usage read from the final chunk (stream_options.include_usage).

import OpenAI, { APIUserAbortError, OpenAIError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageFunctionToolCall, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { FatalAgentError, ZERO_USAGE, type Agent, type AgentActivity, type ExperimentContext, type Proposal } from '../../engine/types.js';
import { converse, type ModelReply, type ReplyEnd, type ToolCall, type Wire } from '../shared/conversation.js';
import { joinPrompt, type PromptParts } from '../shared/prompt.js';
import { DEFAULT_BACKOFF, withRetry, type BackoffPolicy } from '../shared/retry.js';
import { withIdleWatchdog } from '../shared/stream.js';
import type { Transcript } from '../shared/transcript.js';
import { contextOverflow, openAiErrors, StreamInterruptedError } from './errors.js';
import { checkOpenAiKey, DEFAULT_OPENAI_BASE_URL } from './model.js';
import { FREE, openAiUsage, type OpenAiPrice } from './pricing.js';
import { functionTools, parseArguments } from './tools.js';

export interface OpenAiAgentOptions {
  apiKey?: string; // default: OPENAI_API_KEY
  baseURL?: string; // default: OPENAI_BASE_URL, else https://api.openai.com/v1
  model: string;
  price?: OpenAiPrice; // USD per million tokens; default $0 (see pricing.ts for how the CLI picks it)
  maxTurns?: number;
  bashTimeoutMs?: number;
  apiPatienceMs?: number;
  maxTokens?: number; // max_completion_tokens per reply; default: the server's own limit
  retryBaseMs?: number;
  streamIdleTimeoutMs?: number;
}

const DEFAULTS = {
  maxTurns: 30,
  bashTimeoutMs: 120_000,
  apiPatienceMs: 60 * 60 * 1000,
  retryBaseMs: 1000,
  streamIdleTimeoutMs: 5 * 60 * 1000,
} as const;

/** A reply put together from its chunks. */
interface Completed {
  id: string;
  text: string;
  toolCalls: ChatCompletionMessageFunctionToolCall[];
  finishReason: string | null;
  usage: ChatCompletionChunk['usage'] | null;
}

export class OpenAiAgent implements Agent {
  readonly name: string;
  private readonly client: OpenAI;
  private readonly model: string;
  private readonly baseURL: string;
  private readonly price: OpenAiPrice;
  private readonly maxTurns: number;
  private readonly bashTimeoutMs: number;
  private readonly maxTokens: number | undefined;
  private readonly idleMs: number;
  private readonly policy: BackoffPolicy;
  private readonly secret: string;

  constructor(options: OpenAiAgentOptions) {
    const apiKey = options.apiKey ?? process.env['OPENAI_API_KEY'];
    if (apiKey === undefined || apiKey.trim() === '') throw new FatalAgentError(checkOpenAiKey({}) ?? 'OPENAI_API_KEY is not set.');
    this.secret = apiKey;
    this.model = options.model;
    this.name = `openai:${options.model}`;
    this.baseURL = options.baseURL ?? process.env['OPENAI_BASE_URL'] ?? DEFAULT_OPENAI_BASE_URL;
    this.price = options.price ?? FREE;
    this.maxTurns = options.maxTurns ?? DEFAULTS.maxTurns;
    this.bashTimeoutMs = options.bashTimeoutMs ?? DEFAULTS.bashTimeoutMs;
    this.maxTokens = options.maxTokens;
    this.idleMs = options.streamIdleTimeoutMs ?? DEFAULTS.streamIdleTimeoutMs;
    this.policy = { ...DEFAULT_BACKOFF, baseMs: options.retryBaseMs ?? DEFAULTS.retryBaseMs, patienceMs: options.apiPatienceMs ?? DEFAULTS.apiPatienceMs };
    this.client = new OpenAI({
      apiKey,
      baseURL: this.baseURL,
      maxRetries: 0, // shared/retry.ts is the only retry policy
      timeout: this.idleMs + 5000, // our stream watchdog fires first; this only bounds connecting
      logLevel: 'off', // errors surface as exceptions; console output would tear the dashboard
    });
  }

  /** Replace the API key wherever it might appear in text we keep or show. */
  private readonly redact = (text: string): string => (this.secret.length >= 8 && text.includes(this.secret) ? text.split(this.secret).join('[REDACTED]') : text);

  propose(ctx: ExperimentContext, signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal> {
    return converse(ctx, { model: this.name, maxTurns: this.maxTurns, bashTimeoutMs: this.bashTimeoutMs, redact: this.redact, open: (system, first) => this.open(system, first) }, signal, onActivity);
  }

  /** The conversation in the Chat Completions format: a system message, then user, assistant and tool messages. */
  private open(system: string, first: PromptParts): Wire {
    // The settled part first: OpenAI-compatible servers cache the longest common prefix by themselves.
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: joinPrompt(first) },
    ];
    return {
      reply: async (signal, emit, transcript): Promise<ModelReply> => {
        const done = await this.call(messages, signal, emit, transcript);
        if (done === 'context_full') {
          transcript.write({ type: 'message', role: 'assistant', content: null, finish_reason: 'context_length_exceeded' });
          return { toolCalls: [], end: 'context_full', usage: ZERO_USAGE };
        }
        messages.push(
          done.toolCalls.length > 0
            ? { role: 'assistant', content: done.text === '' ? null : done.text, tool_calls: done.toolCalls }
            : { role: 'assistant', content: done.text },
        );
        transcript.write({ type: 'message', role: 'assistant', id: done.id, content: done.text, tool_calls: done.toolCalls, finish_reason: done.finishReason, usage: done.usage });
        const usage = openAiUsage(this.price, {
          promptTokens: done.usage?.prompt_tokens ?? 0,
          completionTokens: done.usage?.completion_tokens ?? 0,
          cachedTokens: done.usage?.prompt_tokens_details?.cached_tokens ?? 0,
        });
        const toolCalls: ToolCall[] = done.toolCalls.map((c) => {
          const parsed = parseArguments(c.function.arguments);
          return 'malformed' in parsed ? { id: c.id, name: c.function.name, input: {}, malformed: parsed.malformed } : { id: c.id, name: c.function.name, input: parsed.input };
        });
        return { toolCalls, end: replyEnd(done.finishReason, toolCalls.length > 0), usage };
      },
      answer: (results) => {
        const content: ChatCompletionMessageParam[] = results.map((r) => ({ role: 'tool', tool_call_id: r.id, content: r.text }));
        messages.push(...content);
        return { role: 'tool', content };
      },
      say: (text) => {
        messages.push({ role: 'user', content: text });
      },
    };
  }

  /** One model reply, streamed, retried through outages; 'context_full' when the conversation no longer fits. */
  private call(messages: ChatCompletionMessageParam[], signal: AbortSignal, emit: (a: AgentActivity) => void, transcript: Transcript): Promise<Completed | 'context_full'> {
    return withRetry(
      async () => {
        try {
          return await withIdleWatchdog(this.idleMs, signal, async (streamSignal, arm) => this.stream(messages, streamSignal, arm, emit), interrupted);
        } catch (err) {
          if (contextOverflow(err)) return 'context_full';
          throw err;
        }
      },
      openAiErrors(this.model, this.baseURL),
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

  private async stream(messages: ChatCompletionMessageParam[], signal: AbortSignal, arm: () => void, emit: (a: AgentActivity) => void): Promise<Completed> {
    const stream = await this.client.chat.completions.create(
      {
        model: this.model,
        messages,
        tools: functionTools(),
        stream: true,
        stream_options: { include_usage: true },
        ...(this.maxTokens !== undefined ? { max_completion_tokens: this.maxTokens } : {}),
      },
      { signal },
    );
    arm();
    const done: Completed = { id: '', text: '', toolCalls: [], finishReason: null, usage: null };
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    for await (const chunk of stream) {
      arm();
      if (chunk.id) done.id = chunk.id;
      if (chunk.usage) done.usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta as ChatCompletionChunk.Choice.Delta & { reasoning_content?: unknown; reasoning?: unknown };
      if (typeof delta.content === 'string' && delta.content !== '') {
        done.text += delta.content;
        emit({ kind: 'text', text: delta.content });
      }
      // Reasoning models served by vLLM, Ollama or OpenRouter stream their thinking beside the answer: show it, keep it out of the conversation.
      const thinking = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : typeof delta.reasoning === 'string' ? delta.reasoning : '';
      if (thinking !== '') emit({ kind: 'text', text: thinking });
      for (const part of delta.tool_calls ?? []) {
        const slot = (calls[part.index] ??= { id: '', name: '', arguments: '' });
        if (part.id) slot.id = part.id;
        if (part.function?.name) slot.name += part.function.name;
        if (part.function?.arguments) slot.arguments += part.function.arguments;
      }
      if (choice.finish_reason) done.finishReason = choice.finish_reason;
    }
    if (done.finishReason === null) throw new StreamInterruptedError('the stream ended before the reply was complete (no finish_reason)');
    // Some servers leave out ids; the conversation needs one to pair each call with its result.
    done.toolCalls = calls.filter((c) => c !== undefined).map((c, i) => ({ id: c.id || `call_${i + 1}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return done;
  }
}

/** A failure while reading the stream that is not the client's own (undici's "terminated", a reset socket) is a network fault. */
function interrupted(err: unknown): unknown {
  if (err instanceof OpenAIError || err instanceof FatalAgentError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new APIUserAbortError();
  return new StreamInterruptedError(err instanceof Error ? err.message : String(err));
}

/** Chat Completions' finish_reason in the conversation's terms. */
function replyEnd(finish: string | null, calledTools: boolean): ReplyEnd {
  if (finish === 'length') return 'max_tokens';
  if (finish === 'content_filter' && !calledTools) return 'refusal';
  // Some servers (older Ollama) say "stop" even when the reply calls tools: the calls decide.
  return calledTools ? 'tool_use' : 'end_turn';
}
