// Overnight means API outages: the agent retries through bursts of 529s, 429s with retry-after,
// dropped and stalled streams and SSE error events; it stops at once, with an actionable
// FatalAgentError, on a rejected key or a bad request, and when an outage outlasts the patience.

import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { FatalAgentError, type AgentActivity } from '../../src/engine/types.js';
import { fault, startFakeApi, turn, useTool, type FakeApi, type Reply } from '../../src/fakeapi/index.js';
import { cleanupRepos, collect, context, FAKE_KEY, makeRepo } from './helpers.js';

let api: FakeApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
  cleanupRepos();
});

const edit: Reply = turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'LR = 0.02', new_str: 'LR = 0.03' }));
const submit: Reply = turn(useTool('submit_experiment', { description: 'LR 0.03' }));

function agentFor(url: string, over: Partial<ConstructorParameters<typeof ClaudeAgent>[0]> = {}): ClaudeAgent {
  return new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: url, model: 'claude-sonnet-5-5', retryBaseMs: 5, ...over });
}

const retries = (activity: AgentActivity[]) => activity.filter((a): a is Extract<AgentActivity, { kind: 'retry' }> => a.kind === 'retry');

describe('API outages', () => {
  it('retries through a burst of 529s with growing backoff and finishes the experiment', async () => {
    const repo = makeRepo();
    const replies: Reply[] = [...Array.from({ length: 6 }, () => fault({ kind: 'error', status: 529 })), edit, submit];
    api = await startFakeApi((_b, i) => replies[i]!);
    const { activity, on } = collect();
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, on);
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.03' });
    expect(api.requests).toHaveLength(8);
    const r = retries(activity);
    expect(r.map((x) => x.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r[0]!.reason).toMatch(/529 overloaded_error/);
    // Equal jitter: attempt n waits between half and all of base·2^(n-1).
    r.forEach((x, i) => {
      expect(x.waitMs).toBeGreaterThanOrEqual((5 * 2 ** i) / 2);
      expect(x.waitMs).toBeLessThanOrEqual(5 * 2 ** i);
    });
  });

  it('honours retry-after-ms on a 429, and retries 500s, dropped connections, SSE error events and stalled streams', async () => {
    const repo = makeRepo();
    const replies: Reply[] = [
      fault({ kind: 'error', status: 429, headers: { 'retry-after-ms': '120' } }),
      fault({ kind: 'error', status: 500 }),
      fault({ kind: 'disconnect', afterEvents: 3 }),
      fault({ kind: 'stream-error', afterEvents: 4, type: 'overloaded_error', message: 'Overloaded' }),
      fault({ kind: 'stall', afterEvents: 2 }),
      edit,
      submit,
    ];
    api = await startFakeApi((_b, i) => replies[i]!);
    const { activity, on } = collect();
    // The idle limit that detects the stall must not be reached by a stream that flows, on a busy machine either.
    const proposal = await agentFor(api.url, { streamIdleTimeoutMs: 1000 }).propose(context(repo), new AbortController().signal, on);
    expect(proposal.kind).toBe('submitted');
    const r = retries(activity);
    expect(r).toHaveLength(5);
    expect(r[0]).toMatchObject({ waitMs: 120, reason: expect.stringMatching(/429 rate_limit_error/) });
    expect(r[1]!.reason).toMatch(/500 api_error/);
    expect(r[2]!.reason).toMatch(/stream interrupted|connection/);
    expect(r[3]!.reason).toMatch(/overloaded_error/);
    expect(r[4]!.reason).toMatch(/no data from the API for 1 s/);
  });

  it('stops at once with a FatalAgentError on a rejected key (401), naming ANTHROPIC_API_KEY', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => edit, { requireKey: 'the-right-key' });
    const err = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/401 authentication_error[\s\S]*ANTHROPIC_API_KEY/);
    expect(api.requests).toHaveLength(1);
  });

  it('stops at once on a bad request (400), naming the model', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => fault({ kind: 'error', status: 404, message: 'model: claude-nope' }));
    const err = await agentFor(api.url, { model: 'claude-nope' }).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/claude-nope/);
    expect(api.requests).toHaveLength(1);
  });

  it('gives up when an outage outlasts the patience, saying the run can be resumed', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => fault({ kind: 'error', status: 529 }));
    const started = Date.now();
    // Patience for a few retries (their waits add up to 140 ms at most) even when each request is slow.
    // How the waits add up to the patience exactly is tested on a simulated clock (pure.test.ts).
    const err = await agentFor(api.url, { apiPatienceMs: 1500, retryBaseMs: 20 }).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/kept failing .*longer than the API patience[\s\S]*run the same command again to resume/);
    expect(Date.now() - started).toBeLessThan(60_000); // gave up, rather than retrying for the default hour
    expect(api.requests.length).toBeGreaterThan(3);
  });

  it('stops a retry wait at once on abort', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => fault({ kind: 'error', status: 429, headers: { 'retry-after': '600' } }));
    const ctl = new AbortController();
    const { activity, on } = collect();
    const p = agentFor(api.url).propose(context(repo), ctl.signal, on);
    while (retries(activity).length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(retries(activity)[0]!.waitMs).toBe(600_000);
    const t0 = Date.now();
    ctl.abort();
    await expect(p).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(60_000); // not the 600 s the server asked for
  });
});
