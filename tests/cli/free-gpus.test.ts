// Every free GPU (issue 19), through the built command as a user runs it: `--gpus 0,1,2
// --baseline-runs 3` trains the three baseline runs at once, one per GPU. The stand-in trainer
// records each run's seed, GPU and pid, then waits at a gate of its own (a file named after its
// seed) that the test opens: the test opens the baseline's gates only once all three runs wait at
// them, so runs trained one after another could never pass. Then a kill -9 in the middle of the
// baseline (one run measured, two still training) and the same command again: the orphans are
// stopped, the measured run is kept, and the two runs still wanted get new seeds.
//
// Needs `npm run build` first (npm test does it): it runs dist/cli.js.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { say, startFakeApi, turn, type FakeApi } from '../../src/fakeapi/index.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { readExperimentState } from '../../src/ledger/state.js';
import { drillWorkspace, running } from '../helpers/drill.js';
import { GATED_TRAINER, gatedRuns, isWaiting, openGate, removeGates } from '../helpers/seed-gates.js';

const CLI = path.resolve('dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('Build first: npm run build (npm test does it).');
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('OPENAI_')));

const TAG = 'free';
/** How long a test waits for something the program must do before it calls it a failure. */
const PATIENCE_MS = 60_000;

/** Seed-dependent values, so the baseline's runs differ (a noise estimate) and each run's seed is visible in its value. */
const TRAINER = GATED_TRAINER('1.0 + 0.001 * seed');

async function until(what: string, ok: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`waited ${PATIENCE_MS / 1000} s for ${what}; the command printed:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The built command, with `--max-experiments 0`: the baseline is the whole night. */
function startCli(api: FakeApi, dir: string): { child: ChildProcess; exited: Promise<number | string | null>; output: () => string } {
  const args = ['--tag', TAG, '--gpus', '0,1,2', '--baseline-runs', '3', '--max-experiments', '0', '--run-cmd', 'python3 train.py', '--no-tui', '--sandbox', 'off'];
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...clean, ANTHROPIC_API_KEY: 'sk-ant-test-free', ANTHROPIC_BASE_URL: api.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | string | null>((resolve) => child.on('close', (code, signal) => resolve(signal ?? code)));
  return { child, exited, output: () => out };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) {
    removeGates(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

describe('autoresearch --gpus 0,1,2 --baseline-runs 3', () => {
  it('trains the three baseline runs at once, one per GPU; after a kill -9 in the middle, the restart goes on with new seeds only', async () => {
    // The baseline asks the model nothing; a model that is asked anyway answers, and the test sees it.
    const api = await startFakeApi(() => turn(say('nothing to do')));
    try {
      const dir = drillWorkspace('autoresearch-free-gpus-', TRAINER, dirs);
      const first = startCli(api, dir);
      // All three wait at their gates at the same time: they train at once.
      await until('the three baseline runs to wait at their gates together', () => [1, 2, 3].every((s) => isWaiting(dir, s)), first.output);
      expect(gatedRuns(dir).map((r) => [r.seed, r.gpu]).sort()).toEqual([
        [1, '0'],
        [2, '1'],
        [3, '2'],
      ]);
      // One finishes and is measured; then the command is killed while the other two still train.
      openGate(dir, 1);
      await until('the first run to be measured', () => (readExperimentState(dir, TAG, 0)?.values ?? []).length === 1, first.output);
      // Every run aside is on record before the kill, so the restart can find it.
      expect(
        readExperimentState(dir, TAG, 0)
          ?.aside?.map((a) => a.run)
          .sort(),
      ).toEqual([1, 2]);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      const orphans = gatedRuns(dir).filter((r) => r.seed !== 1);
      expect(orphans.every((r) => running(r.pid))).toBe(true);

      // The same command again: the orphans are stopped, the measured run kept, two new runs at once.
      for (const seed of [4, 5]) openGate(dir, seed);
      const second = startCli(api, dir);
      const code = await second.exited;
      expect(code, second.output()).toBe(0);
      expect(second.output()).toContain('stopped the orphaned training run of experiment 0');
      expect(second.output()).toContain('the baseline was stopped after 1 measured run');
      expect(orphans.filter((r) => running(r.pid))).toEqual([]);

      const runs = gatedRuns(dir);
      const seeds = runs.map((r) => r.seed);
      expect(new Set(seeds).size).toBe(seeds.length); // no seed twice
      expect(seeds.sort()).toEqual([1, 2, 3, 4, 5]);
      expect(
        runs
          .filter((r) => r.seed >= 4)
          .map((r) => r.gpu)
          .sort(),
      ).toEqual(['0', '1']); // the two runs still wanted, at once on two GPUs
      const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ description: 'baseline', status: 'keep' });
      expect([...rows[0]!.values!].sort()).toEqual([1.001, 1.004, 1.005]);
      expect(rows[0]!.value).toBeCloseTo((1.001 + 1.004 + 1.005) / 3, 6);
      // No worktree of a run aside is left behind.
      expect(fs.readdirSync(path.join(dir, '.autoresearch', TAG, 'worktrees'))).toEqual([]);
      expect(api.requests).toHaveLength(0);
    } finally {
      await api.close();
    }
  }, 240_000);
});
