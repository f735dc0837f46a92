// Shared fixtures for the agent tests: real git repositories in temp dirs, a context builder, and
// small script helpers for the fake API. Nothing here mocks the SDK, git or child processes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentActivity, ExperimentContext, ResultRow } from '../../src/engine/types.js';
import { ZERO_USAGE } from '../../src/engine/types.js';
import { ENGINE_DEFAULTS } from '../../src/engine/config.js';
import { decideSandbox } from '../../src/proc/sandbox.js';

/** The agent tests run the model's shell as the loop would by default (--sandbox auto): sandboxed wherever bubblewrap works. */
export const SANDBOXED = decideSandbox(ENGINE_DEFAULTS.sandbox).on;

export const FAKE_KEY = 'sk-ant-fake-key-0123456789abcdef-DO-NOT-LEAK';

export const TRAIN_PY = ['import math', '', 'LR = 0.02', 'DEPTH = 8', '', 'def main():', '    print("val_bpb: 1.0")', '', 'main()', ''].join('\n');

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
}

const dirs: string[] = [];

/** A fresh repository with train.py (editable), prepare.py, program.md and an ignore file, on branch autoresearch/test. */
export function makeRepo(extraIgnore: string[] = []): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ar-agent-'));
  dirs.push(dir);
  git(dir, 'init', '-q', '-b', 'autoresearch/test');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'commit.gpgsign', 'false');
  writeFileSync(path.join(dir, 'train.py'), TRAIN_PY);
  writeFileSync(path.join(dir, 'prepare.py'), 'DATA = "fixed"\n');
  writeFileSync(path.join(dir, 'program.md'), '# program\nImprove val_bpb.\n');
  writeFileSync(path.join(dir, '.gitignore'), ['results.tsv', 'run.log', '.autoresearch/', '__pycache__/', ...extraIgnore].join('\n') + '\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'baseline');
  return dir;
}

export function cleanupRepos(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function row(i: number, over: Partial<ResultRow> = {}): ResultRow {
  const status = i % 7 === 0 ? 'crash' : i % 3 === 0 ? 'keep' : 'discard';
  return {
    commit: (0x1000000 + i).toString(16).slice(0, 7),
    value: status === 'crash' ? 0 : 1 - i / 10_000,
    memoryGb: status === 'crash' ? 0 : 44.1,
    status,
    description: `idea number ${i}: change the learning rate schedule and warmup ratio to something slightly different from before`,
    tag: 'test',
    startedAt: new Date(1_700_000_000_000 + i * 360_000).toISOString(),
    seconds: 330,
    usage: ZERO_USAGE,
    ...over,
  };
}

export function context(repoDir: string, over: Partial<ExperimentContext> = {}): ExperimentContext {
  return {
    repoDir,
    tag: 'test',
    experiment: 1,
    metric: 'val_bpb',
    direction: 'min',
    editable: ['train.py'],
    programText: '# program\nYou are an autonomous researcher. Improve val_bpb by editing train.py.\n',
    standing: { baseline: { commit: 'abc1234', value: 0.9979 }, best: { commit: 'abc1234', value: 0.9979, description: 'baseline' } },
    history: [],
    sandbox: SANDBOXED,
    ...over,
  };
}

export function collect(): { activity: AgentActivity[]; on: (a: AgentActivity) => void } {
  const activity: AgentActivity[] = [];
  return { activity, on: (a) => activity.push(a) };
}

/** The tool_result blocks of the last user message of a recorded request body. */
export function lastToolResults(body: unknown): Array<{ tool_use_id: string; content: string; is_error?: boolean }> {
  const messages = (body as { messages: Array<{ role: string; content: unknown }> }).messages;
  const last = messages[messages.length - 1];
  if (!last || !Array.isArray(last.content)) return [];
  return last.content.filter((b: { type?: string }) => b.type === 'tool_result') as Array<{ tool_use_id: string; content: string; is_error?: boolean }>;
}
