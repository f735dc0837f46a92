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
import { ZERO_USAGE } from '../../src/engine/types.js';
import { git, makeWorkspace, PlannedAgent, STAND_IN_TRAINER, type Edit } from '../helpers/workspace.js';

const config = (dir: string, over: Partial<EngineConfig> = {}): EngineConfig =>
  // The sandbox off: the saboteur below must reach results.tsv, which a sandboxed run cannot.
  makeEngineConfig(dir, 'test', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, lookahead: 0, sandbox: 'off', ...over });

async function run(dir: string, agent: Agent, maxExperiments: number, over: Partial<EngineConfig> = {}) {
  const events: EngineEvent[] = [];
  const result = await runLoop(config(dir, { maxExperiments, ...over }), agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal });
  return { result, events, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
}

const linesIn = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 1 : 0);

/** A planned agent whose every turn lasts until `log` has grown by `lines` lines: the turn (and the guard's snapshot and restore around it) overlaps the writes for sure. */
function agentWhileGrowing(plan: Edit[], log: string, lines: number): Agent {
  const inner = new PlannedAgent(plan);
  return {
    name: inner.name,
    propose: async (ctx, signal, onActivity) => {
      const from = linesIn(log);
      while (linesIn(log) < from + lines) await new Promise((r) => setTimeout(r, 20));
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
      const { result, events } = await run(dir, agentWhileGrowing([{ value: 0.9, description: 'a' }, { value: 0.95, description: 'b' }], log, 10), 2);
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
  });
});

/**
 * A trainer that measures `value` fine, then (as the run ends) makes results.tsv unwritable: it is
 * moved aside and a directory takes its place. Works as root, where a read-only file would not.
 */
const SABOTEUR = (value: number) => `${STAND_IN_TRAINER(value)}
root = os.getcwd().split("/.autoresearch/")[0]  # runs happen in a worktree under .autoresearch/
os.rename(os.path.join(root, "results.tsv"), os.path.join(root, "results.tsv.aside"))
os.mkdir(os.path.join(root, "results.tsv"))
`;

/** The commit of the experiment left in flight: its state file says, as it does for the next start. */
const inFlightCommit = (dir: string, n: number) =>
  (JSON.parse(fs.readFileSync(path.join(dir, `.autoresearch/test/inflight/${String(n).padStart(4, '0')}.json`), 'utf8')) as { commit: string }).commit.slice(0, 7);

/** An agent that writes the given train.py sources, one per experiment. */
function sourcesAgent(sources: string[]): Agent {
  return {
    name: 'sources',
    propose: async (ctx) => {
      const src = sources.shift();
      if (src === undefined) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
      fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), src);
      return { kind: 'submitted', description: `value ${/VALUE = ([\d.]+)/.exec(src)?.[1]}`, usage: { ...ZERO_USAGE, inputTokens: 7, costUsd: 0.02 } };
    },
  };
}

function putResultsBack(dir: string): void {
  fs.rmdirSync(path.join(dir, 'results.tsv'));
  fs.renameSync(path.join(dir, 'results.tsv.aside'), path.join(dir, 'results.tsv'));
}

describe('a measured result whose row cannot be written', () => {
  it('is written on the next start with its real measurement; a keep stays the branch head', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    await expect(run(dir, sourcesAgent([SABOTEUR(0.9)]), 1)).rejects.toThrow(/results\.tsv/);
    const head = inFlightCommit(dir, 1);
    putResultsBack(dir);
    const { result, events, rows } = await run(dir, sourcesAgent([STAND_IN_TRAINER(0.8)]), 1);
    expect(result.exitCode).toBe(0);
    expect(rows.map((r) => [r.commit === head, r.status, r.value, r.description])).toEqual([
      [false, 'keep', 1, 'baseline'],
      [true, 'keep', 0.9, 'value 0.9'],
      [false, 'keep', 0.8, 'value 0.8'],
    ]);
    expect(rows[1]!.memoryGb).toBeCloseTo(44.0, 1);
    expect(rows[1]!.usage.inputTokens).toBe(7);
    const recovered = events.find((e) => e.type === 'recovered');
    expect(recovered?.type === 'recovered' && recovered.message).toMatch(/experiment 1 \(\w{7}\) was measured before the stop: its row is written now/);
    expect(git(dir, 'log', '--format=%s', '-3')).toBe('value 0.8\nvalue 0.9\ninitial');
    expect(fs.readdirSync(path.join(dir, '.autoresearch/test/logs')).some((f) => f.startsWith(`0001-${head}`))).toBe(true);
  });

  it('a discard is written as measured and reset away', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    const start = git(dir, 'rev-parse', '--short=7', 'HEAD');
    await expect(run(dir, sourcesAgent([SABOTEUR(1.5)]), 1)).rejects.toThrow(/results\.tsv/);
    const lost = inFlightCommit(dir, 1);
    putResultsBack(dir);
    const { result, rows } = await run(dir, sourcesAgent([]), 0);
    expect(result.exitCode).toBe(0);
    expect(rows.map((r) => [r.status, r.value, r.description])).toEqual([
      ['keep', 1, 'baseline'],
      ['discard', 1.5, 'value 1.5'],
    ]);
    expect(rows[1]!.commit).toBe(lost);
    expect(git(dir, 'rev-parse', '--short=7', 'HEAD')).toBe(start);
    expect(git(dir, 'rev-parse', '--short=7', `refs/autoresearch/test/discarded/${lost}`)).toBe(lost);
  });
});

describe('a row torn by a crash mid-write', () => {
  it('is reported on start and its bytes saved beside results.tsv before the file is trimmed', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    expect((await run(dir, new PlannedAgent([{ value: 0.9, description: 'a' }]), 1)).result.exitCode).toBe(0);
    const file = path.join(dir, 'results.tsv');
    const whole = fs.readFileSync(file);
    fs.appendFileSync(file, 'abc1234\t0.950000\t44.0\tdisc');
    const { result, events, rows } = await run(dir, new PlannedAgent([]), 0);
    expect(result.exitCode).toBe(0);
    const recovered = events.filter((e) => e.type === 'recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.type === 'recovered' && recovered[0].message).toMatch(/results\.tsv ended in a torn row \(26 bytes.*saved to .*results\.tsv\.torn-/);
    expect(fs.readFileSync(file).equals(whole)).toBe(true);
    const saved = fs.readdirSync(dir).filter((f) => f.startsWith('results.tsv.torn-'));
    expect(saved).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, saved[0]!), 'utf8')).toBe('abc1234\t0.950000\t44.0\tdisc');
    expect(rows.map((r) => r.description)).toEqual(['baseline', 'a']);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all')).toBe(''); // the saved tail is ours: excluded like results.tsv
  });
});

describe('a run that prints without end', () => {
  it('has only the head and tail of its log kept, with a line saying where and how much was cut', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    const chatty = STAND_IN_TRAINER(0.9).replace('print("---")', 'for i in range(200000):\n    print(f"step {i:06d} " + "x" * 30)\nprint("---")');
    const { result, rows } = await run(dir, sourcesAgent([chatty]), 1);
    expect(result.exitCode).toBe(0);
    expect(rows.map((r) => [r.status, r.value])).toEqual([['keep', 1], ['keep', 0.9]]);
    const runLog = fs.statSync(path.join(dir, 'run.log')).size;
    expect(runLog).toBeGreaterThan(8_000_000);
    const logs = path.join(dir, '.autoresearch/test/logs');
    const kept = fs.readdirSync(logs).find((f) => f.startsWith(`0001-${rows[1]!.commit}`))!;
    const text = fs.readFileSync(path.join(logs, kept), 'utf8');
    expect(Buffer.byteLength(text)).toBeLessThan(5 * 1024 * 1024 + 200);
    expect(text.startsWith('step 00001 | loss 3.2100\nstep 000000 ')).toBe(true);
    const note = /^\[autoresearch: (\d+) bytes of this log were cut here; the run printed (\d+) bytes.*\n/m.exec(text);
    expect(Number(note?.[2])).toBe(runLog);
    expect(Number(note?.[1])).toBe(runLog - (Buffer.byteLength(text) - Buffer.byteLength(note![0])));
    expect(text).toMatch(/val_bpb:\s+0\.900000\n[\s\S]*env_key_seen:\s+no\n$/);
  });
});
