// The Claude agent end to end against the fake API with the real SDK, real git repos and real
// processes: a scripted model edits train.py and submits; usage and cost add up; transcripts are
// written without the key; turns are bounded; a silent model is nudged once, then skipped.

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { costOfCall } from '../../src/agent/claude/pricing.js';
import { NUDGE } from '../../src/agent/shared/prompt.js';
import { firstUserText, messageText, say, startFakeApi, turn, useTool, type AssistantTurn, type FakeApi, type MessagesRequest, type Reply } from '../../src/fakeapi/index.js';
import { cleanupRepos, collect, context, FAKE_KEY, makeRepo, TRAIN_PY } from './helpers.js';

let api: FakeApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
  cleanupRepos();
});

const edit = (oldStr: string, newStr: string): AssistantTurn => turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: oldStr, new_str: newStr }));
const submit = (description: string): AssistantTurn => turn(say('Submitting.'), useTool('submit_experiment', { description }));

function scripted(replies: Reply[]): (body: unknown, i: number) => Reply {
  return (_body, i) => replies[i] ?? turn(say(`script exhausted at call ${i}`));
}

function agentFor(url: string, over: Partial<ConstructorParameters<typeof ClaudeAgent>[0]> = {}): ClaudeAgent {
  return new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: url, model: 'claude-sonnet-5-5', retryBaseMs: 5, ...over });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe('ClaudeAgent', () => {
  it('runs a scripted conversation: views and edits train.py with the editor, submits, streams activity', async () => {
    const repo = makeRepo();
    api = await startFakeApi(
      scripted([
        turn(say('Let me look at the training script.'), useTool('str_replace_based_edit_tool', { command: 'view', path: 'train.py' })),
        turn(say('I will double the learning rate.'), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'LR = 0.02', new_str: 'LR = 0.04' })),
        submit('raise LR\t0.02 -> 0.04\nbecause loss still falls fast'),
      ]),
    );
    const { activity, on } = collect();
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, on);

    expect(proposal).toMatchObject({ kind: 'submitted', description: 'raise LR 0.02 -> 0.04 because loss still falls fast' });
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toContain('LR = 0.04');

    // What the model was sent: program.md as a cached system prompt, the three tools, streaming.
    const first = api.requests[0]!.body as Record<string, any>;
    expect(first['stream']).toBe(true);
    expect(first['model']).toBe('claude-sonnet-5-5');
    // The system prompt and tools are cached for an hour: they must outlive a 5-minute training run.
    expect(first['system']).toEqual([{ type: 'text', text: context(repo).programText, cache_control: { type: 'ephemeral', ttl: '1h' } }]);
    expect(first['tools'].map((t: { name: string }) => t.name)).toEqual(['bash', 'str_replace_based_edit_tool', 'submit_experiment']);
    expect(first['tools'][2].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(firstUserText(first as MessagesRequest)).toContain('Experiment 1');
    // The first message's settled part (rules and history) has its own 1-hour breakpoint, read by
    // every later experiment; the newest block carries the moving one, which the stored
    // conversation does not keep.
    expect(first['messages'][0].content[0].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
    expect(first['messages'][0].content.at(-1).cache_control).toEqual({ type: 'ephemeral' });
    expect((api.requests[1]!.body as any).messages[0].content.at(-1).cache_control).toBeUndefined();
    expect((api.requests[1]!.body as any).messages[0].content[0].cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });

    // The view's result reached the model with line numbers.
    const second = api.requests[1]!.body as Record<string, any>;
    const viewResult = second['messages'][2].content[0];
    expect(viewResult).toMatchObject({ type: 'tool_result' });
    expect(viewResult.content).toMatch(/^\s+3\tLR = 0.02$/m);

    const kinds = activity.map((a) => a.kind);
    expect(kinds).toContain('text');
    expect(activity.filter((a) => a.kind === 'text').map((a) => (a as { text: string }).text).join('')).toContain('double the learning rate');
    expect(activity.filter((a) => a.kind === 'tool')).toEqual([
      { kind: 'tool', name: 'str_replace_based_edit_tool', summary: 'view train.py' },
      { kind: 'tool', name: 'str_replace_based_edit_tool', summary: 'str_replace train.py' },
      { kind: 'tool', name: 'submit_experiment', summary: 'raise LR 0.02 -> 0.04 because loss still falls fast' },
    ]);
    expect(activity.filter((a) => a.kind === 'tool-result').every((a) => a.kind === 'tool-result' && !a.isError)).toBe(true);
    expect(activity.filter((a) => a.kind === 'usage')).toHaveLength(3);
  });

  it('adds up usage over all calls and prices it from the table; the second call reads the cached prefix', async () => {
    const repo = makeRepo();
    const usages = [
      { input_tokens: 1200, output_tokens: 300, cache_creation_input_tokens: 5000, cache_read_input_tokens: 0 },
      { input_tokens: 1500, output_tokens: 120, cache_creation_input_tokens: 0, cache_read_input_tokens: 5000 },
    ];
    api = await startFakeApi(scripted([{ ...edit('DEPTH = 8', 'DEPTH = 10'), usage: usages[0] }, { ...submit('deeper'), usage: usages[1] }]));
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    const expected = usages.reduce((sum, u) => sum + costOfCall('claude-sonnet-5-5', { inputTokens: u.input_tokens, outputTokens: u.output_tokens, cacheWriteTokens: u.cache_creation_input_tokens, cacheReadTokens: u.cache_read_input_tokens }), 0);
    expect(proposal.usage).toEqual({ inputTokens: 2700, outputTokens: 420, cacheWriteTokens: 5000, cacheReadTokens: 5000, costUsd: expect.closeTo(expected, 12) });
    // Hand-checked: (2700·2 + 420·10 + 5000·2.5 + 5000·0.1) / 1e6
    expect(proposal.usage.costUsd).toBeCloseTo(0.0226, 10);

    // Without overrides the fake server's own cache accounting shows the breakpoints at work: tools,
    // system prompt and first message are written by the first call and read by the second, which
    // writes only what is new; with the breakpoint on the newest block nothing is sent uncached.
    const repo2 = makeRepo();
    await api.close();
    api = await startFakeApi(scripted([edit('DEPTH = 8', 'DEPTH = 12'), submit('deeper still')]));
    const p2 = await agentFor(api.url).propose(context(repo2), new AbortController().signal, () => {});
    const lines = readFileSync(path.join(repo2, '.autoresearch/test/transcripts/0001.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const perCall = lines.filter((l) => l.type === 'message' && l.role === 'assistant').map((l) => l.usage);
    expect(perCall).toHaveLength(2);
    expect(perCall[0]).toMatchObject({ input_tokens: 0, cache_read_input_tokens: 0 });
    expect(perCall[1]).toMatchObject({ input_tokens: 0, cache_read_input_tokens: perCall[0].cache_creation_input_tokens });
    expect(perCall[1].cache_creation_input_tokens).toBeLessThan(perCall[0].cache_creation_input_tokens);
    expect(p2.usage.inputTokens).toBe(0);
    // Tools and system prompt were written with the 1-hour TTL (priced at $4/M), the rest with 5 minutes ($2.50/M).
    const w1h = perCall[0].cache_creation.ephemeral_1h_input_tokens as number;
    expect(w1h).toBeGreaterThan(0);
    expect(perCall[1].cache_creation.ephemeral_1h_input_tokens).toBe(0);
    const out = perCall[0].output_tokens + perCall[1].output_tokens;
    const w5m = p2.usage.cacheWriteTokens - w1h;
    expect(p2.usage.costUsd).toBeCloseTo((w1h * 4 + w5m * 2.5 + p2.usage.cacheReadTokens * 0.1 + out * 10) / 1e6, 12);
  });

  it('writes the transcript as JSONL under .autoresearch/<tag>/transcripts, and the key is in no body and no file', async () => {
    const repo = makeRepo();
    const saved = process.env['ANTHROPIC_API_KEY'];
    process.env['ANTHROPIC_API_KEY'] = FAKE_KEY;
    try {
      api = await startFakeApi(
        scripted([turn(useTool('bash', { command: 'env; echo "key=[$ANTHROPIC_API_KEY]"' })), edit('LR = 0.02', 'LR = 0.03'), submit('LR 0.03')]),
        { requireKey: FAKE_KEY },
      );
      const agent = new ClaudeAgent({ baseURL: api.url, model: 'claude-sonnet-5-5' }); // key from the environment, as the SDK reads it
      const proposal = await agent.propose(context(repo, { experiment: 12 }), new AbortController().signal, () => {});
      expect(proposal.kind).toBe('submitted');
      const file = path.join(repo, '.autoresearch', 'test', 'transcripts', '0012.jsonl');
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
      expect(lines[0]).toMatchObject({ type: 'start', experiment: 12, model: 'claude-sonnet-5-5' });
      expect(lines.at(-1)).toMatchObject({ type: 'end', proposal: { kind: 'submitted', description: 'LR 0.03' } });
      expect(lines.filter((l) => l.type === 'message').length).toBeGreaterThanOrEqual(6);

      expect(api.requests.every((r) => r.headers['authorization'] === `Bearer ${FAKE_KEY}`)).toBe(true); // it is sent, as a header only
      for (const r of api.requests) expect(r.rawBody).not.toContain(FAKE_KEY);
      for (const f of filesUnder(repo)) expect(readFileSync(f).includes(FAKE_KEY), f).toBe(false);
      // The shell saw no such variable at all.
      const envResult = (api.requests[1]!.body as any).messages[2].content[0].content as string;
      expect(envResult).toContain('key=[]');
      expect(envResult).not.toContain('ANTHROPIC_API_KEY=');
    } finally {
      if (saved === undefined) delete process.env['ANTHROPIC_API_KEY'];
      else process.env['ANTHROPIC_API_KEY'] = saved;
    }
  });

  it('names fix attempts <NNNN>-fix<k>.jsonl and tells the model why the last attempt crashed', async () => {
    const repo = makeRepo();
    api = await startFakeApi(scripted([edit('DEPTH = 8', 'DEPTH = 6'), submit('smaller model to fit memory')]));
    const ctx = context(repo, { experiment: 3, fix: { attempt: 1, reason: 'CUDA out of memory', logTail: 'Traceback...\ntorch.OutOfMemoryError: CUDA out of memory', description: 'DEPTH 8 -> 16' } });
    await agentFor(api.url).propose(ctx, new AbortController().signal, () => {});
    expect(statSync(path.join(repo, '.autoresearch', 'test', 'transcripts', '0003-fix1.jsonl')).isFile()).toBe(true);
    const prompt = firstUserText(api.requests[0]!.body as MessagesRequest);
    expect(prompt).toContain('fix attempt 1');
    expect(prompt).toContain('CUDA out of memory');
    expect(prompt).toContain('DEPTH 8 -> 16');
  });

  it('skips past --max-turns tool calls', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => turn(useTool('bash', { command: 'true' })));
    const proposal = await agentFor(api.url, { maxTurns: 2 }).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/all 2 tool calls/) });
    expect(api.requests).toHaveLength(3);
  });

  it('nudges a model that ends its turn without submitting, once; then skips', async () => {
    const repo = makeRepo();
    api = await startFakeApi(() => turn(say('I think we are done here.')));
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/without calling submit_experiment/) });
    expect(api.requests).toHaveLength(2);
    const nudge = (api.requests[1]!.body as any).messages.at(-1);
    expect(nudge.role).toBe('user');
    expect(messageText(nudge.content)).toBe(NUDGE);

    // A model that listens to the nudge gets its experiment.
    const repo2 = makeRepo();
    await api.close();
    api = await startFakeApi(scripted([edit('LR = 0.02', 'LR = 0.01'), turn(say('Done.')), submit('lower LR')]));
    expect(await agentFor(api.url).propose(context(repo2), new AbortController().signal, () => {})).toMatchObject({ kind: 'submitted', description: 'lower LR' });
  });

  it('skips a submission that changed no editable file', async () => {
    const repo = makeRepo();
    api = await startFakeApi(scripted([submit('nothing really')]));
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/without changing any editable file/) });

    // Changing a line and changing it back is no change either.
    const repo2 = makeRepo();
    await api.close();
    api = await startFakeApi(scripted([edit('LR = 0.02', 'LR = 0.05'), edit('LR = 0.05', 'LR = 0.02'), submit('round trip')]));
    expect(await agentFor(api.url).propose(context(repo2), new AbortController().signal, () => {})).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/without changing/) });

    // A change that lands exactly on what is committed leaves nothing to commit.
    const repo3 = makeRepo();
    writeFileSync(path.join(repo3, 'train.py'), TRAIN_PY.replace('LR = 0.02', 'LR = 9'));
    await api.close();
    api = await startFakeApi(scripted([edit('LR = 9', 'LR = 0.02'), submit('undo the crashed change')]));
    expect(await agentFor(api.url).propose(context(repo3), new AbortController().signal, () => {})).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/nothing to commit/) });
  });

  it('answers an empty submit description with an error and lets the model try again', async () => {
    const repo = makeRepo();
    api = await startFakeApi(scripted([edit('LR = 0.02', 'LR = 0.03'), submit('  \n '), submit('LR 0.03')]));
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.03' });
    const results = (api.requests[2]!.body as any).messages.at(-1).content;
    expect(results[0]).toMatchObject({ type: 'tool_result', is_error: true });
  });
});
