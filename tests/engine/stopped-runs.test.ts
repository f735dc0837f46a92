// Runs that do not finish, through the real loop. A baseline stopped part way (Ctrl+C, kill -9, a
// crash) and started again: no seed is handed out twice in a tag, and the runs already measured
// are kept, not run again. A confirmation run that crashes or is killed: the experiment is a crash,
// and its row still holds the runs measured before.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineEvent } from '../../src/engine/types.js';
import { git, makeWorkspace, PID_FILE_PY, pidFile } from '../helpers/workspace.js';

const DRIVER = path.resolve('tests/fixtures/drive-loop.mjs');

/**
 * val_bpb from the seed; writes "seed value" to seeds.log as it starts. The run whose line is the
 * n-th in seeds.log hangs when the file `hold` says n (writing n to `held` first, for the test to
 * wait on), and crashes when `crash` says n.
 */
const TRAINER = `# seed-recording stand-in trainer
import hashlib, os, random, sys, tempfile, time
OFFSET = 0
seed = int(os.environ["AUTORESEARCH_SEED"])
value = 1.0 + OFFSET + random.Random(seed).gauss(0, 0.005)
log = ${PID_FILE_PY('seeds.log')}
with open(log, "a") as f:
    f.write(f"{seed} {value:.6f}\\n")
nth = len(open(log).read().split("\\n")) - 1
def said(name):
    p = ${PID_FILE_PY('')} + name
    return os.path.exists(p) and int(open(p).read()) == nth
if said("hold"):
    held = ${PID_FILE_PY('held')}
    with open(held + ".tmp", "w") as f:
        f.write(str(nth))
    os.replace(held + ".tmp", held)
    time.sleep(60)
if said("crash"):
    sys.exit(1)
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

function workspace(): string {
  const dir = makeWorkspace();
  fs.writeFileSync(path.join(dir, 'train.py'), TRAINER);
  git(dir, 'commit', '-qam', 'seed-recording trainer');
  return dir;
}

/** Every run's seed and value, in the order the runs started. */
function seeds(dir: string): { seed: number; value: number }[] {
  const file = pidFile(dir, 'seeds.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => {
    const [seed, value] = l.split(' ');
    return { seed: Number(seed), value: Number(value) };
  });
}

function flag(dir: string, name: 'hold' | 'crash', nth: number | null): void {
  if (nth === null) fs.rmSync(pidFile(dir, name), { force: true });
  else fs.writeFileSync(pidFile(dir, name), String(nth));
}

/** Polls `what`: a barrier on what the runs did, with a deadline only to report a hang. */
async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const noAgent: Agent = { name: 'none', propose: async () => ({ kind: 'skipped', reason: 'not asked', usage: ZERO_USAGE }) };

/** A train.py 10σ better than the baseline: its first run is better, so it gets confirmation runs. */
const better = (dir: string) => fs.readFileSync(path.join(dir, 'train.py'), 'utf8').replace('OFFSET = 0', 'OFFSET = -0.05');

/** One experiment: the better train.py. */
const betterAgent = (dir: string): Agent => {
  let asked = false;
  return {
    name: 'better',
    async propose(ctx) {
      if (asked) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
      asked = true;
      fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), better(dir));
      return { kind: 'submitted', description: 'ten sigma better', usage: ZERO_USAGE };
    },
  };
};

async function loop(dir: string, tag: string, signal = new AbortController().signal, agent: Agent = noAgent, maxExperiments = 0) {
  const events: EngineEvent[] = [];
  const config = makeEngineConfig(dir, tag, { runCmd: 'python3 train.py', timeoutSec: 90, fixAttempts: 0, lookahead: 0, maxExperiments });
  const result = await runLoop(config, agent, { onEvent: (e) => events.push(e), signal });
  return { result, events, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
}

/** Run `n` is hanging: it has written its seed and said so in `held` (the flag `hold` made it hang). */
const holding = (dir: string, n: number) => () => fs.existsSync(pidFile(dir, 'held')) && fs.readFileSync(pidFile(dir, 'held'), 'utf8') === String(n);

/** Drive the loop in a child process with `plan` (tests/fixtures/drive-loop.mjs), and kill -9 it while run `n` hangs (flag 'hold' set to n); its signal. */
async function killDuringRun(dir: string, plan: object, n: number): Promise<unknown> {
  const planFile = path.join(dir, '.git', 'plan.json');
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await until(holding(dir, n));
  child.kill('SIGKILL');
  return exited;
}

describe('a baseline stopped part way', () => {
  it('Ctrl+C during run 2: no row; the restart keeps run 1 and goes on with new seeds', async () => {
    const dir = workspace();
    flag(dir, 'hold', 2);
    const stop = new AbortController();
    const first = loop(dir, 'drill', stop.signal);
    await until(holding(dir, 2));
    stop.abort('SIGINT');
    const stopped = await first;
    expect(stopped.result).toEqual({ exitCode: 130, reason: 'interrupted during the baseline' });
    expect(stopped.rows).toEqual([]); // nothing decided yet: the state file holds run 1

    flag(dir, 'hold', null);
    const { result, rows, events } = await loop(dir, 'drill');
    expect(result.exitCode).toBe(0);
    const runs = seeds(dir);
    expect(runs.map((r) => r.seed)).toEqual([1, 2, 3, 4]); // run 2's seed is not used again
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('keep');
    expect(rows[0]!.values).toEqual([runs[0]!.value, runs[2]!.value, runs[3]!.value]); // run 1 kept, run 2 lost with the stop
    const recovered = events.find((e) => e.type === 'recovered');
    expect(recovered && 'message' in recovered ? recovered.message : '').toMatch(/baseline was stopped after 1 measured run: it goes on from it/);
    expect(fs.readdirSync(path.join(dir, '.autoresearch/drill/inflight'))).toEqual([]);
  });

  it('kill -9 during run 2: the restart stops the orphaned run, keeps run 1 and goes on with new seeds', async () => {
    const dir = workspace();
    flag(dir, 'hold', 2);
    expect(await killDuringRun(dir, { maxExperiments: 0, edits: [] }, 2)).toBe('SIGKILL');

    flag(dir, 'hold', null);
    const { result, rows } = await loop(dir, 'drill');
    expect(result.exitCode).toBe(0);
    const runs = seeds(dir);
    expect(runs.map((r) => r.seed)).toEqual([1, 2, 3, 4]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.values).toEqual([runs[0]!.value, runs[2]!.value, runs[3]!.value]);
  });

  it('a crash in run 2: the row counts both runs and keeps run 1; the next attempt starts past their seeds', async () => {
    const dir = workspace();
    flag(dir, 'crash', 2);
    const crashed = await loop(dir, 'drill');
    expect(crashed.result.exitCode).toBe(1);
    const before = seeds(dir);
    expect(crashed.rows).toHaveLength(1);
    expect(crashed.rows[0]).toMatchObject({ status: 'crash', runs: 2, values: [before[0]!.value] });

    flag(dir, 'crash', null);
    const { result, rows } = await loop(dir, 'drill');
    expect(result.exitCode).toBe(0);
    // A crashed baseline is measured afresh (its code may have been fixed), but with new seeds.
    expect(seeds(dir).map((r) => r.seed)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.map((r) => r.status)).toEqual(['crash', 'keep']);
    expect(rows[1]!.values).toHaveLength(3);
  });
});

describe('a confirmation run that does not finish', () => {
  it('a crash in run 2 makes the experiment a crash with its reason; the row keeps run 1 (runs 2, values [run 1])', async () => {
    const dir = workspace();
    flag(dir, 'crash', 5); // the baseline's three runs, the experiment's first, then its first confirmation run
    const { result, rows } = await loop(dir, 'drill', undefined, betterAgent(dir), 1);
    expect(result.exitCode).toBe(0);
    const runs = seeds(dir);
    expect(runs).toHaveLength(5);
    expect(rows[1]).toMatchObject({ status: 'crash', description: 'ten sigma better (exit 1)', runs: 2, values: [runs[3]!.value] });
    // results --json says the same.
    const out = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'results', '--json', '--tag', 'drill'], { cwd: dir, encoding: 'utf8' });
    const json = JSON.parse(out.stdout) as { rows: { runs: number; values: number[] }[] };
    expect(json.rows[1]).toMatchObject({ runs: 2, values: [runs[3]!.value] });
  });

  it('kill -9 during run 2: the restart logs it as an interrupted crash that keeps run 1', async () => {
    const dir = workspace();
    flag(dir, 'hold', 5);
    expect(await killDuringRun(dir, { maxExperiments: 1, edits: [{ content: better(dir), description: 'ten sigma better' }] }, 5)).toBe('SIGKILL');

    flag(dir, 'hold', null);
    const { result, rows } = await loop(dir, 'drill');
    expect(result.exitCode).toBe(0);
    const runs = seeds(dir);
    expect(runs).toHaveLength(5); // the restart trains nothing: the baseline is done, no experiment asked for
    expect(rows[1]).toMatchObject({ status: 'crash', description: 'ten sigma better (interrupted)', runs: 2, values: [runs[3]!.value] });
  });
});
