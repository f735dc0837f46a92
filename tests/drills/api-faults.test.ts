// Drill: the Messages API misbehaves in ways a status code does not describe. A small HTTP front
// sits before the fake API (src/fakeapi) and, for chosen requests, answers garbage itself: a 200
// with a body that is not JSON, an HTML page (a proxy's or captive portal's), an SSE stream of
// nonsense, a stream cut off cleanly before message_stop, a connection closed before any
// response, or no answer at all. Every other request is passed through untouched, so the real
// SDK talks to a real server throughout. (429/5xx/529, SSE error events, sockets dropped
// mid-stream and stalls after some events are covered by tests/agent/outage.test.ts.)
// Checked: the agent retries with a clear reason and finishes the experiment; garbage without end
// stops the run cleanly within the API patience; nothing hangs past its limits.

import fs from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { FatalAgentError, type AgentActivity, type EngineEvent } from '../../src/engine/types.js';
import { startFakeApi, turn, useTool, type FakeApi, type Reply } from '../../src/fakeapi/index.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { cleanupRepos, collect, context, FAKE_KEY, git, makeRepo } from '../agent/helpers.js';

type Garbage = 'json-garbage' | 'html-page' | 'sse-garbage' | 'sse-cut-clean' | 'closed-before-headers' | 'no-answer';

interface Front {
  url: string;
  seen: number; // requests that reached the front
  close(): Promise<void>;
}

/** An HTTP front that answers request i with garbage(i) when it returns one, else proxies to `target`. */
async function startFront(target: string, garbage: (i: number) => Garbage | null): Promise<Front> {
  const sockets = new Set<Socket>();
  const front = { url: '', seen: 0, close: async () => {} } as Front;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const i = front.seen++;
    const kind = garbage(i);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (kind === null) {
        const up = request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(Buffer.concat(chunks));
        return;
      }
      switch (kind) {
        case 'json-garbage':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end('{"type": "message", "content": [ this is not json');
          return;
        case 'html-page':
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<html><body><h1>Please log in to the hotel Wi-Fi</h1></body></html>');
          return;
        case 'sse-garbage':
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end('event: message_start\ndata: {"type": "message_start", "message": \u0000\u0001 garbage\n\nevent: ???\ndata: ]]]\n\n');
          return;
        case 'sse-cut-clean':
          // A well-formed start, then the response simply ends: no content, no message_stop.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(
            'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_cut","type":"message","role":"assistant","model":"claude-sonnet-5-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}\n\n',
          );
          return;
        case 'closed-before-headers':
          req.socket.destroy();
          return;
        case 'no-answer':
          return; // keep the socket open and say nothing, ever
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  front.url = `http://127.0.0.1:${address.port}`;
  front.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return front;
}

let api: FakeApi | null = null;
let front: Front | null = null;
afterEach(async () => {
  await front?.close();
  await api?.close();
  front = null;
  api = null;
  cleanupRepos();
});

const edit: Reply = turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'LR = 0.02', new_str: 'LR = 0.03' }));
const submit: Reply = turn(useTool('submit_experiment', { description: 'LR 0.03' }));

/**
 * Small limits, so "never hangs past its limits" is measured in seconds; the idle limit still well
 * above any pause of a stream that flows, on a busy machine too. The checks on time below tell these
 * limits from the defaults (a 5-minute idle limit, an hour of patience) with room to spare; how the
 * waits add up to the patience exactly is tested on a simulated clock (tests/agent/pure.test.ts).
 */
const LIMITS = { retryBaseMs: 5, streamIdleTimeoutMs: 1000, apiPatienceMs: 3000 };
/** Room for a slow machine on top of the limits: far below the defaults' minutes. */
const SLACK_MS = 30_000;

function agentFor(url: string, over: Partial<ConstructorParameters<typeof ClaudeAgent>[0]> = {}): ClaudeAgent {
  return new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: url, model: 'claude-sonnet-5-5', ...LIMITS, ...over });
}

const retries = (activity: AgentActivity[]) => activity.filter((a): a is Extract<AgentActivity, { kind: 'retry' }> => a.kind === 'retry');

const KINDS: Garbage[] = ['json-garbage', 'html-page', 'sse-garbage', 'sse-cut-clean', 'closed-before-headers', 'no-answer'];

describe('the API answers garbage', () => {
  it.each(KINDS)('%s once: the agent retries with a reason and finishes the experiment', async (kind) => {
    const repo = makeRepo();
    api = await startFakeApi((_b, i) => [edit, submit][i]!);
    front = await startFront(api.url, (i) => (i === 0 ? kind : null));
    const { activity, on } = collect();
    const started = Date.now();
    const outcome = await agentFor(front.url)
      .propose(context(repo), new AbortController().signal, on)
      .then((p) => ({ proposal: p, error: null }), (e: unknown) => ({ proposal: null, error: e as Error }));
    const ms = Date.now() - started;
    const r = retries(activity);
    console.log(`${kind}: ${outcome.error ? `threw ${outcome.error.name}: ${outcome.error.message}` : `submitted`} after ${ms} ms; retries: ${r.map((x) => x.reason).join(' | ') || 'none'}`);
    expect(outcome.error).toBeNull();
    expect(outcome.proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.03' });
    expect(r).toHaveLength(1);
    expect(r[0]!.reason.length).toBeGreaterThan(10);
    expect(ms).toBeLessThan(LIMITS.streamIdleTimeoutMs + SLACK_MS);
  });
});

describe('the API never recovers', () => {
  const endless: Array<[string, (i: number) => Garbage]> = [
    ['garbage of every kind, in turn', (i) => KINDS[i % KINDS.length]!],
    ['no answer at all', () => 'no-answer'],
  ];

  it.each(endless)('%s: the agent gives up within its patience with a resumable FatalAgentError', async (_name, garbage) => {
    const repo = makeRepo();
    api = await startFakeApi(() => edit);
    front = await startFront(api.url, garbage);
    const started = Date.now();
    const err = await agentFor(front.url).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    const ms = Date.now() - started;
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/kept failing[\s\S]*API patience[\s\S]*run the same command again to resume/);
    // The patience, plus at most one stalled attempt and one backoff that started just before it ran out.
    expect(ms).toBeGreaterThanOrEqual(LIMITS.apiPatienceMs);
    expect(ms).toBeLessThan(LIMITS.apiPatienceMs + LIMITS.streamIdleTimeoutMs + SLACK_MS);
    expect(front.seen).toBeGreaterThan(1);
  });

  it('through the whole loop: the run stops cleanly, no row for the lost experiment, the tree back at the best', async () => {
    const repo = makeRepo();
    // The e2e shape: a trainer that prints the summary block the loop reads.
    fs.writeFileSync(path.join(repo, 'train.py'), 'LR = 0.02\nprint("---")\nprint("val_bpb:          1.000000")\n');
    git(repo, 'commit', '-qam', 'trainer');
    api = await startFakeApi(() => edit);
    front = await startFront(api.url, () => 'no-answer');
    const events: EngineEvent[] = [];
    const started = Date.now();
    const result = await runLoop(
      makeEngineConfig(repo, 'faults', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, maxExperiments: 3 }),
      agentFor(front.url),
      { onEvent: (e) => events.push(e), signal: new AbortController().signal },
    );
    expect(Date.now() - started).toBeLessThan(LIMITS.apiPatienceMs + LIMITS.streamIdleTimeoutMs + SLACK_MS);
    expect(result.exitCode).toBe(1);
    expect(result.reason).toMatch(/kept failing .*no data from the API for 1 s[\s\S]*run the same command again to resume/);
    const retried = events.filter((e) => e.type === 'agent' && e.activity.kind === 'retry');
    expect(retried.length).toBeGreaterThan(1);
    expect(readResultsFile(path.join(repo, 'results.tsv')).rows.map((r) => r.description)).toEqual(['baseline']);
    expect(git(repo, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    expect(fs.existsSync(path.join(repo, '.autoresearch', 'faults', 'inflight.json'))).toBe(false);
  });
});
