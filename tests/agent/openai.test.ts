// --provider openai: the OpenAiAgent with the real `openai` client against the fake Chat
// Completions server (src/fakeapi/openai.ts), real git repositories and real processes. The
// contract is the Claude agent's: same tools, guards, transcripts, retry policy; plus what is
// particular to Chat Completions (tool_calls deltas, stream_options usage, malformed arguments,
// servers without tool support).

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAiAgent, type OpenAiAgentOptions } from '../../src/agent/openai/agent.js';
import { checkOpenAiKey, isLocalEndpoint, resolveBaseUrl, resolveOpenAiModel } from '../../src/agent/openai/model.js';
import { openAiUsage, resolveOpenAiPrice } from '../../src/agent/openai/pricing.js';
import { parseArguments } from '../../src/agent/openai/tools.js';
import { FatalAgentError, type AgentActivity } from '../../src/engine/types.js';
import { fault, rawArguments, say, startFakeOpenAi, turn, useTool, type ChatRequest, type FakeApi, type Reply } from '../../src/fakeapi/index.js';
import { cleanupRepos, collect, context, git, makeRepo, TRAIN_PY } from './helpers.js';

const KEY = 'sk-openai-fake-key-0123456789-DO-NOT-LEAK';

let api: FakeApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
  cleanupRepos();
});

function agentFor(url: string, over: Partial<OpenAiAgentOptions> = {}): OpenAiAgent {
  return new OpenAiAgent({ apiKey: KEY, baseURL: url, model: 'qwen2.5-coder', retryBaseMs: 5, ...over });
}

const edit = (oldStr: string, newStr: string): Reply => turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: oldStr, new_str: newStr }));
const submit = (d: string): Reply => turn(say('Done.'), useTool('submit_experiment', { description: d }));
const scripted = (replies: Reply[]) => (_b: ChatRequest, i: number) => replies[i] ?? turn(say(`no reply scripted for call ${i}`));
const toolMessages = (body: unknown) => (body as { messages: Array<{ role: string; tool_call_id?: string; content: string }> }).messages.filter((m) => m.role === 'tool');
const retries = (activity: AgentActivity[]) => activity.filter((a): a is Extract<AgentActivity, { kind: 'retry' }> => a.kind === 'retry');

describe('OpenAiAgent against the fake Chat Completions server', () => {
  it('edits and submits through streamed tool_call deltas, with program.md as the system message, usage from the final chunk, priced, and a transcript', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(
      scripted([
        turn(say('Looking first.'), useTool('str_replace_based_edit_tool', { command: 'view', path: 'train.py' })),
        { ...edit('LR = 0.02', 'LR = 0.04'), chunkSize: 3 },
        { ...submit('raise LR to 0.04'), usage: { input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 400 } },
      ]),
      { requireKey: KEY },
    );
    const { activity, on } = collect();
    const agent = agentFor(api.url, { price: { input: 2, cachedInput: 0.5, output: 8 } });
    expect(agent.name).toBe('openai:qwen2.5-coder');
    const proposal = await agent.propose(context(repo), new AbortController().signal, on);
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'raise LR to 0.04' });
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toContain('LR = 0.04');

    const first = api.requests[0]!.body as ChatRequest & { messages: Array<{ role: string; content: string }>; tools: Array<{ function: { name: string; parameters: { required: string[] } } }> };
    expect(first.stream).toBe(true);
    expect(first.stream_options).toEqual({ include_usage: true });
    expect(first.messages[0]).toEqual({ role: 'system', content: context(repo).programText });
    expect(first.messages[1]!.role).toBe('user');
    expect(first.messages[1]!.content).toMatch(/^Tag "test"\. Objective/);
    expect(first.messages[1]!.content).toMatch(/\nExperiment 1\. Make exactly ONE change/);
    expect(first.tools.map((t) => t.function.name)).toEqual(['bash', 'str_replace_based_edit_tool', 'submit_experiment']);
    expect(first.tools.map((t) => t.function.parameters.required)).toEqual([['command'], ['command', 'path'], ['description']]);
    // The view's result went back as a tool message answering the call.
    const answers = toolMessages(api.requests[1]!.body);
    expect(answers).toHaveLength(1);
    expect(answers[0]!.content).toContain('LR = 0.02');

    // The last call's usage is exactly what the final chunk said: 600 fresh + 400 cached input, 100 output.
    const cost3 = (600 * 2 + 400 * 0.5 + 100 * 8) / 1e6;
    expect(proposal.usage.cacheReadTokens).toBe(400);
    expect(proposal.usage.outputTokens).toBeGreaterThan(100);
    expect(proposal.usage.costUsd).toBeGreaterThan(cost3);
    expect(activity.filter((a) => a.kind === 'tool').map((a) => (a as { name: string }).name)).toEqual(['str_replace_based_edit_tool', 'str_replace_based_edit_tool', 'submit_experiment']);
    expect(activity.some((a) => a.kind === 'text' && a.text.includes('Looking'))).toBe(true);

    const lines = readFileSync(path.join(repo, '.autoresearch/test/transcripts/0001.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['type'])).toEqual(['start', 'message', 'message', 'message', 'message', 'message', 'message', 'message', 'end']);
    expect(lines[0]).toMatchObject({ model: 'openai:qwen2.5-coder' });
    expect(lines.filter((l) => l['role'] === 'assistant').map((l) => l['finish_reason'])).toEqual(['tool_calls', 'tool_calls', 'tool_calls']);
    for (const r of api.requests) expect(r.rawBody).not.toContain(KEY);
    expect(readdirSync(path.join(repo, '.autoresearch/test/transcripts')).map((f) => readFileSync(path.join(repo, '.autoresearch/test/transcripts', f), 'utf8')).join('')).not.toContain(KEY);
  });

  it('keeps the guards: a non-editable file is refused, a bash commit is undone, and the model is told', async () => {
    const repo = makeRepo();
    const head = git(repo, 'rev-parse', 'HEAD');
    api = await startFakeOpenAi(
      scripted([
        turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'prepare.py', old_str: 'fixed', new_str: 'hacked' })),
        turn(useTool('bash', { command: 'echo x >> train.py && git commit -qam sneaky && echo $OPENAI_API_KEY' })),
        edit('LR = 0.02', 'LR = 0.03'),
        submit('LR 0.03'),
      ]),
    );
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal.kind).toBe('submitted');
    expect(readFileSync(path.join(repo, 'prepare.py'), 'utf8')).toBe('DATA = "fixed"\n');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);
    expect(toolMessages(api.requests[1]!.body)[0]!.content).toMatch(/^Error: prepare.py is not editable/);
    const bashAnswer = toolMessages(api.requests[2]!.body)[1]!.content;
    expect(bashAnswer).toMatch(/the program undid them/);
    expect(bashAnswer).not.toContain(KEY);
  });

  it('answers malformed tool arguments with a tool error, without running them, and goes on', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(
      scripted([
        turn(useTool('str_replace_based_edit_tool', rawArguments('{"command": "str_replace", "path": "train.py", "old_str": "LR = 0.02", "new_str": '))),
        turn(useTool('bash', rawArguments('["ls"]'))),
        turn(useTool('submit_experiment', rawArguments('{description: nope}'))),
        edit('LR = 0.02', 'LR = 0.05'),
        submit('LR 0.05'),
      ]),
    );
    const { activity, on } = collect();
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, on);
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.05' });
    const answers = toolMessages(api.requests[3]!.body).map((m) => m.content);
    expect(answers[0]).toMatch(/^Error: the arguments of this tool call could not be read \(not valid JSON/);
    expect(answers[1]).toMatch(/a JSON object was expected, got an array/);
    expect(answers[2]).toMatch(/not valid JSON/);
    expect(activity.filter((a) => a.kind === 'tool-result' && a.isError)).toHaveLength(3);
    expect(readFileSync(path.join(repo, 'train.py'), 'utf8')).toBe(TRAIN_PY.replace('LR = 0.02', 'LR = 0.05'));
  });

  it('nudges a model that answers without tools once, then skips; an unknown tool gets a tool error', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(scripted([turn(useTool('python', { code: 'print(1)' })), turn(say('I think LR is fine.')), turn(say('Really fine.'))]));
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/without calling submit_experiment, even after a reminder/) });
    expect(toolMessages(api.requests[1]!.body)[0]!.content).toMatch(/no tool named "python"/);
  });

  it('fails at the first call, with a message that says what to do, when the server does not support tools', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(scripted([submit('x')]), { rejectTools: true });
    const err = await agentFor(api.url, { model: 'gemma:2b' }).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/rejected the tools for model "gemma:2b" \(400 api_error: .*does not support tools\)[\s\S]*function calling \(tool\) support[\s\S]*--enable-auto-tool-choice/);
    expect(api.requests).toHaveLength(1);
  });

  it('stops at once on a rejected key, naming OPENAI_API_KEY', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(scripted([submit('x')]), { requireKey: 'the-right-key' });
    const err = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/refused the credentials \(401[\s\S]*OPENAI_API_KEY/);
    expect(api.requests).toHaveLength(1);
  });

  it('retries through 429 (retry-after-ms), 503, a dropped stream, an error chunk and a stalled stream, then finishes', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(
      scripted([
        fault({ kind: 'error', status: 429, headers: { 'retry-after-ms': '120' } }),
        fault({ kind: 'error', status: 503 }),
        fault({ kind: 'disconnect', afterEvents: 2 }),
        fault({ kind: 'stream-error', afterEvents: 2, message: 'model overloaded' }),
        fault({ kind: 'stall', afterEvents: 1 }),
        edit('LR = 0.02', 'LR = 0.03'),
        submit('LR 0.03'),
      ]),
    );
    const { activity, on } = collect();
    const proposal = await agentFor(api.url, { streamIdleTimeoutMs: 400 }).propose(context(repo), new AbortController().signal, on);
    expect(proposal).toMatchObject({ kind: 'submitted', description: 'LR 0.03' });
    const r = retries(activity);
    expect(r).toHaveLength(5);
    expect(r[0]).toMatchObject({ waitMs: 120, reason: expect.stringMatching(/^429 rate_limit_exceeded/) });
    expect(r[1]!.reason).toMatch(/^503 server_error/);
    expect(r[2]!.reason).toMatch(/stream interrupted|connection error/);
    expect(r[3]!.reason).toMatch(/model overloaded/);
    expect(r[4]!.reason).toMatch(/no data from the API for 0.4 s/);
  });

  it('gives up when an outage outlasts --api-patience, saying the run can be resumed', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(() => fault({ kind: 'error', status: 503 }));
    const err = await agentFor(api.url, { apiPatienceMs: 300, retryBaseMs: 20 }).propose(context(repo), new AbortController().signal, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalAgentError);
    expect((err as Error).message).toMatch(/The endpoint http:\/\/127\.0\.0\.1:\d+\/v1 has kept failing .*longer than the API patience[\s\S]*run the same command again to resume/);
    expect(api.requests.length).toBeGreaterThan(3);
  });

  it('skips the experiment when the conversation outgrows the context window', async () => {
    const repo = makeRepo();
    api = await startFakeOpenAi(scripted([fault({ kind: 'error', status: 400, message: "This model's maximum context length is 8192 tokens." })]));
    const proposal = await agentFor(api.url).propose(context(repo), new AbortController().signal, () => {});
    expect(proposal).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/context window/) });
  });
});

describe('the fake Chat Completions server, through the real client', () => {
  it('answers without streaming: tool_calls, finish_reason and usage', async () => {
    api = await startFakeOpenAi(scripted([turn(say('Hi.'), useTool('bash', { command: 'ls' }, 'call_1'))]));
    const client = new OpenAI({ apiKey: 'none', baseURL: api.url, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'go' }] });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(r.choices[0]!.message).toMatchObject({ content: 'Hi.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } }] });
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
  });

  it('rejects a conversation whose tool calls are left unanswered, as the real API does', async () => {
    api = await startFakeOpenAi(scripted([turn(say('x'))]));
    const client = new OpenAI({ apiKey: 'none', baseURL: api.url, maxRetries: 0 });
    const bad = client.chat.completions.create({
      model: 'm',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'bash', arguments: '{}' } }] },
        { role: 'user', content: 'again' },
      ],
    });
    await expect(bad).rejects.toThrow(/must be followed by tool messages/);
  });
});

describe('openai settings (pure)', () => {
  it('tells local endpoints from hosted ones', () => {
    expect(isLocalEndpoint('http://localhost:11434/v1')).toBe(true);
    expect(isLocalEndpoint('http://127.0.0.1:8000/v1')).toBe(true);
    expect(isLocalEndpoint('http://[::1]:8000/v1')).toBe(true);
    expect(isLocalEndpoint('https://api.openai.com/v1')).toBe(false);
    expect(isLocalEndpoint('https://openrouter.ai/api/v1')).toBe(false);
    expect(isLocalEndpoint('not a url')).toBe(false);
  });

  it('prices by flags first, then $0 for a local endpoint, then the table; unknown hosted models are flagged', () => {
    const none = { priceIn: null, priceOut: null };
    expect(resolveOpenAiPrice('gpt-4.1', 'https://api.openai.com/v1', { priceIn: 1, priceOut: 3 })).toEqual({ price: { input: 1, cachedInput: 1, output: 3 }, source: 'flags' });
    expect(resolveOpenAiPrice('gpt-4.1', 'http://localhost:8000/v1', none).source).toBe('local');
    expect(resolveOpenAiPrice('gpt-4.1-2025-04-14', 'https://api.openai.com/v1', none)).toEqual({ price: { input: 2, cachedInput: 0.5, output: 8 }, source: 'table' });
    expect(resolveOpenAiPrice('openai/gpt-4.1-mini', 'https://openrouter.ai/api/v1', none).source).toBe('table');
    expect(resolveOpenAiPrice('qwen/qwen3-coder', 'https://openrouter.ai/api/v1', none)).toEqual({ price: { input: 0, cachedInput: 0, output: 0 }, source: 'unknown' });
    expect(openAiUsage({ input: 2, cachedInput: 0.5, output: 8 }, { promptTokens: 1000, completionTokens: 100, cachedTokens: 400 })).toEqual({
      inputTokens: 600,
      outputTokens: 100,
      cacheReadTokens: 400,
      cacheWriteTokens: 0,
      costUsd: (600 * 2 + 400 * 0.5 + 100 * 8) / 1e6,
    });
  });

  it('reads arguments, and says what is wrong with malformed ones', () => {
    expect(parseArguments('{"command":"ls"}')).toEqual({ input: { command: 'ls' } });
    expect(parseArguments('')).toEqual({ input: {} });
    expect(parseArguments('{"command":')).toMatchObject({ malformed: expect.stringMatching(/^not valid JSON/) });
    expect(parseArguments('42')).toEqual({ malformed: 'a JSON object was expected, got number' });
  });

  it('needs a model, finds the endpoint, and explains a missing key', () => {
    expect(resolveOpenAiModel(undefined, {})).toBeNull();
    expect(resolveOpenAiModel(undefined, { AUTORESEARCH_MODEL: 'qwen2.5-coder' })).toBe('qwen2.5-coder');
    expect(resolveBaseUrl(null, { OPENAI_BASE_URL: 'http://localhost:11434/v1' })).toBe('http://localhost:11434/v1');
    expect(resolveBaseUrl('http://h/v1', { OPENAI_BASE_URL: 'http://x/v1' })).toBe('http://h/v1');
    expect(resolveBaseUrl(null, {})).toBe('https://api.openai.com/v1');
    expect(checkOpenAiKey({ OPENAI_API_KEY: 'none' })).toBeNull();
    expect(checkOpenAiKey({})).toMatch(/OPENAI_API_KEY is not set[\s\S]*any placeholder/);
  });
});
