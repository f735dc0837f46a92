// The whole loop, end to end: the real engine (runLoop), the real ClaudeAgent with the real SDK
// against the fake Messages API, a real git repository and a tiny python3 stand-in for train.py
// that prints the summary block. A scripted model drives baseline → keep → discard → crash (its
// fix declined) → keep → crash fixed → keep; rows, branch, usage columns, transcripts and the
// absence of the key are all checked.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import type { EngineEvent } from '../../src/engine/types.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { firstUserText, say, startFakeApi, turn, useTool, type FakeApi, type MessagesRequest, type Reply } from '../../src/fakeapi/index.js';
import { FAKE_KEY } from './helpers.js';

const TRAIN = `# stand-in trainer: prints the summary block the real train.py prints
VAL = 0.997900
CRASH = False
if CRASH:
    raise RuntimeError("boom")
print("---")
print(f"val_bpb:          {VAL:.6f}")
print("training_seconds: 0.1")
print("peak_vram_mb:     45060.2")
`;

let api: FakeApi | null = null;
let dir = '';
afterEach(async () => {
  await api?.close();
  api = null;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
const replace = (oldStr: string, newStr: string) => useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: oldStr, new_str: newStr });
const submit = (d: string) => turn(say('Done.'), useTool('submit_experiment', { description: d }));

/** The model's plan, by experiment (and fix attempt), one reply per step of the conversation. */
const PLANS: Record<string, Reply[]> = {
  '1': [turn(say('Reading the script.'), useTool('str_replace_based_edit_tool', { command: 'view', path: 'train.py' })), turn(replace('VAL = 0.997900', 'VAL = 0.990000')), submit('lower VAL to 0.99')],
  '2': [turn(useTool('bash', { command: 'git status --short && python3 -c "print(42)"' })), turn(replace('VAL = 0.990000', 'VAL = 0.995000')), submit('raise VAL to 0.995')],
  '3': [turn(replace('CRASH = False', 'CRASH = True')), submit('turn the crash on')],
  '3-fix1': [turn(say('I do not see a fix.')), turn(say('Still no fix.'))],
  '4': [turn(replace('VAL = 0.990000', 'VAL = 0.980000')), submit('lower VAL to 0.98')],
  '5': [turn(replace('CRASH = False', 'CRASH = True'), replace('VAL = 0.980000', 'VAL = 0.970000')), submit('VAL 0.97, crash on')],
  '5-fix1': [turn(replace('CRASH = True', 'CRASH = False')), submit('VAL 0.97 with the crash switched off')],
};

function script(body: MessagesRequest): Reply {
  const messages = body.messages as Array<{ role: string; content: unknown }>;
  const first = firstUserText(body);
  const n = /Experiment (\d+)/.exec(first)?.[1] ?? '?';
  const fix = /fix attempt (\d+)/.exec(first)?.[1];
  const key = fix ? `${n}-fix${fix}` : n;
  const step = messages.filter((m) => m.role === 'assistant').length;
  return PLANS[key]?.[step] ?? turn(say(`no plan for ${key} step ${step}`));
}

function filesUnder(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(d, e.name)) : [path.join(d, e.name)]));
}

describe('end to end: engine + ClaudeAgent + fake API', () => {
  it('runs baseline, keep, discard, crash, keep, fixed crash', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-e2e-'));
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 'e2e@example.com');
    git('config', 'user.name', 'e2e');
    fs.writeFileSync(path.join(dir, 'train.py'), TRAIN);
    fs.writeFileSync(path.join(dir, 'prepare.py'), 'DATA = "fixed"\n');
    fs.writeFileSync(path.join(dir, 'program.md'), '# program\nLower val_bpb by editing train.py, one idea at a time.\n');
    git('add', '.');
    git('commit', '-q', '-m', 'initial');
    const start = git('rev-parse', 'HEAD');

    api = await startFakeApi(script, { requireKey: FAKE_KEY });
    const agent = new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: api.url, model: 'claude-sonnet-5-5', retryBaseMs: 5 });
    const config = makeEngineConfig(dir, 'e2e', { runCmd: 'python3 train.py', timeoutSec: 60, fixAttempts: 1, maxExperiments: 5, lookahead: 0 });
    const events: EngineEvent[] = [];
    const result = await runLoop(config, agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal, env: { ...process.env, ANTHROPIC_API_KEY: FAKE_KEY } });
    expect(result).toMatchObject({ exitCode: 0 });

    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.map((r) => [r.status, r.value, r.description])).toEqual([
      ['keep', 0.9979, 'baseline'],
      ['keep', 0.99, 'lower VAL to 0.99'],
      ['discard', 0.995, 'raise VAL to 0.995'],
      ['crash', 0, 'turn the crash on (exit 1)'],
      ['keep', 0.98, 'lower VAL to 0.98'],
      ['keep', 0.97, 'VAL 0.97 with the crash switched off'],
    ]);
    expect(rows[1]!.memoryGb).toBeCloseTo(44.0, 1);
    // Token and cost columns are filled for every experiment the model worked on.
    expect(rows[0]!.usage.costUsd).toBe(0);
    for (const r of rows.slice(1)) {
      expect(r.usage.inputTokens + r.usage.cacheReadTokens + r.usage.cacheWriteTokens).toBeGreaterThan(0);
      expect(r.usage.outputTokens).toBeGreaterThan(0);
      expect(r.usage.costUsd).toBeGreaterThan(0);
    }
    // Prompt caching at work: every experiment reads its cached prefix (system prompt, tools, and
    // the conversation so far) back from the cache.
    for (const r of rows.slice(1)) expect(r.usage.cacheReadTokens).toBeGreaterThan(0);

    // The branch holds exactly the kept experiments, and the tree is clean at the best commit.
    expect(git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('autoresearch/e2e');
    expect(git('log', '--format=%s', `${start}..HEAD`).split('\n')).toEqual(['VAL 0.97 with the crash switched off', 'lower VAL to 0.98', 'lower VAL to 0.99']);
    expect(git('status', '--porcelain')).toBe('');
    expect(fs.readFileSync(path.join(dir, 'train.py'), 'utf8')).toContain('VAL = 0.970000\nCRASH = False');

    // The fix attempt was told what crashed, with the real log.
    const fixPrompt = api.requests
      .map((r) => firstUserText(r.body as MessagesRequest))
      .find((c) => c.includes('Experiment 5') && c.includes('fix attempt 1'));
    expect(fixPrompt).toContain('RuntimeError: boom');
    expect(fixPrompt).toContain('VAL 0.97, crash on');

    // One transcript per conversation.
    const transcripts = fs.readdirSync(path.join(dir, '.autoresearch', 'e2e', 'transcripts')).sort();
    expect(transcripts).toEqual(['0001.jsonl', '0002.jsonl', '0003-fix1.jsonl', '0003.jsonl', '0004.jsonl', '0005-fix1.jsonl', '0005.jsonl']);

    // The dashboard got the model's words and tool calls.
    const activity = events.flatMap((e) => (e.type === 'agent' ? [e.activity] : []));
    expect(activity.some((a) => a.kind === 'text')).toBe(true);
    expect(activity.filter((a) => a.kind === 'tool').length).toBeGreaterThanOrEqual(10);

    // The key went out as a header only: in no request body, in no file of the repository.
    for (const r of api.requests) expect(r.rawBody).not.toContain(FAKE_KEY);
    for (const f of filesUnder(dir)) expect(fs.readFileSync(f).includes(FAKE_KEY), f).toBe(false);
  });
});
