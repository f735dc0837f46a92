// Drill: kill -9 at 10 random moments across the loop. The loop runs in its own process (the
// compiled engine, tests/fixtures/drill-driver.mjs) and prints every event; a seeded PRNG picks,
// for each round, which kind of moment (the agent editing, git committing, the run training, the
// result being written and the tree reset), which occurrence of it, and how many milliseconds
// after it to send SIGKILL to the loop's process alone (as the OOM killer or a power cut of the
// terminal would: the training run, in its own process group, lives on). After every kill a
// restart in this process recovers, and the drill checks the ledger, the branch, the tree and the
// processes.
//
// Needs `npm run build` first (the driver imports dist/). Reproduce a failure with DRILL_SEED=<seed>.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile, rowsOfTag } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineEvent, type ResultRow } from '../../src/engine/types.js';
import { trainer } from '../fixtures/drill-trainer.mjs';
import { drillWorkspace, git, prng, trainerPids } from '../helpers/drill.js';

const DRIVER = path.resolve('tests/fixtures/drill-driver.mjs');
if (!fs.existsSync(path.resolve('dist/engine/loop.js'))) throw new Error('Build first: npm run build (npm test does it).');

const SEED = Number(process.env['DRILL_SEED'] ?? 20261126);
const ROUNDS = 10;
const THINK_MS = 150;
const TRAIN_SEC = 0.3;
const TAG = 'drill';

interface DriverEvent {
  type: EngineEvent['type'];
  phase?: string;
  experiment?: number;
  commit?: string;
}

type Moment = 'agent editing' | 'committing' | 'training' | 'writing results';

/** The event that opens each kind of moment, and how long the moment lasts (the random delay's range). */
const MOMENTS: Record<Moment, { opens: (e: DriverEvent) => boolean; withinMs: number }> = {
  // The agent has written train.py and "thinks" for THINK_MS before it submits.
  'agent editing': { opens: (e) => e.type === 'agent', withinMs: THINK_MS },
  // `git add`, `git commit` and `git rev-parse` run next (each a process: tens of ms on 2 busy
  // cores), then inflight.json is rewritten with the commit: the window spans all of them.
  committing: { opens: (e) => e.type === 'phase' && e.phase === 'committing', withinMs: 120 },
  // The run starts; the trainer sleeps TRAIN_SEC once python is up.
  training: { opens: (e) => e.type === 'phase' && e.phase === 'training', withinMs: TRAIN_SEC * 1000 },
  // The row is appended, the log copied, the discarded ref made, the tree reset, inflight.json removed.
  // A narrow window (the next experiment starts right after): small delays.
  'writing results': { opens: (e) => e.type === 'phase' && e.phase === 'deciding', withinMs: 15 },
};
const ORDER = Object.keys(MOMENTS) as Moment[];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function workspace(): string {
  return drillWorkspace('autoresearch-drill-', trainer(1.0, TRAIN_SEC, 'initial'), dirs);
}

const rowsOf = (dir: string): ResultRow[] => rowsOfTag(readResultsFile(path.join(dir, 'results.tsv')).rows, TAG);
/** The state files of the experiments a killed run left in flight (one per experiment). */
function inFlightStates(dir: string): { phase: string; commit: string | null }[] {
  const folder = path.join(dir, '.autoresearch', TAG, 'inflight');
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder).map((f) => JSON.parse(fs.readFileSync(path.join(folder, f), 'utf8')) as { phase: string; commit: string | null });
}

/** Start the driver; resolve once `target` has been seen `nth` times, kill it `delayMs` later. */
async function runAndKill(dir: string, plan: object, target: (e: DriverEvent) => boolean, nth: number, delayMs: number): Promise<{ events: DriverEvent[]; exit: number | string | null }> {
  const planFile = path.join(dir, '.git', 'drill-plan.json');
  fs.writeFileSync(planFile, JSON.stringify(plan));
  const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: DriverEvent[] = [];
  let stderr = '';
  let buffered = '';
  let seen = 0;
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const fired = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const e = JSON.parse(buffered.slice(0, nl)) as DriverEvent;
        buffered = buffered.slice(nl + 1);
        events.push(e);
        if (target(e) && ++seen === nth) setTimeout(resolve, delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    void exited.then((code) => reject(new Error(`the driver exited (${code}) before the kill: ${stderr}\nevents: ${events.map((e) => `${e.type}/${e.phase ?? ''}`).join(' ')}`)));
  });
  await fired;
  child.kill('SIGKILL');
  return { events, exit: await exited };
}

/** The restart: the loop in this process, asked for no new experiment, so it only recovers (and measures a missing baseline). */
async function restart(dir: string): Promise<{ exitCode: number; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  const noAgent: Agent = {
    name: 'none',
    propose: async () => ({ kind: 'skipped', reason: 'not asked', usage: ZERO_USAGE }),
  };
  const result = await runLoop(
    makeEngineConfig(dir, TAG, { runCmd: 'python3 train.py', timeoutSec: 60, fixAttempts: 0, maxExperiments: 0, lookahead: 0 }),
    noAgent,
    { onEvent: (e) => events.push(e), signal: new AbortController().signal },
  );
  return { exitCode: result.exitCode, events };
}

describe('kill -9 drill', () => {
  it(`survives ${ROUNDS} kills at random moments (seed ${SEED}): every restart recovers, no duplicate or lost row, clean tree at the best commit, no orphan`, async () => {
    const random = prng(SEED);
    const dir = workspace();
    const initial = git(dir, 'rev-parse', 'HEAD');
    let ledger: ResultRow[] = []; // every row seen so far: results.tsv may only grow
    const announced = new Set<string>(); // experiment commits the killed processes reported
    let improving = 0;
    const log: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const moment = ORDER[round % ORDER.length]!; // each kind of moment, in turn; when within it is random
      const nth = 1 + Math.floor(random() * 2);
      const delayMs = Math.floor(random() * MOMENTS[moment].withinMs);
      // Some experiments beat every earlier one (keep), the others are worse (discard).
      const values = Array.from({ length: 6 }, () => (random() < 0.4 ? 0.9 - 0.001 * ++improving : 2 + Math.round(random() * 1000) / 1000));
      const plan = { round, maxExperiments: 6, thinkMs: THINK_MS, trainSec: TRAIN_SEC, values };

      const { events, exit } = await runAndKill(dir, plan, MOMENTS[moment].opens, nth, delayMs);
      expect(exit, `round ${round}`).toBe('SIGKILL');
      for (const e of events) if (e.type === 'committed' && e.commit) announced.add(e.commit);
      const inFlight = inFlightStates(dir)[0] ?? null;
      const lastEvent = events.at(-1);

      const recovery = await restart(dir);
      const recovered = recovery.events.find((e): e is Extract<EngineEvent, { type: 'recovered' }> => e.type === 'recovered');
      log.push(
        `round ${round}: ${moment} #${nth} +${delayMs} ms | last event ${lastEvent?.type}/${lastEvent?.phase ?? ''} | inflight ${inFlight ? `${inFlight.phase}${inFlight.commit ? ' ' + inFlight.commit.slice(0, 7) : ''}` : 'none'} | ${recovered?.message ?? 'nothing to recover'}`,
      );
      const where = `round ${round} (${moment}, seed ${SEED})`;

      // Every restart recovers: it starts, says what it did when the killed run left work in flight, and ends normally.
      expect(recovery.exitCode, where).toBe(0);
      expect(recovery.events.some((e) => e.type === 'started'), where).toBe(true);
      if (inFlight) expect(recovered, `${where}: a state file was left, so the restart must report a recovery`).toBeDefined();
      expect(inFlightStates(dir), where).toEqual([]);
      expect(git(dir, 'worktree', 'list', '--porcelain').match(/^worktree /gm), `${where}: worktrees left`).toHaveLength(1);

      // No lost row: what was written stays written (results.tsv only grows), every experiment commit
      // a killed run announced has a row (an `interrupted` crash if it never finished), and every row's commit still exists.
      const rows = rowsOf(dir);
      expect(rows.slice(0, ledger.length), `${where}: earlier rows changed or vanished`).toEqual(ledger);
      ledger = rows;
      const logged = new Set(rows.map((r) => r.commit));
      for (const c of announced) expect(logged.has(c.slice(0, 7)), `${where}: commit ${c} was made but has no row`).toBe(true);
      for (const r of rows) expect(git(dir, 'cat-file', '-t', r.commit), where).toBe('commit');

      // No duplicate row: one row per commit of this tag.
      expect(new Set(rows.map((r) => r.commit)).size, `${where}: duplicate rows`).toBe(rows.length);

      // Every discarded idea is reachable under a ref and has its row; every discard or crash row has its ref.
      const refs = git(dir, 'for-each-ref', '--format=%(refname:lstrip=4)', `refs/autoresearch/${TAG}/discarded/`).split('\n').filter(Boolean);
      for (const ref of refs) expect(logged.has(ref), `${where}: discarded/${ref} has no row`).toBe(true);
      const notKept = rows.slice(1).filter((r) => r.status !== 'keep').map((r) => r.commit);
      expect(new Set(refs), `${where}: discard/crash rows without a discarded ref`).toEqual(new Set(notKept));

      // The tree is clean at the best commit, and the branch holds exactly the kept commits.
      const keeps = rows.filter((r) => r.status === 'keep');
      expect(git(dir, 'symbolic-ref', '--short', 'HEAD'), where).toBe(`autoresearch/${TAG}`);
      expect(git(dir, 'rev-parse', '--short=7', 'HEAD'), where).toBe(keeps.at(-1)?.commit);
      expect(git(dir, 'status', '--porcelain', '--untracked-files=no'), where).toBe('');
      const branch = git(dir, 'rev-list', '--reverse', `${initial}..HEAD`).split('\n').filter(Boolean).map((c) => c.slice(0, 7));
      expect(branch, where).toEqual(keeps.slice(1).map((r) => r.commit));

      // No orphan: every trainer and every child it started is gone once the restart is done.
      const alive = trainerPids(dir);
      expect(alive, `${where}: processes still running`).toEqual([]);
    }

    // And the loop carries on after the last recovery: two more experiments, run to the end.
    const before = rowsOf(dir).length;
    const planFile = path.join(dir, '.git', 'drill-plan.json');
    fs.writeFileSync(planFile, JSON.stringify({ round: ROUNDS, maxExperiments: 2, thinkMs: 0, trainSec: 0, values: [0.5, 3] }));
    const code = await new Promise<number | null>((resolve) => spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: 'ignore' }).on('exit', resolve));
    expect(code).toBe(0);
    expect(rowsOf(dir).slice(before).map((r) => r.status)).toEqual(['keep', 'discard']);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');

    console.log(`kill -9 drill, seed ${SEED}:\n${log.join('\n')}\nrows: ${rowsOf(dir).map((r) => r.status[0]).join('')}`);
  }, 300_000);
});
