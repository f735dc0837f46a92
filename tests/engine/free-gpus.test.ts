// Every free GPU (issue 19), in the engine: a candidate's confirmation runs take a GPU that is idle
// right now, ahead of a draft that is not ready yet. Two GPUs: experiment 1 trains on gpu 0 while
// experiment 2's draft is held (the model "thinks" until the test lets it go), so gpu 1 is idle
// when experiment 1 needs confirming. The trainer waits at a gate per seed; the test opens the two
// confirmation runs' gates only once both wait at them, so runs trained one after another could
// never pass. Real git worktrees, a real python trainer, the real scheduler.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { seedOf, SlotPool } from '../../src/engine/lab.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineEvent, type ExperimentContext, type Proposal } from '../../src/engine/types.js';
import { drillWorkspace } from '../helpers/drill.js';
import { GATED_TRAINER, gatedRuns, isWaiting, openGate, removeGates, waitingSeeds } from '../helpers/seed-gates.js';

const PATIENCE_MS = 60_000;

/** val_bpb is `value`, plus 0.002 on even seeds: runs of one code differ, so there is a noise estimate. */
const TRAINER = (value: number) => GATED_TRAINER(`${value} + (0.002 if seed % 2 == 0 else 0)`);

/** Experiment 1: a small gain, within the noise of one run (so it is confirmed under any rule). Experiment 2: worse, drafted only when `release` resolves. */
class HeldAgent implements Agent {
  readonly name = 'held-agent';
  release!: () => void;
  private readonly released = new Promise<void>((r) => (this.release = r));
  async propose(ctx: ExperimentContext): Promise<Proposal> {
    if (ctx.experiment > 2) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    if (ctx.experiment === 2) await this.released;
    fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), TRAINER(ctx.experiment === 1 ? 0.9995 : 1.05));
    return { kind: 'submitted', description: ctx.experiment === 1 ? 'a small gain' : 'worse', usage: ZERO_USAGE };
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) {
    removeGates(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

describe('confirmation runs on idle GPUs', () => {
  it('a candidate\'s confirmation runs train at once, its own GPU and an idle one, ahead of the draft not yet ready', async () => {
    const dir = drillWorkspace('autoresearch-free-gpus-', TRAINER(1.0), dirs);
    const waiting = (seed: number) => isWaiting(dir, seed);
    const open = (seed: number) => openGate(dir, seed);
    const agent = new HeldAgent();
    const events: EngineEvent[] = [];
    const [b1, b2] = [seedOf(0, 0), seedOf(0, 1)];
    const [c1, c2, c3] = [seedOf(1, 0), seedOf(1, 1), seedOf(1, 2)];
    const opened = new Set<number>();
    let failure: string | null = null;
    const started = Date.now();
    // The gates: the baseline's two runs together; the candidate's first at once; its two
    // confirmation runs only together (then the held draft goes); everything after at once.
    const timer = setInterval(() => {
      const openIf = (seeds: number[]) => {
        if (seeds.every(waiting)) for (const s of seeds) if (!opened.has(s)) (opened.add(s), open(s));
      };
      openIf([b1, b2]);
      openIf([c1]);
      if (!opened.has(c2) && waiting(c2) && waiting(c3)) {
        openIf([c2, c3]);
        agent.release();
      }
      if (opened.has(c2)) for (const seed of waitingSeeds(dir)) openIf([seed]);
      if (!opened.has(c2) && Date.now() - started > PATIENCE_MS) {
        failure = `waited ${PATIENCE_MS / 1000} s for the two confirmation runs to wait at their gates together`;
        for (const seed of waitingSeeds(dir)) open(seed);
        agent.release();
      }
    }, 10);
    try {
      const result = await runLoop(
        makeEngineConfig(dir, 'free', { runCmd: 'python3 train.py', timeoutSec: 150, fixAttempts: 0, maxExperiments: 2, lookahead: 0, gpus: ['0', '1'], baselineRuns: 2, confirmRuns: 2, sandbox: 'off' }),
        agent,
        { onEvent: (e) => events.push(e), signal: new AbortController().signal },
      );
      expect(failure).toBeNull();
      expect(result.exitCode).toBe(0);
    } finally {
      clearInterval(timer);
    }
    const runs = gatedRuns(dir);
    const gpuOf = (seed: number) => runs.find((r) => r.seed === seed)?.gpu;
    // The baseline's two runs, one per GPU; the candidate's confirmations, one on its own GPU and one on the idle one.
    expect([gpuOf(b1), gpuOf(b2)].sort()).toEqual(['0', '1']);
    expect([gpuOf(c2), gpuOf(c3)].sort()).toEqual(['0', '1']);
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.map((r) => r.description.split(' (')[0])).toEqual(['baseline', 'a small gain', 'worse']);
    expect(rows[1]!.values).toHaveLength(3);
    // The dashboard heard of the runs at once from the candidate's own run.
    expect(events.some((e) => e.type === 'phase' && e.experiment === 1 && /runs 2–3 of 3 at once, one on an idle GPU/.test(e.detail ?? ''))).toBe(true);
    // No worktree of a run aside is left behind.
    expect(fs.readdirSync(path.join(dir, '.autoresearch', 'free', 'worktrees'))).toEqual([]);
  }, 240_000);
});

describe('SlotPool', () => {
  const slots = [0, 1, 2].map((index) => ({ index, gpu: String(index) }));

  it('takes only GPUs that nobody holds or waits for, never the asker\'s own, and gives them back', async () => {
    const pool = new SlotPool(slots);
    const mine = await pool.gpuOf(slots[0]!).acquire();
    const busy = await pool.gpuOf(slots[1]!).acquire();
    const taken = await pool.takeIdle(5, slots[0]!);
    expect(taken.map((t) => t.slot.gpu)).toEqual(['2']);
    // Taken, gpu 2 is busy now: nobody else gets it until it is handed back, and a waiter queues.
    expect(await pool.takeIdle(5, slots[1]!)).toEqual([]);
    let waiterGot = false;
    const waiter = pool.gpuOf(slots[2]!).acquire().then((release) => ((waiterGot = true), release));
    await Promise.resolve();
    expect(waiterGot).toBe(false);
    taken[0]!.release();
    (await waiter)();
    expect(waiterGot).toBe(true);
    busy();
    mine();
    expect((await pool.takeIdle(1, slots[0]!)).map((t) => t.slot.gpu)).toEqual(['1']);
  });

  it('a GPU with a draft queued for it is not idle, even between two turns', async () => {
    const pool = new SlotPool(slots);
    const first = await pool.gpuOf(slots[1]!).acquire();
    const queued = pool.gpuOf(slots[1]!).acquire();
    first();
    expect((await pool.takeIdle(2, slots[0]!)).map((t) => t.slot.gpu)).toEqual(['2']);
    (await queued)();
  });
});
