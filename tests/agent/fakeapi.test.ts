// The fake Messages API speaks the real wire format: the real SDK, pointed at it, streams and
// fetches messages, sees usage with cache fields, and gets the documented error bodies.

import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { fault, say, startFakeApi, turn, useTool, type FakeApi } from '../../src/fakeapi/index.js';
import { PromptCache, estimateTokens } from '../../src/fakeapi/wire.js';
import { FAKE_KEY } from './helpers.js';

let api: FakeApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

function client(url: string): Anthropic {
  return new Anthropic({ apiKey: FAKE_KEY, baseURL: url, maxRetries: 0, logLevel: 'off' });
}

const base = { model: 'claude-sonnet-5-5', max_tokens: 1024 } as const;

describe('fake Anthropic API', () => {
  it('answers non-streaming messages.create with a real Message, tool input parsed, usage with cache fields', async () => {
    api = await startFakeApi(() => turn(say('Looking.'), useTool('bash', { command: 'ls' })));
    const msg = await client(api.url).messages.create({ ...base, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.type).toBe('message');
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content[0]).toMatchObject({ type: 'text', text: 'Looking.' });
    expect(msg.content[1]).toMatchObject({ type: 'tool_use', name: 'bash', input: { command: 'ls' } });
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.cache_read_input_tokens).toBe(0);
    expect(msg.usage.cache_creation_input_tokens).toBe(0);
    const req = api.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['anthropic-version']).toBeTruthy();
    expect((req.body as { stream?: boolean }).stream).toBeUndefined();
  });

  it('streams SSE that the SDK accumulates: text deltas, input_json deltas, stop reason and usage', async () => {
    const long = 'A fairly long sentence that will be cut into several text_delta events by the server. '.repeat(3);
    api = await startFakeApi(() => ({ ...turn(say(long), useTool('str_replace_based_edit_tool', { command: 'view', path: 'train.py' })), chunkSize: 10 }));
    const deltas: string[] = [];
    const types = new Set<string>();
    const stream = client(api.url).messages.stream({ ...base, messages: [{ role: 'user', content: 'hi' }] });
    stream.on('text', (d) => deltas.push(d));
    stream.on('streamEvent', (e) => types.add(e.type));
    const msg = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.join('')).toBe(long);
    expect(msg.content[1]).toMatchObject({ type: 'tool_use', input: { command: 'view', path: 'train.py' } });
    expect(msg.stop_reason).toBe('tool_use');
    expect([...types].sort()).toEqual(['content_block_delta', 'content_block_start', 'content_block_stop', 'message_delta', 'message_start', 'message_stop']);
    expect(msg.usage.output_tokens).toBeGreaterThan(1);
    expect((api.requests[0]!.body as { stream?: boolean }).stream).toBe(true);
  });

  it('returns proper error bodies and headers for 529, 429 with retry-after, 401 and 400', async () => {
    const faults = [
      fault({ kind: 'error', status: 529 }),
      fault({ kind: 'error', status: 429, headers: { 'retry-after': '7' } }),
      fault({ kind: 'error', status: 401 }),
      fault({ kind: 'error', status: 400, message: 'bad thing' }),
    ];
    api = await startFakeApi((_b, i) => faults[i]!);
    const c = client(api.url);
    const errs: APIError[] = [];
    for (let i = 0; i < faults.length; i++) {
      try {
        await c.messages.create({ ...base, messages: [{ role: 'user', content: 'hi' }] });
      } catch (e) {
        errs.push(e as APIError);
      }
    }
    expect(errs.map((e) => e.status)).toEqual([529, 429, 401, 400]);
    expect(errs.map((e) => e.type)).toEqual(['overloaded_error', 'rate_limit_error', 'authentication_error', 'invalid_request_error']);
    expect(errs[1]!.headers?.get('retry-after')).toBe('7');
    expect(errs[3]!.apiMessage).toBe('bad thing');
  });

  it('rejects a missing key with 401 when asked to, and conversations that leave a tool_use unanswered with 400', async () => {
    api = await startFakeApi(() => turn(say('ok')), { requireKey: 'right-key' });
    await expect(new Anthropic({ apiKey: 'wrong', baseURL: api.url, maxRetries: 0, logLevel: 'off' }).messages.create({ ...base, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 401 });
    const ok = new Anthropic({ apiKey: 'right-key', baseURL: api.url, maxRetries: 0, logLevel: 'off' });
    await expect(
      ok.messages.create({
        ...base,
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'bash', input: {} }] },
          { role: 'user', content: 'no result' },
        ],
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('can drop the connection mid-stream, send an SSE error event, or stall', async () => {
    api = await startFakeApi((_b, i) =>
      i === 0 ? fault({ kind: 'disconnect', afterEvents: 3 }) : i === 1 ? fault({ kind: 'stream-error', afterEvents: 2, type: 'overloaded_error' }) : fault({ kind: 'stall', afterEvents: 2 }),
    );
    const c = client(api.url);
    const req = { ...base, messages: [{ role: 'user' as const, content: 'x' }] };
    await expect(c.messages.stream(req).finalMessage()).rejects.toThrow();
    await expect(c.messages.stream(req).finalMessage()).rejects.toMatchObject({ type: 'overloaded_error' });
    const ctl = new AbortController();
    const stalled = c.messages.stream(req, { signal: ctl.signal }).finalMessage();
    const raced = await Promise.race([stalled.then(() => 'done', () => 'failed'), new Promise((r) => setTimeout(() => r('still waiting'), 300))]);
    expect(raced).toBe('still waiting');
    ctl.abort();
    await expect(stalled).rejects.toThrow();
  });
});

describe('prompt cache accounting', () => {
  it('writes a cached prefix once, then reads it', () => {
    const cache = new PromptCache();
    const body = {
      tools: [{ name: 't', input_schema: {}, cache_control: { type: 'ephemeral' } }],
      system: [{ type: 'text', text: 'S'.repeat(400), cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hello' }],
    };
    const first = cache.account(body);
    const second = cache.account(body);
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation_input_tokens).toBeGreaterThan(100);
    expect(second.cache_read_input_tokens).toBe(first.cache_creation_input_tokens);
    expect(second.cache_creation_input_tokens).toBe(0);
    expect(second.input_tokens).toBe(first.input_tokens);
    expect(first.input_tokens).toBe(estimateTokens('hello'));
  });

  it('splits writes by TTL and finds an earlier prefix when the breakpoint moves on', () => {
    const cache = new PromptCache();
    const tools = [{ name: 't', input_schema: {}, cache_control: { type: 'ephemeral', ttl: '1h' } }];
    const system = [{ type: 'text', text: 'S'.repeat(400), cache_control: { type: 'ephemeral', ttl: '1h' } }];
    const a = { type: 'text', text: 'A'.repeat(200) };
    const b = { type: 'text', text: 'B'.repeat(200) };
    const first = cache.account({ tools, system, messages: [{ role: 'user', content: [{ ...a, cache_control: { type: 'ephemeral' } }] }] });
    expect(first.ephemeral_1h_input_tokens).toBe(estimateTokens(tools[0]) + estimateTokens(system[0]));
    expect(first.cache_creation_input_tokens).toBe(first.ephemeral_1h_input_tokens! + estimateTokens(a));
    const second = cache.account({ tools, system, messages: [{ role: 'user', content: [a, { ...b, cache_control: { type: 'ephemeral' } }] }] });
    expect(second).toEqual({ input_tokens: 0, cache_read_input_tokens: first.cache_creation_input_tokens, cache_creation_input_tokens: estimateTokens(b), ephemeral_1h_input_tokens: 0 });
  });
});
