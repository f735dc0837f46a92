// The loop must not lose or corrupt data in awkward but ordinary situations: a log the user
// redirected into the repository, a results.tsv that cannot take a row, a row torn by a crash,
// a run log of many megabytes. Real git repositories, real processes, the stand-in trainer.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import type { Agent, EngineConfig, EngineEvent } from '../../src/engine/types.js';
import { git, makeWorkspace, PlannedAgent, type Edit } from '../helpers/workspace.js';

const config = (dir: string, over: Partial<EngineConfig> = {}): EngineConfig =>
  makeEngineConfig(dir, 'test', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, ...over });

async function run(dir: string, agent: Agent, maxExperiments: number, over: Partial<EngineConfig> = {}) {
  const events: EngineEvent[] = [];
  const result = await runLoop(config(dir, { maxExperiments, ...over }), agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal });
  return { result, events, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
}

/** A planned agent that thinks for a while before each edit, as a model does. */
function slowAgent(plan: Edit[], thinkMs: number): Agent {
  const inner = new PlannedAgent(plan);
  return {
    name: inner.name,
    propose: async (ctx, signal, onActivity) => {
      await new Promise((r) => setTimeout(r, thinkMs));
      return inner.propose(ctx, signal, onActivity);
    },
  };
}

describe('a log redirected into the repository', () => {
  it('is never rewritten by the guard: no NUL bytes, every line present', async () => {
    const dir = makeWorkspace();
    const log = path.join(dir, 'night.log');
    // `nohup autoresearch > night.log &`: a shell redirect (not an append), writing all along.
    const writer = spawn('/bin/sh', ['-c', 'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.01; done > night.log'], { cwd: dir, stdio: 'ignore', detached: true });
    let restored: string[] = [];
    try {
      while (!fs.existsSync(log) || fs.statSync(log).size === 0) await new Promise((r) => setTimeout(r, 20));
      const { result, events } = await run(dir, slowAgent([{ value: 0.9, description: 'a' }, { value: 0.95, description: 'b' }], 300), 2);
      expect(result.exitCode).toBe(0);
      restored = events.flatMap((e) => (e.type === 'committed' ? e.restored : []));
    } finally {
      process.kill(-writer.pid!, 'SIGKILL');
      await new Promise((r) => writer.once('exit', r));
    }
    const bytes = fs.readFileSync(log);
    expect(bytes.includes(0)).toBe(false);
    const lines = bytes.toString('utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines).toEqual(lines.map((_, i) => `line ${i}`));
    expect(restored).toEqual([]);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe('?? night.log');
  }, 60_000);
});
