// The Anthropic Messages API wire format, as a fake server speaks it: messages, SSE events, error
// bodies and a token estimator. Pure functions; the HTTP side lives in server.ts.

import { createHash } from 'node:crypto';

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal';

/** A content block of a scripted assistant turn. tool_use ids are generated when left out. */
export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; name: string; input: unknown; id?: string }
  | { type: 'thinking'; thinking: string; signature?: string };

export interface WireUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  /** The part of cache_creation_input_tokens written with a 1-hour TTL (reported under usage.cache_creation). */
  ephemeral_1h_input_tokens?: number;
}

export type WireBlock =
  | { type: 'text'; text: string; citations: null }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'thinking'; thinking: string; signature: string };

export interface WireMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: WireBlock[];
  stop_reason: StopReason;
  stop_sequence: null;
  stop_details: null;
  container: null;
  usage: Omit<WireUsage, 'ephemeral_1h_input_tokens'> & {
    cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
    inference_geo: null;
    service_tier: 'standard';
  };
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/**
 * The token estimator of the fake server: a quarter of the characters of the JSON of each part of
 * the request (each tool, each system block, each content block of each message; a string is
 * counted as is), rounded up, with cache_control left out. Additive over parts, so a benchmark
 * can add up a long conversation without re-serialising it.
 */
export function estimateTokens(part: unknown): number {
  const json = typeof part === 'string' ? part : JSON.stringify(part, (k, v: unknown) => (k === 'cache_control' ? undefined : v));
  return Math.ceil((json ?? '').length / 4);
}

interface Part {
  json: string;
  tokens: number;
  breakpoint: '5m' | '1h' | null; // the TTL of its cache_control, if it has one
}

function breakpointOf(x: unknown): '5m' | '1h' | null {
  if (typeof x !== 'object' || x === null || !('cache_control' in x)) return null;
  const cc = (x as { cache_control: unknown }).cache_control;
  if (typeof cc !== 'object' || cc === null) return null;
  return (cc as { ttl?: unknown }).ttl === '1h' ? '1h' : '5m';
}

/** The request's cacheable parts in the API's prefix order: tools, then system, then messages' blocks. */
export function requestParts(body: Record<string, unknown>): Part[] {
  const parts: Part[] = [];
  // cache_control marks where a cached prefix ends; as in the real API it is not part of the
  // content, so moving a breakpoint does not change what was cached before it.
  const add = (x: unknown): void => {
    const json = typeof x === 'string' ? x : JSON.stringify(x, (k, v: unknown) => (k === 'cache_control' ? undefined : v));
    parts.push({ json, tokens: Math.ceil(json.length / 4), breakpoint: breakpointOf(x) });
  };
  if (Array.isArray(body['tools'])) for (const t of body['tools']) add(t);
  const system = body['system'];
  if (typeof system === 'string') add(system);
  else if (Array.isArray(system)) for (const b of system) add(b);
  if (Array.isArray(body['messages'])) {
    for (const m of body['messages'] as Array<{ content?: unknown }>) {
      if (Array.isArray(m.content)) for (const b of m.content) add(b);
      else add(m.content ?? '');
    }
  }
  return parts;
}

/**
 * A prompt cache as the API documents it: a request writes the prefix ending at each of its
 * cache_control breakpoints, and reads the longest prefix already written that ends at one of its
 * breakpoints or at any of the 20 blocks before each. No expiry.
 */
export class PromptCache {
  private readonly seen = new Set<string>();
  static readonly LOOKBACK = 20;

  /** Split a request's input tokens into uncached, cache-read and cache-write (by TTL), and remember its breakpoints. */
  account(body: Record<string, unknown>): Pick<WireUsage, 'input_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens' | 'ephemeral_1h_input_tokens'> {
    const parts = requestParts(body);
    const hash = createHash('sha256');
    const prefixKeys: string[] = []; // key of the prefix ending after part i
    const prefixTokens: number[] = [];
    let total = 0;
    for (const p of parts) {
      hash.update(p.json);
      total += p.tokens;
      prefixKeys.push(hash.copy().digest('hex'));
      prefixTokens.push(total);
    }
    let readUpTo = 0;
    const breakpoints: Array<{ at: number; ttl: '5m' | '1h'; key: string }> = [];
    parts.forEach((p, i) => {
      if (p.breakpoint === null) return;
      breakpoints.push({ at: prefixTokens[i]!, ttl: p.breakpoint, key: prefixKeys[i]! });
      for (let j = i; j >= Math.max(0, i - PromptCache.LOOKBACK); j--) {
        if (this.seen.has(prefixKeys[j]!)) {
          readUpTo = Math.max(readUpTo, prefixTokens[j]!);
          break;
        }
      }
    });
    // What lies between the cached prefix and each breakpoint is written with that breakpoint's TTL.
    let write = 0;
    let write1h = 0;
    let from = readUpTo;
    for (const b of breakpoints) {
      this.seen.add(b.key);
      if (b.at <= from) continue;
      write += b.at - from;
      if (b.ttl === '1h') write1h += b.at - from;
      from = b.at;
    }
    return { input_tokens: total - readUpTo - write, cache_read_input_tokens: readUpTo, cache_creation_input_tokens: write, ephemeral_1h_input_tokens: write1h };
  }
}

/** The text of a message's content: the string, or its text blocks joined. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b): b is { type: 'text'; text: string } => typeof b === 'object' && b !== null && (b as { type?: unknown }).type === 'text')
    .map((b) => b.text)
    .join('\n');
}

/**
 * The text of a request's first user message: where a scripted model reads which experiment it is
 * in. The first message whose role is user, so a Chat Completions request (system message first)
 * reads the same as a Messages one.
 */
export function firstUserText(body: { messages?: unknown }): string {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown } | null>) : [];
  const first = messages.find((m) => m?.role === 'user');
  return messageText(first?.content);
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function errorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export function errorBody(type: string, message: string, requestId: string): { type: 'error'; error: { type: string; message: string }; request_id: string } {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

/** The wire blocks of a scripted turn, with ids filled in. */
export function toWireBlocks(blocks: ScriptedBlock[], nextId: () => string): WireBlock[] {
  return blocks.map((b): WireBlock => {
    if (b.type === 'text') return { type: 'text', text: b.text, citations: null };
    if (b.type === 'thinking') return { type: 'thinking', thinking: b.thinking, signature: b.signature ?? `sig_${createHash('sha256').update(b.thinking).digest('hex').slice(0, 24)}` };
    return { type: 'tool_use', id: b.id ?? nextId(), name: b.name, input: b.input };
  });
}

export function deriveStopReason(blocks: WireBlock[], explicit?: StopReason): StopReason {
  if (explicit) return explicit;
  return blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
}

export function outputTokens(blocks: WireBlock[]): number {
  let chars = 0;
  for (const b of blocks) chars += b.type === 'text' ? b.text.length : b.type === 'thinking' ? b.thinking.length : JSON.stringify(b.input).length + b.name.length;
  return Math.max(1, Math.ceil(chars / 4));
}

export function buildMessage(id: string, model: string, content: WireBlock[], stopReason: StopReason, usage: WireUsage): WireMessage {
  const { ephemeral_1h_input_tokens: write1h = 0, ...counts } = usage;
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    usage: {
      ...counts,
      cache_creation: { ephemeral_5m_input_tokens: counts.cache_creation_input_tokens - write1h, ephemeral_1h_input_tokens: write1h },
      inference_geo: null,
      service_tier: 'standard',
    },
  };
}

function chunks(text: string, size: number): string[] {
  if (text === '') return [''];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The SSE events that stream `message`, deltas cut into pieces of `chunkSize` characters. */
export function streamEvents(message: WireMessage, chunkSize = 24): SseEvent[] {
  const events: SseEvent[] = [];
  events.push({
    event: 'message_start',
    data: {
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, usage: { ...message.usage, output_tokens: 1 } },
    },
  });
  events.push({ event: 'ping', data: { type: 'ping' } });
  message.content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '', citations: null } } });
      for (const piece of chunks(block.text, chunkSize)) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } } });
      }
    } else if (block.type === 'thinking') {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } } });
      for (const piece of chunks(block.thinking, chunkSize)) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } } });
      }
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } } });
    } else {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } } });
      for (const piece of chunks(JSON.stringify(block.input ?? {}), chunkSize)) {
        events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } } });
      }
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push({
    event: 'message_delta',
    data: {
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: message.usage.input_tokens,
        output_tokens: message.usage.output_tokens,
        cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
        cache_read_input_tokens: message.usage.cache_read_input_tokens,
      },
    },
  });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

export function sseFrame(e: SseEvent): string {
  return `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/**
 * What the real API would reject with a 400: the checks that catch bugs in a client's
 * conversation bookkeeping. Returns the error message, or null when the request is well formed.
 */
export function validateRequest(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return 'request body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b['model'] !== 'string' || b['model'] === '') return 'model: Field required';
  if (typeof b['max_tokens'] !== 'number') return 'max_tokens: Field required';
  const messages = b['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  let expectRole: 'user' | 'assistant' = 'user';
  let pendingToolIds: string[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as { role?: unknown; content?: unknown };
    if (m.role !== expectRole) return `messages.${i}.role: roles must alternate, starting with user (got ${String(m.role)})`;
    const blocks = Array.isArray(m.content) ? (m.content as Array<Record<string, unknown>>) : [];
    if (typeof m.content !== 'string' && !Array.isArray(m.content)) return `messages.${i}.content: must be a string or a list of blocks`;
    if (m.role === 'user') {
      const answered = new Set(blocks.filter((x) => x['type'] === 'tool_result').map((x) => String(x['tool_use_id'])));
      const missing = pendingToolIds.filter((id) => !answered.has(id));
      if (missing.length > 0) return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}`;
      pendingToolIds = [];
    } else {
      pendingToolIds = blocks.filter((x) => x['type'] === 'tool_use').map((x) => String(x['id']));
    }
    expectRole = expectRole === 'user' ? 'assistant' : 'user';
  }
  return null;
}
