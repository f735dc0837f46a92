// A local fake of the OpenAI Chat Completions API (POST /v1/chat/completions, JSON and SSE
// streaming) driven by the same scripts as the fake Messages API (server.ts): a script's text,
// thinking and tool_use blocks become content, reasoning_content and tool_calls. Streams carry
// tool_calls as deltas and, when stream_options.include_usage asks, a final usage chunk, as the
// real API does. It lets tests run the real `openai` client with no network and no key.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isFault, laterIn, recordRequest, say, serveOnLocalhost, type AssistantTurn, type FakeApi, type RecordedRequest, type Reply } from './server.js';
import type { ScriptedBlock, StopReason } from './wire.js';

/** Arguments sent verbatim, to script a model that writes malformed JSON: useTool(name, rawArguments('{"command": ')). */
export class RawArguments {
  constructor(readonly text: string) {}
}
export const rawArguments = (text: string): RawArguments => new RawArguments(text);

/** The body of a Chat Completions request as the fake server sees it. */
export type ChatRequest = Record<string, unknown> & { model: string; messages: unknown[]; stream?: boolean; tools?: unknown[]; stream_options?: { include_usage?: boolean } };

export type ChatScript = (body: ChatRequest, callIndex: number) => Reply | Promise<Reply>;

export interface FakeOpenAiOptions {
  /** When set, requests must carry `Authorization: Bearer <key>`, or get a 401. */
  requireKey?: string;
  /** A server that cannot take tools answers any request that has them with this 400 (Ollama's words by default). */
  rejectTools?: boolean;
  port?: number;
}

interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

interface WireReply {
  text: string;
  reasoning: string;
  toolCalls: WireToolCall[];
  finishReason: 'stop' | 'tool_calls' | 'length' | 'content_filter';
}

const FINISH: Record<StopReason, WireReply['finishReason']> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
  pause_turn: 'stop',
  refusal: 'content_filter',
};

/** A scripted turn in the Chat Completions shape. */
export function toChatReply(blocks: ScriptedBlock[], nextId: () => string, stopReason?: StopReason): WireReply {
  let text = '';
  let reasoning = '';
  const toolCalls: WireToolCall[] = [];
  for (const b of blocks) {
    if (b.type === 'text') text += b.text;
    else if (b.type === 'thinking') reasoning += b.thinking;
    else toolCalls.push({ id: b.id ?? nextId(), type: 'function', function: { name: b.name, arguments: b.input instanceof RawArguments ? b.input.text : JSON.stringify(b.input ?? {}) } });
  }
  const finishReason = stopReason ? FINISH[stopReason] : toolCalls.length > 0 ? 'tool_calls' : 'stop';
  return { text, reasoning, toolCalls, finishReason };
}

/** The token estimator: a quarter of the characters, as in the Messages fake. */
function tokens(x: unknown): number {
  return Math.ceil((typeof x === 'string' ? x : JSON.stringify(x ?? '')).length / 4);
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The `data:` payloads that stream a reply, without the final usage chunk. */
export function chatChunks(id: string, model: string, reply: WireReply, chunkSize = 24): unknown[] {
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): unknown => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const out: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of chunks(reply.reasoning, chunkSize)) out.push(chunk({ reasoning_content: piece }));
  for (const piece of chunks(reply.text, chunkSize)) out.push(chunk({ content: piece }));
  reply.toolCalls.forEach((call, index) => {
    out.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] }));
    for (const piece of chunks(call.function.arguments, chunkSize)) out.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  out.push(chunk({}, reply.finishReason));
  return out;
}

/**
 * What the real API would reject with a 400: the checks that catch bugs in a client's conversation
 * bookkeeping (every tool call answered by a tool message before the conversation goes on, no
 * answer without a call). Returns the error message, or null when the request is well formed.
 */
export function validateChatRequest(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return 'request body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b['model'] !== 'string' || b['model'] === '') return "you must provide a model parameter";
  const messages = b['messages'];
  if (!Array.isArray(messages) || messages.length === 0) return "'messages' must contain at least one message";
  let pending: string[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as { role?: unknown; content?: unknown; tool_calls?: unknown; tool_call_id?: unknown };
    if (m.role === 'tool') {
      const id = String(m.tool_call_id);
      if (!pending.includes(id)) return `messages.[${i}]: a message with role 'tool' must be a response to a preceding message with 'tool_calls' (tool_call_id ${id})`;
      pending = pending.filter((p) => p !== id);
      if (typeof m.content !== 'string') return `messages.[${i}].content: a tool message needs string content`;
      continue;
    }
    if (pending.length > 0) return `messages.[${i}]: an assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: ${pending.join(', ')}`;
    if (m.role !== 'system' && m.role !== 'user' && m.role !== 'assistant' && m.role !== 'developer') return `messages.[${i}].role: unknown role ${String(m.role)}`;
    if (m.role === 'assistant' && Array.isArray(m.tool_calls)) {
      pending = (m.tool_calls as Array<{ id?: unknown }>).map((c) => String(c.id));
    } else if (typeof m.content !== 'string') {
      return `messages.[${i}].content: must be a string`;
    }
  }
  if (pending.length > 0) return `the last assistant message's tool_calls were not answered: ${pending.join(', ')}`;
  if (b['tools'] !== undefined) {
    if (!Array.isArray(b['tools'])) return "'tools' must be an array";
    for (const t of b['tools'] as Array<{ type?: unknown; function?: { name?: unknown } }>) {
      if (t.type !== 'function' || typeof t.function?.name !== 'string') return "tools: each tool must be {type: 'function', function: {name, ...}}";
    }
  }
  return null;
}

const ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'invalid_request_error', 404: 'invalid_request_error', 429: 'rate_limit_exceeded', 500: 'server_error', 503: 'server_error' };

export async function startFakeOpenAi(script: ChatScript, options: FakeOpenAiOptions = {}): Promise<FakeApi> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let calls = 0;
  let ids = 0;
  const nextId = (prefix: string): string => `${prefix}_fake_${String(++ids).padStart(6, '0')}`;

  const sendError = (res: ServerResponse, status: number, message: string, type?: string, code: string | null = null, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': nextId('req'), ...headers });
    res.end(JSON.stringify({ error: { message, type: type ?? ERROR_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), param: null, code } }));
  };
  const later = laterIn(timers);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const recorded = await recordRequest(req);
    requests.push(recorded);
    const { body, path } = recorded;

    if (req.method !== 'POST' || path !== '/v1/chat/completions') return sendError(res, 404, `${req.method} ${path} is not served by the fake OpenAI API (only POST /v1/chat/completions)`);
    if (options.requireKey !== undefined && req.headers['authorization'] !== `Bearer ${options.requireKey}`) {
      return sendError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    if (body === null) return sendError(res, 400, 'request body is not valid JSON');
    const invalid = validateChatRequest(body);
    if (invalid) return sendError(res, 400, invalid);
    const request = body as ChatRequest;
    if (options.rejectTools && Array.isArray(request.tools) && request.tools.length > 0) {
      return sendError(res, 400, `registry.ollama.ai/library/${request.model} does not support tools`, 'api_error');
    }

    const reply = await script(request, calls++);
    const streaming = request.stream === true;
    if (isFault(reply) && reply.kind === 'error') return sendError(res, reply.status, reply.message ?? `fake ${reply.status}`, reply.type, null, reply.headers);
    if (isFault(reply) && !streaming) {
      if (reply.kind === 'stall') {
        if (reply.ms !== undefined) later(reply.ms, () => req.socket.destroy());
        return;
      }
      if (reply.kind === 'stream-error') return sendError(res, 503, reply.message ?? 'The server is overloaded', reply.type);
      req.socket.destroy();
      return;
    }

    const turn: AssistantTurn = isFault(reply) ? { content: [say('This reply is cut off by an injected fault. It should never be seen whole.')] } : reply;
    const wire = toChatReply(turn.content, () => nextId('call'), turn.stopReason);
    const override = turn.usage ?? {};
    const promptTokens = override.input_tokens ?? tokens(request.messages) + tokens(request.tools ?? []);
    const completionTokens = override.output_tokens ?? Math.max(1, tokens(wire.text) + tokens(wire.reasoning) + wire.toolCalls.reduce((n, c) => n + tokens(c.function.arguments) + tokens(c.function.name), 0));
    const cached = override.cache_read_input_tokens ?? 0;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: tokens(wire.reasoning), audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    const id = nextId('chatcmpl');

    if (!streaming) {
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': nextId('req') });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          system_fingerprint: null,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: wire.text === '' && wire.toolCalls.length > 0 ? null : wire.text, refusal: null, ...(wire.toolCalls.length > 0 ? { tool_calls: wire.toolCalls } : {}) },
              logprobs: null,
              finish_reason: wire.finishReason,
            },
          ],
          usage,
        }),
      );
      return;
    }

    const events = chatChunks(id, request.model, wire, turn.chunkSize);
    if (request.stream_options?.include_usage === true) {
      events.push({ id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: request.model, system_fingerprint: null, choices: [], usage });
    }
    const limit = isFault(reply) ? Math.min(reply.afterEvents ?? 3, events.length) : events.length;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': nextId('req') });
    for (let i = 0; i < limit; i++) res.write(`data: ${JSON.stringify(events[i])}\n\n`);
    if (!isFault(reply)) {
      res.end('data: [DONE]\n\n');
      return;
    }
    if (reply.kind === 'stream-error') {
      res.end(`data: ${JSON.stringify({ error: { message: reply.message ?? 'The server is overloaded', type: reply.type ?? 'server_error', param: null, code: null } })}\n\n`);
    } else if (reply.kind === 'disconnect') {
      later(20, () => res.socket?.destroy());
    } else if (reply.kind === 'stall' && reply.ms !== undefined) {
      later(reply.ms, () => res.socket?.destroy());
    }
  };

  const served = await serveOnLocalhost(handle, (res, message) => sendError(res, 500, message), timers, options.port);
  return { url: `http://127.0.0.1:${served.port}/v1`, requests, close: served.close }; // the openai client's baseURL includes /v1
}
