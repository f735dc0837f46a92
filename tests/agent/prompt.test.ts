// The first message of an experiment shows every experiment of the tag, one bounded line each, and
// nothing else in it grows with the night: at 1, 300 and 1,000 rows its size is a fixed part plus
// at most one line per experiment, folded groups past the cap still name every kept experiment and
// say where the full journal is, and the part a prompt cache holds reads the same in later
// experiments. Long free-text fields (descriptions, crash logs, notes) are cut.

import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { buildPromptParts, buildUserPrompt, joinPrompt } from '../../src/agent/shared/prompt.js';
import { CHUNK, FULL_ROWS_MIN, NOTES_SHOWN } from '../../src/engine/history.js';
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

const prompt = (ctx: ExperimentContext) => buildUserPrompt(ctx, { maxTurns: 30 });
const parts = (ctx: ExperimentContext) => buildPromptParts(ctx, { maxTurns: 30 });
/** Most characters one experiment may add to the first message: its one line. */
const LINE_MAX = 260;

describe('every experiment in view', () => {
  it('at 1, 300 and 1,000 rows: a fixed part plus at most one bounded line per experiment', () => {
    const fixed = prompt(ctxWith(0)).length;
    for (const n of [1, 300, 1000]) {
      const size = prompt(ctxWith(n)).length;
      expect(size, `history of ${n}`).toBeLessThanOrEqual(fixed + n * LINE_MAX);
    }
    // Each line is bounded whatever the description's length.
    const long = ctxWith(10);
    for (const r of long.history) r.description = 'y'.repeat(10_000);
    expect(prompt(long).length).toBeLessThanOrEqual(fixed + 10 * LINE_MAX);
    // Folding past the cap keeps the message from growing one line per experiment for ever: with
    // a keep every 50 experiments, 1,000 rows cost little more than 400.
    const sparse = (n: number) => {
      const ctx = ctxWith(n);
      ctx.history = ctx.history.map((r, i) => ({ ...r, status: i % 50 === 0 ? 'keep' : 'discard', value: 1 - i / 10_000 }));
      return prompt(ctx).length;
    };
    expect(sparse(1000)).toBeLessThan(sparse(400) * 1.1);
  });

  it('up to the cap, lists every experiment by number, commit, status, value and verdict, newest last', () => {
    const ctx = ctxWith(300);
    ctx.history[10] = { ...ctx.history[10]!, status: 'discard', verdict: 'within noise: better by 0.000400, noise allows 0.000900', description: 'an old idea about rotary embeddings', values: [0.99, 0.991] };
    const text = prompt(ctx);
    for (const [i, r] of ctx.history.entries()) expect(text, `row ${i}`).toContain(`#${i} ${r.commit} ${r.status}`);
    expect(text).toContain('#10 1000b discard 0.990500 (mean of 2) within noise | an old idea about rotary embeddings'.replace('1000b', ctx.history[10]!.commit));
    expect(text).toContain('(300 experiments, all listed.)');
    // Newest last: the lines come in row order, and the task comes after them.
    expect(text.indexOf(`#299 ${ctx.history[299]!.commit}`)).toBeGreaterThan(text.indexOf(`#298 ${ctx.history[298]!.commit}`));
    expect(text.lastIndexOf('Experiment 301')).toBeGreaterThan(text.indexOf(`#299 ${ctx.history[299]!.commit}`));
    expect(text).toContain('minimize val_bpb (lower is better)');
    expect(text).toContain('Editable: train.py');
    expect(text).toContain('at most 30 tool calls');
  });

  it('at 1,000 rows, folds the oldest in groups, still naming every kept one, and says what was folded and where the rest is', () => {
    const ctx = ctxWith(1000);
    const text = prompt(ctx);
    expect(text).toContain('(1000 experiments: the oldest 700 folded into groups above, the other 300 listed one per line. Every one, with its runs, notes, files and diff, is in .autoresearch/journal.md.)');
    expect(text).toMatch(/#0–#99, folded: 100 experiments, \d+ kept, \d+ discarded, \d+ crashed; best among them/);
    // At least the newest FULL_ROWS_MIN in full; every kept one, folded or not, by commit.
    for (const [i, r] of ctx.history.entries()) {
      if (i >= 1000 - FULL_ROWS_MIN || r.status === 'keep') expect(text, `row ${i}`).toContain(`#${i} ${r.commit} ${r.status}`);
    }
    // A folded discard is counted, not listed.
    const folded = ctx.history.findIndex((r) => r.status === 'discard');
    expect(text).not.toContain(`#${folded} ${ctx.history[folded]!.commit}`);
  });

  it('puts what later experiments see unchanged first, so a prompt cache holds it', () => {
    const a = parts(ctxWith(120));
    const b = parts(ctxWith(121));
    expect(b.cached).toBe(a.cached); // no block boundary between 120 and 121 rows
    expect(joinPrompt(b).startsWith(a.cached)).toBe(true);
    // Crossing a block boundary only appends to the cached part.
    const c = parts(ctxWith(3 * CHUNK));
    expect(c.cached.startsWith(a.cached)).toBe(true);
    expect(c.cached.length).toBeGreaterThan(a.cached.length);
    // The experiment's own task and the best are in the fresh part, after the history.
    expect(b.fresh).toContain('Experiment 122');
    expect(b.cached).not.toContain('Experiment 122');
    expect(b.cached).not.toContain('Current best');
  });

  it('names the GPU it drafts for and what is in flight, so the same idea is not proposed twice', () => {
    const ctx = { ...ctxWith(5), slot: '2', inFlight: [{ experiment: 6, description: 'rope base 50k' }, { experiment: 7, description: 'x'.repeat(5000) }] };
    const text = prompt(ctx);
    expect(text).toMatch(/\nExperiment 6 for GPU 2\. Make exactly ONE change/);
    expect(text).toContain('In flight right now (2: drafted or training, results not in yet). Do not propose any of these again:\n- #6: rope base 50k\n- #7: xxx');
    expect(text.length).toBeLessThan(prompt(ctxWith(5)).length + 600);
    expect(prompt(ctxWith(5))).not.toContain('In flight');
  });

  it('asks for the same change again when a draft no longer applies on the new best', () => {
    const text = prompt({ ...ctxWith(5), redo: { description: 'wider MLP (ratio 6)', newBest: 'd4e5f60' }, inFlight: [{ experiment: 9, description: 'other' }] });
    expect(text).toMatch(/redo your change on the new best\. While it waited to train, another experiment improved the code \(now commit d4e5f60\)/);
    expect(text).toContain('Make the SAME change again on the code as it is now: "wider MLP (ratio 6)"');
    expect(text).not.toContain('In flight'); // a redo is not a new idea
  });

  it('cuts long descriptions and crash logs', () => {
    const ctx = ctxWith(20);
    ctx.history[19]!.description = 'x'.repeat(10_000);
    ctx.fix = { attempt: 2, reason: 'r'.repeat(5000), logTail: 'line\n'.repeat(100_000), description: 'd'.repeat(5000) };
    const text = prompt(ctx);
    expect(text.length).toBeLessThan(prompt(ctxWith(20)).length + 6_000);
    expect(text).toContain('earlier characters omitted');
  });
});

describe('notes that last', () => {
  it('shows a note written at experiment 5 to experiment 30, and the newest notes when there are many, saying how many are not shown', () => {
    const ctx = ctxWith(29);
    ctx.history[5] = { ...ctx.history[5]!, notes: 'every wider model was worse; the optimizer is the bottleneck' };
    expect(prompt(ctx)).toContain('- #5: every wider model was worse; the optimizer is the bottleneck');
    const many = ctxWith(60);
    for (let i = 1; i <= NOTES_SHOWN + 5; i++) many.history[i] = { ...many.history[i]!, notes: `note ${i} ${'z'.repeat(2000)}` };
    const text = prompt(many);
    expect(text).toContain('(5 older notes not shown here: they are in .autoresearch/journal.md.)');
    expect(text).not.toContain('- #5: note 5 ');
    expect(text).toContain(`- #${NOTES_SHOWN + 5}: note ${NOTES_SHOWN + 5} `);
    expect(text.length).toBeLessThan(prompt(ctxWith(60)).length + NOTES_SHOWN * 330 + 200);
  });
});

describe('plateaus', () => {
  const onPlateau = (dry: number, plateau: number) => {
    const ctx = ctxWith(0);
    ctx.history = [
      row(0, { status: 'keep', value: 1.0, description: 'baseline', experiment: 0 }),
      row(1, { status: 'keep', value: 0.99, experiment: 1 }),
      ...Array.from({ length: dry }, (_, i) => row(2 + i, { status: 'discard', value: 0.995, verdict: 'not better', experiment: 2 + i })),
    ];
    ctx.history[3] = { ...ctx.history[3]!, value: 0.9895, verdict: 'within noise: better by 0.000500, noise allows 0.002000', description: 'warmup 2%' };
    ctx.history[4] = { ...ctx.history[4]!, value: 0.985, verdict: 'beat 1000001, but does not apply on the new best 1000002', description: 'swiglu' };
    ctx.plateau = plateau;
    return prompt(ctx);
  };

  it('after --plateau experiments without a keep, says so and lists the near misses with the ref of each diff', () => {
    const text = onPlateau(10, 10);
    expect(text).toContain('Plateau: 10 experiments in a row without a keep.');
    expect(text).toContain(`- #3 ${row(3).commit} 0.989500, better than the best of its time, but within the noise; ref refs/autoresearch/test/discarded/${row(3).commit} | warmup 2%`);
    expect(text).toContain(`- #4 ${row(4).commit} 0.985000, beat an older best, but was never measured on the newer one (it did not apply); ref refs/autoresearch/test/discarded/${row(4).commit} | swiglu`);
    expect(text).toContain('structural change');
  });

  it('says nothing before the plateau, or with --plateau 0', () => {
    expect(onPlateau(9, 10)).not.toContain('Plateau');
    expect(onPlateau(50, 0)).not.toContain('Plateau');
  });
});

describe('the request the agent sends', () => {
  it('at experiment 1,000 is bounded, and its settled part carries a cache breakpoint of its own', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => turn(say('no change this time')));
    const agent = new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: api.url, model: 'claude-sonnet-5-5' });
    const firstRequest = async (n: number): Promise<MessagesRequest> => {
      const before = api!.requests.length;
      await agent.propose({ ...ctxWith(n), repoDir: repo }, new AbortController().signal, () => {});
      return api!.requests[before]!.body as MessagesRequest;
    };
    const at1 = firstUserText(await firstRequest(1)).length;
    const at1000 = await firstRequest(1000);
    expect(firstUserText(at1000).length).toBeLessThanOrEqual(at1 + 1000 * LINE_MAX);
    const blocks = at1000.messages[0]!.content as Array<{ type: string; text: string; cache_control?: unknown }>;
    expect(blocks[0]!.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(blocks[0]!.text).toContain('History: every experiment of this tag');
  });
});
