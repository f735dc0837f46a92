// A local fake of Anthropic's Messages API (POST /v1/messages, JSON and SSE streaming) driven by a
// script. It lets tests and `autoresearch demo` run the real SDK with no network and no key:
// every request is recorded, and the script can answer with an assistant turn or a fault
// (an error status, a connection dropped mid-stream, a stall).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  buildMessage,
  deriveStopReason,
  errorBody,
  errorType,
  outputTokens,
  PromptCache,
  sseFrame,
  streamEvents,
  toWireBlocks,
  validateRequest,
  type ScriptedBlock,
  type StopReason,
  type WireUsage,
} from './wire.js';

/** An assistant turn: text, thinking and tool_use blocks. stop_reason is derived unless given. */
export interface AssistantTurn {
  kind?: 'turn';
  content: ScriptedBlock[];
  stopReason?: StopReason;
  usage?: Partial<WireUsage>; // overrides the estimated counts
  chunkSize?: number; // characters per streamed delta
}

/** An injected failure. `afterEvents` counts SSE events sent before it strikes (streaming only). */
export type Fault =
  | { kind: 'error'; status: number; type?: string; message?: string; headers?: Record<string, string> }
  | { kind: 'stream-error'; afterEvents?: number; type?: string; message?: string } // an SSE `error` event
  | { kind: 'disconnect'; afterEvents?: number } // the socket is destroyed
  | { kind: 'stall'; afterEvents?: number; ms?: number }; // nothing more is sent; the socket is closed after ms (default: never)

export type Reply = AssistantTurn | Fault;

/** The body of a Messages request as the fake server sees it. */
export type MessagesRequest = Record<string, unknown> & { model: string; messages: unknown[]; stream?: boolean };

/** Decides each reply from the request body and the 0-based index of the POST /v1/messages call. */
export type Script = (body: MessagesRequest, callIndex: number) => Reply | Promise<Reply>;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown; // parsed JSON, or null when the body was not JSON
  rawBody: string;
  at: number;
}

export interface FakeApi {
  url: string; // base URL for the SDK (ANTHROPIC_BASE_URL)
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface FakeApiOptions {
  /** When set, requests must carry this key (Authorization: Bearer or x-api-key), or get a 401. */
  requireKey?: string;
  port?: number; // 0 (a random free port) by default
}

/** Builders for scripts. */
export const say = (text: string): ScriptedBlock => ({ type: 'text', text });
export const useTool = (name: string, input: unknown, id?: string): ScriptedBlock => (id ? { type: 'tool_use', name, input, id } : { type: 'tool_use', name, input });
export const turn = (...content: ScriptedBlock[]): AssistantTurn => ({ kind: 'turn', content });
export const fault = (f: Fault): Fault => f;

export function isFault(r: Reply): r is Fault {
  return r.kind !== undefined && r.kind !== 'turn';
}

/** Read a request whole and record it as both fakes keep it: method, path, headers, body (parsed when JSON). */
export async function recordRequest(req: IncomingMessage): Promise<RecordedRequest> {
  const rawBody = await readBody(req);
  let body: unknown = null;
  try {
    body = rawBody ? JSON.parse(rawBody) : null;
  } catch {
    body = null;
  }
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  return { method: req.method ?? '', path, headers: flatHeaders(req), body, rawBody, at: Date.now() };
}

/** `later(ms, fn)` for a fake server: the pending timers are in `timers`, so closing the server can clear them. */
export function laterIn(timers: Set<NodeJS.Timeout>): (ms: number, fn: () => void) => void {
  return (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export async function startFakeApi(script: Script, options: FakeApiOptions = {}): Promise<FakeApi> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const cache = new PromptCache();
  let calls = 0;
  let ids = 0;
  const nextId = (prefix: string): string => `${prefix}_fake_${String(++ids).padStart(6, '0')}`;

  const sendError = (res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void => {
    const requestId = nextId('req');
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
    res.end(JSON.stringify(errorBody(type, message, requestId)));
  };

  const later = laterIn(timers);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const recorded = await recordRequest(req);
    requests.push(recorded);
    const { body, path } = recorded;

    if (req.method !== 'POST' || path !== '/v1/messages') {
      return sendError(res, 404, 'not_found_error', `${req.method} ${path} is not served by the fake Anthropic API (only POST /v1/messages)`);
    }
    if (options.requireKey !== undefined) {
      const auth = req.headers['authorization'];
      const key = req.headers['x-api-key'];
      if (auth !== `Bearer ${options.requireKey}` && key !== options.requireKey) return sendError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (body === null) return sendError(res, 400, 'invalid_request_error', 'request body is not valid JSON');
    const invalid = validateRequest(body);
    if (invalid) return sendError(res, 400, 'invalid_request_error', invalid);

    const request = body as MessagesRequest;
    const reply = await script(request, calls++);
    const streaming = request.stream === true;

    if (isFault(reply) && reply.kind === 'error') {
      return sendError(res, reply.status, reply.type ?? errorType(reply.status), reply.message ?? `fake ${reply.status}`, reply.headers);
    }
    if (isFault(reply) && !streaming) {
      // Without a stream the only ways to fail mid-way are to hang up or to hang.
      if (reply.kind === 'stall') {
        if (reply.ms !== undefined) later(reply.ms, () => req.socket.destroy());
        return;
      }
      if (reply.kind === 'stream-error') return sendError(res, 529, reply.type ?? 'overloaded_error', reply.message ?? 'Overloaded');
      req.socket.destroy();
      return;
    }

    const turnReply: AssistantTurn = isFault(reply) ? { content: [say('This reply is cut off by an injected fault. It should never be seen whole.')] } : reply;
    const content = toWireBlocks(turnReply.content, () => nextId('toolu'));
    const stopReason = deriveStopReason(content, turnReply.stopReason);
    const counted = cache.account(request);
    const override = turnReply.usage ?? {};
    // A script that sets the cache writes without their TTL split gets them all as 5-minute writes.
    if (override.cache_creation_input_tokens !== undefined && override.ephemeral_1h_input_tokens === undefined) counted.ephemeral_1h_input_tokens = 0;
    const usage: WireUsage = { ...counted, output_tokens: outputTokens(content), ...override };
    const message = buildMessage(nextId('msg'), String(request.model), content, stopReason, usage);

    if (!streaming) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': nextId('req') });
      res.end(JSON.stringify(message));
      return;
    }

    const events = streamEvents(message, turnReply.chunkSize);
    const limit = isFault(reply) ? Math.min(reply.afterEvents ?? 3, events.length) : events.length;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'request-id': nextId('req') });
    for (let i = 0; i < limit; i++) res.write(sseFrame(events[i]!));
    if (!isFault(reply)) {
      res.end();
      return;
    }
    if (reply.kind === 'stream-error') {
      const type = reply.type ?? 'overloaded_error';
      res.end(sseFrame({ event: 'error', data: { type: 'error', error: { type, message: reply.message ?? 'Overloaded' } } }));
    } else if (reply.kind === 'disconnect') {
      // Let the written events reach the client, then hang up without finishing the response.
      later(20, () => res.socket?.destroy());
    } else if (reply.kind === 'stall' && reply.ms !== undefined) {
      later(reply.ms, () => res.socket?.destroy());
    }
  };

  const served = await serveOnLocalhost(handle, (res, message) => sendError(res, 500, 'api_error', message), timers, options.port);
  return { url: `http://127.0.0.1:${served.port}`, requests, close: served.close };
}

/**
 * Serve `handle` on 127.0.0.1 (a free port unless one is given), as both fakes do: a script that
 * throws is answered with `scriptFailed` (or the connection dropped once headers went out), and
 * closing clears the pending timers and drops every open connection.
 */
export async function serveOnLocalhost(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  scriptFailed: (res: ServerResponse, message: string) => void,
  timers: Set<NodeJS.Timeout>,
  port = 0,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) scriptFailed(res, `fake API script failed: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake API: no TCP address');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
