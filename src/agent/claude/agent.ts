// The Claude agent: one short, self-contained conversation per experiment (shared/conversation.ts)
// in the Messages API's wire format. The program's protocol (program.md) is the cached system
// prompt, the first user message is rebuilt from the engine's state every time, and the model
// works with bash and the text editor until it calls submit_experiment. The agent never commits:
// it leaves the change in the working tree.

import Anthropic, { AnthropicError, APIError } from '@anthropic-ai/sdk';
import type { ContentBlock, ContentBlockParam, Message, MessageParam, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { FatalAgentError, type Agent, type AgentActivity, type ExperimentContext, type Proposal } from '../../engine/types.js';
import { converse, type ReplyEnd, type Wire } from '../shared/conversation.js';
import type { PromptParts } from '../shared/prompt.js';
import { DEFAULT_BACKOFF, withRetry, type BackoffPolicy } from '../shared/retry.js';
import { withIdleWatchdog } from '../shared/stream.js';
import type { Transcript } from '../shared/transcript.js';
import { anthropicErrors } from './errors.js';
import { checkApiKey } from './model.js';
import { usageOfCall } from './pricing.js';
import { toolDefinitions, type AgentTool } from './tools.js';

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

  propose(ctx: ExperimentContext, signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal> {
    return converse(ctx, { model: this.model, maxTurns: this.maxTurns, bashTimeoutMs: this.bashTimeoutMs, redact: this.redact, open: (system, first) => this.open(system, first) }, signal, onActivity);
  }

  /** The conversation in the Messages API's format. */
  private open(systemText: string, first: PromptParts): Wire {
    // A 1-hour TTL: between two experiments lies a training run of about five minutes, which a
    // 5-minute cache entry would not survive.
    const system: SystemBlocks = [{ type: 'text', text: systemText, cache_control: { type: 'ephemeral', ttl: '1h' } }];
    // The first message's settled part (the rules and the history's settled blocks) reads the same
    // in every later experiment of the night: a breakpoint of its own lets them read it from the cache.
    const messages: MessageParam[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: first.cached, cache_control: { type: 'ephemeral', ttl: '1h' } },
          { type: 'text', text: first.fresh },
        ],
      },
    ];
    return {
      reply: async (signal, emit, transcript) => {
        const response = await this.call(messages, system, signal, emit, transcript);
        const content = response.content.map(toParam);
        messages.push({ role: 'assistant', content });
        transcript.write({ type: 'message', role: 'assistant', id: response.id, content, stop_reason: response.stop_reason, usage: response.usage });
        const usage = usageOfCall(this.model, {
          inputTokens: response.usage.input_tokens,
          outputTokens: response.usage.output_tokens,
          cacheReadTokens: response.usage.cache_read_input_tokens ?? 0,
          cacheWriteTokens: response.usage.cache_creation_input_tokens ?? 0,
          cacheWrite1hTokens: response.usage.cache_creation?.ephemeral_1h_input_tokens ?? 0,
        });
        const toolCalls = response.content.filter((b): b is Extract<ContentBlock, { type: 'tool_use' }> => b.type === 'tool_use').map((b) => ({ id: b.id, name: b.name, input: b.input }));
        return { toolCalls, end: replyEnd(response.stop_reason, toolCalls.length > 0), usage };
      },
      answer: (results) => {
        const content: ToolResultBlockParam[] = results.map((r) => ({ type: 'tool_result', tool_use_id: r.id, content: r.text, ...(r.isError ? { is_error: true } : {}) }));
        messages.push({ role: 'user', content });
        return { role: 'user', content };
      },
      say: (text) => {
        messages.push({ role: 'user', content: text });
      },
    };
  }

  /** One model response, streamed, retried through outages. */
  private call(messages: MessageParam[], system: SystemBlocks, signal: AbortSignal, emit: (a: AgentActivity) => void, transcript: Transcript): Promise<Message> {
    return withRetry(
      () => {
        let started: { readonly response: Response | null | undefined } | undefined; // the stream, for explainNotAStream
        return withIdleWatchdog(
          this.idleMs,
          signal,
          async (streamSignal, arm) => {
            const stream = this.client.messages.stream(
              { model: this.model, max_tokens: this.maxTokens, system, tools: this.tools, messages: withMovingBreakpoint(messages) },
              { signal: streamSignal },
            );
            started = stream;
            stream.on('connect', arm);
            stream.on('streamEvent', arm);
            stream.on('text', (delta) => emit({ kind: 'text', text: delta }));
            // Newer models return their words between tool calls as thinking; show them too.
            stream.on('thinking', (delta) => emit({ kind: 'text', text: delta }));
            return await stream.finalMessage();
          },
          (err) => explainNotAStream(err, started?.response),
        );
      },
      anthropicErrors(this.model),
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

type SystemBlocks = Array<{ type: 'text'; text: string; cache_control: { type: 'ephemeral'; ttl: '1h' } }>;

/** The Messages API's stop_reason in the conversation's terms. */
function replyEnd(stop: Message['stop_reason'], calledTools: boolean): ReplyEnd {
  switch (stop) {
    case 'pause_turn':
      return 'pause';
    case 'refusal':
      return 'refusal';
    case 'model_context_window_exceeded':
      return 'context_full';
    case 'max_tokens':
      return 'max_tokens';
    default:
      return calledTools ? 'tool_use' : 'end_turn';
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
