// The "done when": the same scripted experiments give the same rows through
// --provider openai as through Claude. The real engine runs each agent against its fake server
// (the Messages one and the Chat Completions one, answering from one plan), with a stand-in
// trainer, in two fresh repositories; the OpenAI run has no Anthropic key anywhere.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { OpenAiAgent } from '../../src/agent/openai/agent.js';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import type { Agent, EngineEvent } from '../../src/engine/types.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { firstUserText, say, startFakeApi, startFakeOpenAi, turn, useTool, type FakeApi, type Reply } from '../../src/fakeapi/index.js';

const TRAIN = `VAL = 0.997900
CRASH = False
if CRASH:
    raise RuntimeError("boom")
print("---")
print(f"val_bpb:          {VAL:.6f}")
print("training_seconds: 0.1")
print("peak_vram_mb:     45060.2")
`;

const replace = (oldStr: string, newStr: string) => useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: oldStr, new_str: newStr });
const submit = (d: string) => turn(say('Done.'), useTool('submit_experiment', { description: d }));

const PLANS: Record<string, Reply[]> = {
  '1': [turn(say('Reading.'), useTool('str_replace_based_edit_tool', { command: 'view', path: 'train.py' })), turn(replace('VAL = 0.997900', 'VAL = 0.990000')), submit('lower VAL to 0.99')],
  '2': [turn(useTool('bash', { command: 'git status --short' })), turn(replace('VAL = 0.990000', 'VAL = 0.995000')), submit('raise VAL to 0.995')],
  '3': [turn(replace('CRASH = False', 'CRASH = True')), submit('turn the crash on')],
  '3-fix1': [turn(say('No fix.')), turn(say('Still none.'))],
  '4': [turn(replace('VAL = 0.990000', 'VAL = 0.980000')), submit('lower VAL to 0.98')],
  '5': [turn(replace('CRASH = False', 'CRASH = True'), replace('VAL = 0.980000', 'VAL = 0.970000')), submit('VAL 0.97, crash on')],
  '5-fix1': [turn(replace('CRASH = True', 'CRASH = False')), submit('VAL 0.97 with the crash switched off')],
};

function script(body: { messages: unknown[] }): Reply {
  const messages = body.messages as Array<{ role: string }>;
  const first = firstUserText(body);
  const n = /Experiment (\d+)/.exec(first)?.[1] ?? '?';
  const fix = /fix attempt (\d+)/.exec(first)?.[1];
  const key = fix ? `${n}-fix${fix}` : n;
  const step = messages.filter((m) => m.role === 'assistant').length;
  return PLANS[key]?.[step] ?? turn(say(`no plan for ${key} step ${step}`));
}

const servers: FakeApi[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function runWith(agent: Agent, env: NodeJS.ProcessEnv) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-provider-'));
  dirs.push(dir);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'e2e@example.com');
  git('config', 'user.name', 'e2e');
  fs.writeFileSync(path.join(dir, 'train.py'), TRAIN);
  fs.writeFileSync(path.join(dir, 'prepare.py'), 'DATA = "fixed"\n');
  fs.writeFileSync(path.join(dir, 'program.md'), '# program\nLower val_bpb by editing train.py.\n');
  git('add', '.');
  git('commit', '-q', '-m', 'initial');
  const config = makeEngineConfig(dir, 'e2e', { runCmd: 'python3 train.py', timeoutSec: 60, fixAttempts: 1, maxExperiments: 5, lookahead: 0 });
  const events: EngineEvent[] = [];
  const result = await runLoop(config, agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal, env });
  const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
  return { result, rows, events, log: git('log', '--format=%s', 'main..HEAD').split('\n'), dir };
}

describe('--provider openai against Claude: the same plan gives the same rows', () => {
  it('keep, discard, crash (fix declined), keep, crash fixed: identical rows, commits and transcripts', async () => {
    const claudeApi = await startFakeApi(script);
    const openAiApi = await startFakeOpenAi(script);
    servers.push(claudeApi, openAiApi);
    const noAnthropic = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_')));

    const claude = await runWith(new ClaudeAgent({ apiKey: 'sk-ant-fake-0123456789', baseURL: claudeApi.url, model: 'claude-sonnet-5-5', retryBaseMs: 5 }), { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-fake-0123456789' });
    const openai = await runWith(new OpenAiAgent({ apiKey: 'none', baseURL: openAiApi.url, model: 'qwen2.5-coder', retryBaseMs: 5 }), noAnthropic);

    expect(openai.result).toMatchObject({ exitCode: 0 });
    const shape = (rows: typeof claude.rows) => rows.map((r) => [r.status, r.value, r.memoryGb, r.description]);
    expect(shape(openai.rows)).toEqual([
      ['keep', 0.9979, 44, 'baseline'],
      ['keep', 0.99, 44, 'lower VAL to 0.99'],
      ['discard', 0.995, 44, 'raise VAL to 0.995'],
      ['crash', 0, 0, 'turn the crash on (exit 1)'],
      ['keep', 0.98, 44, 'lower VAL to 0.98'],
      ['keep', 0.97, 44, 'VAL 0.97 with the crash switched off'],
    ]);
    expect(shape(openai.rows)).toEqual(shape(claude.rows));
    expect(openai.log).toEqual(claude.log);
    // Tokens were counted from the streamed usage; a local endpoint costs nothing.
    for (const r of openai.rows.slice(1)) {
      expect(r.usage.inputTokens).toBeGreaterThan(0);
      expect(r.usage.outputTokens).toBeGreaterThan(0);
      expect(r.usage.costUsd).toBe(0);
    }
    const transcripts = (dir: string) => fs.readdirSync(path.join(dir, '.autoresearch', 'e2e', 'transcripts')).sort();
    expect(transcripts(openai.dir)).toEqual(transcripts(claude.dir));
    // The dashboard and plain lines name the provider and the model.
    expect(openai.events.find((e) => e.type === 'started')).toMatchObject({ agent: 'openai:qwen2.5-coder' });
    expect(openAiApi.requests.every((r) => r.path === '/v1/chat/completions')).toBe(true);
  });
});
