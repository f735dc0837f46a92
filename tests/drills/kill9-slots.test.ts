// Drill: kill -9 while three slots are busy (issue 11). As tests/drills/kill9.test.ts, but the loop
// in its own process (tests/fixtures/drill-driver.mjs) runs --gpus 0,1,2 with --lookahead 1: up
// to six experiments in flight, each in its own worktree with its own state file, three training
// at once. Every experiment changes only its own line of train.py (knobTrainer), so drafts made on
// an older best are cherry-picked onto the new one and winners are trained again: the kill lands
// in those states too. A seeded PRNG picks each round's moment; SIGKILL goes to the loop's process
// alone (the runs, in their own process groups, live on). After every kill a restart in this
// process recovers, and the drill checks the ledger, the refs, the branch, the worktrees, the state
// files and the processes. The trainer records its CUDA_VISIBLE_DEVICES: three different ones must
// have trained at the same moment.
//
// Needs `npm run build` first (the driver imports dist/). Reproduce a failure with DRILL_SEED=<seed>.
//
// It found two engine races, both fixed (their own tests: tests/git/guard-race.test.ts, a guard
// undoing the engine's concurrent ref writes; tests/git/worktree-race.test.ts, concurrent
// `git worktree add` dying).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile, rowsOfTag } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineEvent, type ResultRow } from '../../src/engine/types.js';
import { knobTrainer } from '../fixtures/drill-trainer.mjs';
import { drillWorkspace, git, prng, trainerPids } from '../helpers/drill.js';
import { pidFile } from '../helpers/workspace.js';

const DRIVER = path.resolve('tests/fixtures/drill-driver.mjs');
if (!fs.existsSync(path.resolve('dist/engine/loop.js'))) throw new Error('Build first: npm run build (npm test does it).');

const SEED = Number(process.env['DRILL_SEED'] ?? 20261126);
const ROUNDS = 8;
const THINK_MS = 250;
const TRAIN_SEC = 1;
const GPUS = ['0', '1', '2'];
const TAG = 'drill';

interface DriverEvent {
  type: EngineEvent['type'];
  phase?: string;
  experiment?: number;
  commit?: string;
  slot?: string;
}

/** Follows the driver's events: which experiments are training, on which slot. */
class Slots {
  private readonly phaseOf = new Map<number, { phase: string; slot?: string }>();
  see(e: DriverEvent): void {
    if (e.experiment === undefined) return;
    if (e.type === 'phase' && e.phase) this.phaseOf.set(e.experiment, { phase: e.phase, ...(e.slot !== undefined ? { slot: e.slot } : {}) });
    if (e.type === 'result' || e.type === 'skipped') this.phaseOf.delete(e.experiment);
  }
  training(): number {
    return new Set([...this.phaseOf.values()].filter((p) => p.phase === 'training' && p.slot !== undefined).map((p) => p.slot)).size;
  }
}

type Moment = 'three training' | 'agent editing' | 'committing' | 'moving onto the best' | 'writing results';

/** The event that opens each kind of moment (given what the slots are doing), and how long it lasts. */
const MOMENTS: Record<Moment, { opens: (e: DriverEvent, slots: Slots) => boolean; withinMs: number }> = {
  'three training': { opens: (e, s) => e.type === 'phase' && e.phase === 'training' && s.training() === 3, withinMs: TRAIN_SEC * 1000 },
  'agent editing': { opens: (e) => e.type === 'agent', withinMs: THINK_MS },
  committing: { opens: (e) => e.type === 'phase' && e.phase === 'committing', withinMs: 120 },
  // The moved ref, the reset and the cherry-pick in the worktree, the state file's new commit.
  'moving onto the best': { opens: (e) => e.type === 'phase' && e.phase === 'rebasing', withinMs: 120 },
  // The row, the log, the branch moved or the discarded ref made, the state file removed.
  'writing results': { opens: (e) => e.type === 'phase' && e.phase === 'deciding', withinMs: 25 },
};
const ORDER = Object.keys(MOMENTS) as Moment[];

const dirs: string[] = [];
afterAll(() => {
  if (process.env['DRILL_KEEP']) return console.log(`kept: ${dirs.join(' ')}`);
  for (const d of dirs) {
    for (const f of ['drill-pids', 'drill-gpus']) fs.rmSync(pidFile(d, f), { force: true });
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function workspace(): string {
  return drillWorkspace('autoresearch-drill-slots-', knobTrainer(TRAIN_SEC, 'initial'), dirs);
}

/** The runs that ended on their own: [GPU, start, end] from the trainer's start and end lines. */
function gpuSpans(dir: string): { gpu: string; start: number; end: number }[] {
  const file = pidFile(dir, 'drill-gpus');
  if (!fs.existsSync(file)) return [];
  const starts = new Map<string, number>();
  const spans: { gpu: string; start: number; end: number }[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [kind, pid, ns, gpu, at] = line.split(' ');
    const key = `${pid} ${ns}`;
    if (kind === 'start') starts.set(key, Number(at));
    else if (starts.has(key)) spans.push({ gpu: gpu!, start: starts.get(key)!, end: Number(at) });
  }
  return spans;
}

/** The most different GPUs training at one moment, over the runs that ended on their own. */
function mostGpusAtOnce(spans: { gpu: string; start: number; end: number }[]): number {
  let most = 0;
  for (const s of spans) most = Math.max(most, new Set(spans.filter((o) => o.start <= s.start && o.end > s.start).map((o) => o.gpu)).size);
  return most;
}

const rowsOf = (dir: string): ResultRow[] => rowsOfTag(readResultsFile(path.join(dir, 'results.tsv')).rows, TAG);
const refsUnder = (dir: string, kind: string): string[] =>
  git(dir, 'for-each-ref', '--format=%(refname:lstrip=4)', `refs/autoresearch/${TAG}/${kind}/`).split('\n').filter(Boolean);
function stateFiles(dir: string): string[] {
  const folder = path.join(dir, '.autoresearch', TAG, 'inflight');
  return fs.existsSync(folder) ? fs.readdirSync(folder) : [];
}

/** Start the driver; kill it `delayMs` after `target` has been seen `nth` times. `exit` is the signal, or the code if it ended first. */
async function runAndKill(
  dir: string,
  plan: object,
  target: (e: DriverEvent, slots: Slots) => boolean,
  nth: number,
  delayMs: number,
): Promise<{ events: DriverEvent[]; exit: number | string | null; stderr: string }> {
  const planFile = path.join(dir, '.git', 'drill-plan.json');
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: DriverEvent[] = [];
  const slots = new Slots();
  let stderr = '';
  let buffered = '';
  let seen = 0;
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const fired = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const e = JSON.parse(buffered.slice(0, nl)) as DriverEvent;
        buffered = buffered.slice(nl + 1);
        events.push(e);
        slots.see(e);
        if (target(e, slots) && ++seen === nth) setTimeout(resolve, delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  });
  await Promise.race([fired, exited]);
  child.kill('SIGKILL');
  return { events, exit: await exited, stderr };
}

/** The restart: the loop in this process, asked for no new experiment, so it only recovers. */
async function restart(dir: string): Promise<{ exitCode: number; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const noAgent: Agent = { name: 'none', propose: async () => ({ kind: 'skipped', reason: 'not asked', usage: ZERO_USAGE }) };
  const result = await runLoop(
    makeEngineConfig(dir, TAG, { runCmd: 'python3 train.py', timeoutSec: 60, fixAttempts: 0, maxExperiments: 0, lookahead: 0 }),
    noAgent,
    { onEvent: (e) => events.push(e), signal: new AbortController().signal },
  );
  return { exitCode: result.exitCode, events };
}

/** Everything that must hold once the loop is not running; `where` names the round for the messages. */
function checkInvariants(dir: string, initial: string, earlier: ResultRow[], announced: Set<string>, where: string): ResultRow[] {
  expect(stateFiles(dir), `${where}: state files left`).toEqual([]);
  expect(git(dir, 'worktree', 'list', '--porcelain').match(/^worktree /gm), `${where}: worktrees left`).toHaveLength(1);

  // No lost row: results.tsv only grows, and every experiment commit a killed loop announced has a
  // row, or was superseded (moved onto a newer best, the moved commit carrying the row) and kept under moved/.
  const rows = rowsOf(dir);
  expect(rows.slice(0, earlier.length), `${where}: earlier rows changed or vanished`).toEqual(earlier);
  const logged = new Set(rows.map((r) => r.commit));
  const moved = new Set(refsUnder(dir, 'moved'));
  for (const c of announced) expect(logged.has(c.slice(0, 7)) || moved.has(c.slice(0, 7)), `${where}: commit ${c} was made but has no row and was not moved`).toBe(true);
  for (const r of rows) expect(git(dir, 'cat-file', '-t', r.commit), where).toBe('commit');

  // No duplicate row: one row per commit.
  expect(new Set(rows.map((r) => r.commit)).size, `${where}: duplicate rows`).toBe(rows.length);

  // Every discarded ref has its row, and every discard or crash row its ref.
  const discarded = refsUnder(dir, 'discarded');
  for (const ref of discarded) expect(logged.has(ref), `${where}: discarded/${ref} has no row`).toBe(true);
  const notKept = rows.slice(1).filter((r) => r.status !== 'keep').map((r) => r.commit);
  // Every experiment's row names the GPU it had, a row written by the restart included (from the state file).
  for (const r of rows.slice(1)) expect(GPUS, `${where}: row ${r.commit} (${r.description}) has no slot`).toContain(r.slot);
  expect(new Set(discarded), `${where}: discard/crash rows without a discarded ref`).toEqual(new Set(notKept));

  // The branch holds exactly the kept commits, each better than the one before, and HEAD is the best, with a clean tree.
  const keeps = rows.filter((r) => r.status === 'keep');
  for (let i = 1; i < keeps.length; i++) expect(keeps[i]!.value, `${where}: keep ${keeps[i]!.commit} is not better than the one before`).toBeLessThan(keeps[i - 1]!.value);
  expect(git(dir, 'symbolic-ref', '--short', 'HEAD'), where).toBe(`autoresearch/${TAG}`);
  expect(git(dir, 'rev-parse', '--short=7', 'HEAD'), `${where}: HEAD is not the best`).toBe(keeps.at(-1)?.commit);
  expect(git(dir, 'status', '--porcelain', '--untracked-files=no'), where).toBe('');
  const branch = git(dir, 'rev-list', '--reverse', `${initial}..HEAD`).split('\n').filter(Boolean).map((c) => c.slice(0, 7));
  expect(branch, `${where}: the branch is not the kept commits`).toEqual(keeps.slice(1).map((r) => r.commit));

  // No process left: every trainer and every worker it started is gone.
  expect(trainerPids(dir), `${where}: processes still running`).toEqual([]);
  return rows;
}


describe('kill -9 drill with three slots', () => {
  it(`survives ${ROUNDS} kills while three slots are busy (seed ${SEED}): every restart recovers, no lost or duplicate row, the branch is the kept commits, no worktree, state file or process left`, async () => {
    const random = prng(SEED);
    const dir = workspace();
    const initial = git(dir, 'rev-parse', 'HEAD');
    let ledger: ResultRow[] = [];
    const announced = new Set<string>();
    const log: string[] = [];
    let killed = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const moment = ORDER[round % ORDER.length]!;
      const nth = 1 + Math.floor(random() * 3);
      const delayMs = Math.floor(random() * MOMENTS[moment].withinMs);
      // About one change in two gains (a kept winner moves the best under the others), the rest lose.
      const values = Array.from({ length: 18 }, () => (random() < 0.5 ? 0.01 : -1));
      const plan = { round, maxExperiments: 18, thinkMs: THINK_MS, trainSec: TRAIN_SEC, values, lookahead: 1, gpus: GPUS, knobs: true };

      const { events, exit, stderr } = await runAndKill(dir, plan, MOMENTS[moment].opens, nth, delayMs);
      const where = `round ${round} (${moment} #${nth} +${delayMs} ms, seed ${SEED})`;
      // The driver may end on its own only when the moment never came (all its experiments done: exit 0).
      if (exit !== 'SIGKILL') expect([exit, stderr], `${where}: the driver ended on its own before the kill`).toEqual([0, '']);
      for (const e of events) if (e.type === 'committed' && e.commit) announced.add(e.commit);
      const left = stateFiles(dir).length;

      const recovery = await restart(dir);
      const recovered = recovery.events.find((e): e is Extract<EngineEvent, { type: 'recovered' }> => e.type === 'recovered');
      const phases = events.filter((e) => e.type === 'phase');
      log.push(
        `round ${round}: ${moment} #${nth} +${delayMs} ms${exit === 'SIGKILL' ? '' : exit === 0 ? ' | not killed: the moment never came' : ` | ENDED ON ITS OWN (${exit})`} | ` +
          `${phases.filter((e) => e.phase === 'training').length} runs started, ${phases.filter((e) => e.phase === 'rebasing').length} moved, ` +
          `${phases.filter((e) => e.phase === 'training' && e.experiment !== undefined).length - new Set(phases.filter((e) => e.phase === 'training').map((e) => e.experiment)).size} re-runs | ` +
          `${left} state files left | ${recovered?.message ?? 'nothing to recover'}`,
      );

      expect(recovery.exitCode, where).toBe(0);
      expect(recovery.events.some((e) => e.type === 'started'), where).toBe(true);
      if (left > 0) expect(recovered, `${where}: state files were left, so the restart must report a recovery`).toBeDefined();
      ledger = checkInvariants(dir, initial, ledger, announced, `${where} [${recovered?.message ?? 'nothing to recover'}]`);
      if (exit === 'SIGKILL') killed++;
    }

    // Three slots trained at once, each with its own GPU: seen by the runs themselves.
    const spans = gpuSpans(dir);
    expect(new Set(spans.map((s) => s.gpu)), 'CUDA_VISIBLE_DEVICES seen by the runs').toEqual(new Set(GPUS));
    expect(mostGpusAtOnce(spans), 'different GPUs training at one moment').toBe(3);
    expect(killed, 'rounds that ended in a kill').toBeGreaterThan(ROUNDS / 2);

    // The loop carries on after the last recovery: three more experiments (one gain, two losses) run to the end.
    const before = rowsOf(dir).length;
    const planFile = path.join(dir, '.git', 'drill-plan.json');
    fs.writeFileSync(planFile, JSON.stringify({ round: ROUNDS, maxExperiments: 3, thinkMs: 0, trainSec: TRAIN_SEC, values: [0.01, -1, -1], lookahead: 1, gpus: GPUS, knobs: true }));
    let stderr = '';
    const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect([code, stderr], 'the last run').toEqual([0, '']);
    expect(rowsOf(dir).slice(before).map((r) => r.status).sort()).toEqual(['discard', 'discard', 'keep']);
    checkInvariants(dir, initial, ledger, announced, 'the last run');

    const rows = rowsOf(dir);
    console.log(
      `kill -9 drill with 3 slots, seed ${SEED}:\n${log.join('\n')}\n` +
        `rows: ${rows.map((r) => r.status[0]).join('')}; moved refs: ${refsUnder(dir, 'moved').length}; most GPUs training at once: ${mostGpusAtOnce(spans)}`,
    );
  }, 300_000);
});
