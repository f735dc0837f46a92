// Several models drafting at once through the real ClaudeAgent and SDK against the fake Messages
// API: two GPUs and a draft ahead on each, so up to four conversations overlap; every
// conversation's first call is refused with a 429 and retried. Every experiment still completes,
// and the money is counted once per call, whatever order the calls interleave in.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClaudeAgent } from '../../src/agent/claude/agent.js';
import { DEFAULT_MODEL } from '../../src/agent/claude/model.js';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import type { EngineEvent } from '../../src/engine/types.js';
import { fault, firstUserText, say, startFakeApi, turn, useTool, type FakeApi, type MessagesRequest, type Reply } from '../../src/fakeapi/index.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { createPlainLogger } from '../../src/ui/plain.js';
import { formatCost } from '../../src/ui/format.js';
import { FAKE_KEY } from './helpers.js';

const KNOBS = 4;
/** Four independent knobs, far apart (their changes never conflict when moved onto each other). */
const TRAIN = `# stand-in trainer
import time
${Array.from({ length: KNOBS }, (_, k) => `KNOB_${k + 1} = 0\n#\n#\n#`).join('\n')}
time.sleep(0.4)
print("---")
print(f"val_bpb:          {1.0 - 0.01 * (KNOB_1 + KNOB_2 + KNOB_3 + KNOB_4):.6f}")
print("peak_vram_mb:     1024.0")
`;

let api: FakeApi | null = null;
let dir = '';
afterEach(async () => {
  await api?.close();
  api = null;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('several models drafting at once', () => {
  it('every conversation survives a 429, all experiments complete, and the cost adds up', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-par-api-'));
    const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 't@example.com');
    git('config', 'user.name', 't');
    fs.writeFileSync(path.join(dir, 'train.py'), TRAIN);
    fs.writeFileSync(path.join(dir, 'program.md'), '# program\nTurn one knob on per experiment.\n');
    git('add', '.');
    git('commit', '-q', '-m', 'initial');

    const refused = new Set<string>();
    let inFlight = 0;
    let mostAtOnce = 0;
    // The first answers are held until a second conversation has a call in flight too: the overlap
    // is seen when the loop really drafts several at once, however slow the machine. (The deadline
    // only lets a loop that never overlaps fail on the count below rather than hang.)
    let overlapped: () => void = () => {};
    const overlap = new Promise<void>((resolve) => (overlapped = resolve));
    setTimeout(() => overlapped(), 30_000).unref();
    api = await startFakeApi(async (body: MessagesRequest): Promise<Reply> => {
      const n = /Experiment (\d+)/.exec(firstUserText(body))?.[1] ?? '?';
      const step = (body.messages as Array<{ role: string }>).filter((m) => m.role === 'assistant').length;
      if (step === 0 && !refused.has(n)) {
        refused.add(n);
        return fault({ kind: 'error', status: 429, headers: { 'retry-after-ms': '50' } });
      }
      inFlight++;
      mostAtOnce = Math.max(mostAtOnce, inFlight);
      if (mostAtOnce >= 2) overlapped();
      await overlap;
      inFlight--;
      if (step === 0) return turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: `KNOB_${n} = 0`, new_str: `KNOB_${n} = 1` }));
      return turn(say('Done.'), useTool('submit_experiment', { description: `knob ${n} on` }));
    });

    const agent = new ClaudeAgent({ apiKey: FAKE_KEY, baseURL: api.url, model: DEFAULT_MODEL, retryBaseMs: 20 });
    const config = makeEngineConfig(dir, 'par', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, gpus: ['0', '1'], lookahead: 1, maxExperiments: KNOBS, baselineRuns: 1, confirmRuns: 0 });
    const events: EngineEvent[] = [];
    let log = '';
    const plain = createPlainLogger((t) => (log += t));
    const result = await runLoop(config, agent, {
      onEvent: (e) => {
        events.push(e);
        plain.onEvent(e);
      },
      signal: new AbortController().signal,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    expect(result.exitCode).toBe(0);

    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    // (A run that finished after another moved the best is re-measured on it: its description says so.)
    expect(rows.slice(1).map((r) => r.description.split(' (')[0]).sort()).toEqual(['knob 1 on', 'knob 2 on', 'knob 3 on', 'knob 4 on']);
    expect(rows.slice(1).every((r) => r.status === 'keep')).toBe(true);
    expect(refused.size).toBe(KNOBS); // every conversation was refused once, and went on
    expect(events.filter((e) => e.type === 'agent' && e.activity.kind === 'retry')).toHaveLength(KNOBS);
    expect(mostAtOnce).toBeGreaterThanOrEqual(2); // conversations really overlapped

    // The money: each row carries its own conversation's usage, and the total said at the end is their sum.
    for (const r of rows.slice(1)) {
      const tokens = r.usage.inputTokens + r.usage.cacheReadTokens + r.usage.cacheWriteTokens; // the fake caches prompts, as the API does
      expect(tokens, r.description).toBeGreaterThan(0);
      expect(r.usage.costUsd, r.description).toBeGreaterThan(0);
    }
    const total = rows.reduce((a, r) => a + r.usage.costUsd, 0);
    expect(total).toBeGreaterThan(0);
    expect(log).toContain(`cost ${formatCost(total)}`);
  });
});
