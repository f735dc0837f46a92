// The first message of an experiment is bounded: with 10, 100 or 500 rows of history it stays
// within 1.2x of its size at 50 rows, older rows collapse into one summary line, and long
// free-text fields (descriptions, crash logs) are cut.

import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { buildUserPrompt, summarizeOlder } from '../../src/agent/shared/prompt.js';
import type { ExperimentContext } from '../../src/engine/types.js';
import { firstUserText, say, startFakeApi, turn, type FakeApi, type MessagesRequest } from '../../src/fakeapi/index.js';
import { cleanupRepos, context, FAKE_KEY, makeRepo, row } from './helpers.js';

let api: FakeApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
  cleanupRepos();
});

function ctxWith(n: number): ExperimentContext {
  const history = Array.from({ length: n }, (_, i) => row(i + 1));
  const best = history.filter((r) => r.status === 'keep').at(-1);
  return context('/repo', {
    experiment: n + 1,
    history,
    standing: { baseline: { commit: 'abc1234', value: 0.9979 }, best: best ? { commit: best.commit, value: best.value, description: best.description } : null },
  });
}

describe('prompt', () => {
  it('stays bounded as history grows', () => {
    const size = (n: number) => buildUserPrompt(ctxWith(n), { maxTurns: 30 }).length;
    const at50 = size(50);
    for (const n of [10, 100, 500, 5000]) expect(size(n), `history of ${n}`).toBeLessThanOrEqual(1.2 * at50);
    expect(size(500)).toBeLessThan(5000);
  });

  it('shows the 15 most recent rows verbatim and one line for the rest, without their descriptions', () => {
    const ctx = ctxWith(100);
    ctx.history[10]!.description = 'an old discarded idea about rotary embeddings';
    const prompt = buildUserPrompt(ctx, { maxTurns: 30 });
    expect(prompt).toContain('85 earlier experiments not listed:');
    expect(prompt).not.toContain('rotary embeddings');
    for (const r of ctx.history.slice(-15)) expect(prompt).toContain(r.commit);
    expect(prompt).not.toContain(ctx.history[84]!.commit + ' ');
    expect(prompt).toContain('minimize val_bpb (lower is better)');
    expect(prompt).toContain('Editable: train.py');
    expect(prompt).toContain('at most 30 tool calls');
  });

  it('summarises counts and the best of the older rows', () => {
    const rows = [row(1, { status: 'keep', value: 0.99 }), row(2, { status: 'discard', value: 0.95 }), row(3, { status: 'crash', value: 0 })];
    expect(summarizeOlder(rows, 'min')).toBe(`3 earlier experiments not listed: 1 kept, 1 discarded, 1 crashed; best among them 0.950000 (${rows[1]!.commit}).`);
    expect(summarizeOlder(rows, 'max')).toContain('best among them 0.990000');
  });

  it('names the GPU it drafts for and what is in flight, so the same idea is not proposed twice', () => {
    const ctx = { ...ctxWith(5), slot: '2', inFlight: [{ experiment: 6, description: 'rope base 50k' }, { experiment: 7, description: 'x'.repeat(5000) }] };
    const prompt = buildUserPrompt(ctx, { maxTurns: 30 });
    expect(prompt).toMatch(/^Experiment 6 \(tag "[^"]+"\) for GPU 2\. Make exactly ONE change/);
    expect(prompt).toContain('In flight right now (2: drafted or training, results not in yet). Do not propose any of these again:\n- #6: rope base 50k\n- #7: xxx');
    expect(prompt.length).toBeLessThan(buildUserPrompt(ctxWith(5), { maxTurns: 30 }).length + 600);
    expect(buildUserPrompt(ctxWith(5), { maxTurns: 30 })).not.toContain('In flight');
  });

  it('asks for the same change again when a draft no longer applies on the new best', () => {
    const prompt = buildUserPrompt({ ...ctxWith(5), redo: { description: 'wider MLP (ratio 6)', newBest: 'd4e5f60' }, inFlight: [{ experiment: 9, description: 'other' }] }, { maxTurns: 30 });
    expect(prompt).toMatch(/redo your change on the new best\. While it waited to train, another experiment improved the code \(now commit d4e5f60\)/);
    expect(prompt).toContain('Make the SAME change again on the code as it is now: "wider MLP (ratio 6)"');
    expect(prompt).not.toContain('In flight'); // a redo is not a new idea
  });

  it('cuts long descriptions and crash logs', () => {
    const ctx = ctxWith(20);
    ctx.history[19]!.description = 'x'.repeat(10_000);
    ctx.fix = { attempt: 2, reason: 'r'.repeat(5000), logTail: 'line\n'.repeat(100_000), description: 'd'.repeat(5000) };
    const prompt = buildUserPrompt(ctx, { maxTurns: 30 });
    expect(prompt.length).toBeLessThan(12_000);
    expect(prompt).toContain('earlier characters omitted');
  });

  it('the first request the agent sends at experiment 500 is no bigger than at experiment 50', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => turn(say('no change this time')));
    const agent = new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: api.url, model: 'claude-sonnet-5-5' });
    const firstMessageLength = async (n: number): Promise<number> => {
      const before = api!.requests.length;
      await agent.propose({ ...ctxWith(n), repoDir: repo }, new AbortController().signal, () => {});
      return firstUserText(api!.requests[before]!.body as MessagesRequest).length;
    };
    const at50 = await firstMessageLength(50);
    expect(await firstMessageLength(500)).toBeLessThanOrEqual(1.2 * at50);
    expect(await firstMessageLength(10)).toBeLessThanOrEqual(1.2 * at50);
  });
});
