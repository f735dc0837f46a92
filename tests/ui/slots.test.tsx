// The In flight panel: one line per experiment in flight, by GPU, with its phase in words.

import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { Slots, slotPhaseWords } from '../../src/ui/components/Slots.js';
import { reduce, reduceAll, type DashboardState, type InFlight } from '../../src/ui/state.js';
import type { EngineEvent } from '../../src/engine/types.js';
import { at, config, scriptedNight, threeGpuNight } from './fixtures.js';
import { lines, visibleWidth } from './helpers.js';

function panelOf(state: DashboardState, now: number, width = 80, count = 6): string[] {
  const { lastFrame, unmount } = render(<Slots state={state} width={width} now={now} lines={count} />);
  const out = lines(lastFrame());
  unmount();
  return out;
}

const night = reduceAll(threeGpuNight());

describe('Slots', () => {
  it('one line per experiment, by GPU: the run (or re-run) with its time against the budget, the drafts queued behind it', () => {
    expect(panelOf(night, at(2000))).toEqual([
      '── In flight · 6 ───────────────────────────────────────────────────────────────',
      ' gpu 0  #7   ▶ training                   3m08s/5m00s  "halve the batch, double…',
      ' gpu 0  #10  … waiting for GPU 0                7m49s  "weight decay 0.1 on the…',
      ' gpu 1  #8   ↻ re-running on the new best   42s/5m00s  "muon momentum 0.95 → 0.…',
      ' gpu 1  #11  ✎ drafting                           40s  ▸ train.py: WARMDOWN_RAT…',
      ' gpu 2  #9   ▶ training                   4m20s/5m00s  "rotary base 10000 → 500…',
      ' gpu 2  #12  ↻ moving onto the new best                "qk-norm before the rota…',
    ]);
  });

  it('keeps its height as experiments come and go, and says what does not fit', () => {
    const fewer = reduce(night, { type: 'result', at: at(2001), experiment: 9, row: { ...night.recent[0]!.row, slot: '2' }, standing: night.standing, slot: '2' });
    const p = panelOf(fewer, at(2002), 80, 6);
    expect(p).toHaveLength(7);
    expect(p[0]).toMatch(/^── In flight · 5 /);
    expect(p.slice(1).filter((l) => l.trim() !== '')).toHaveLength(5);
    const short = panelOf(night, at(2000), 80, 3);
    expect(short).toHaveLength(4);
    expect(short[3]).toBe(' +4 more: #8 #9 #11 #12');
  });

  it('without --gpus, no GPU column: one run and the draft ahead of it', () => {
    const s = reduceAll([
      ...scriptedNight().map((e) => (e.type === 'started' ? { ...e, config: { ...config, lookahead: 1 } } : e)),
      { type: 'committed', at: at(1010), experiment: 4, commit: 'e000005', description: 'add 5% lr warmup', restored: [] },
      { type: 'phase', at: at(1012), phase: 'training', experiment: 4, detail: 'uv run train.py' },
      { type: 'phase', at: at(1013), phase: 'agent', experiment: 5 },
    ] satisfies EngineEvent[]);
    expect(panelOf(s, at(1042), 80, 2).slice(1)).toEqual([' #4  ▶ training 30s/5m00s  "add 5% lr warmup"', ' #5  ✎ drafting       29s']);
  });

  it('a confirmation run: its line says which experiment and which of its runs', () => {
    const s = reduceAll([
      ...scriptedNight().map((e) => (e.type === 'started' ? { ...e, config: { ...config, lookahead: 1 } } : e)),
      { type: 'committed', at: at(1010), experiment: 4, commit: 'e000005', description: 'add 5% lr warmup', restored: [] },
      { type: 'phase', at: at(1012), phase: 'training', experiment: 4, detail: 'uv run train.py' },
      { type: 'phase', at: at(1020), phase: 'training', experiment: 4, detail: 'confirming #4: run 2 of 3, a new seed' },
    ] satisfies EngineEvent[]);
    expect(panelOf(s, at(1050), 80, 1).slice(1)).toEqual([' #4  ▶ confirming #4 — run 2 of 3 30s/5m00s  "add 5% lr warmup"']);
  });

  it('names every phase in words', () => {
    const f = (phase: InFlight['phase'], detail: string | null = null, slot: string | null = '1'): InFlight => ({
      ...night.inFlight[0]!,
      phase,
      detail,
      slot,
      phaseAt: at(100),
      training: null,
      retry: null,
    });
    const words = (x: InFlight) => slotPhaseWords(x, at(112)).text + (slotPhaseWords(x, at(112)).time ? ` ${slotPhaseWords(x, at(112)).time}` : '');
    expect(words(f('agent'))).toBe('drafting 12s');
    expect(words(f('agent', 'fixing: OOM'))).toBe('fixing a crash 12s');
    expect(words(f('agent', 'redoing the change on the new best'))).toBe('redoing on the new best 12s');
    expect(words({ ...f('agent'), retry: { attempt: 2, waitMs: 5000, reason: 'overloaded', at: at(110) } })).toBe('drafting (API retry 2) 12s');
    expect(words(f('committing'))).toBe('committing');
    expect(words(f('waiting'))).toBe('waiting for GPU 1 12s');
    expect(words(f('waiting', null, null))).toBe('waiting for the GPU 12s');
    expect(words(f('rebasing'))).toBe('moving onto the new best');
    expect(words(f('deciding'))).toBe('reading the result');
    const run = { experiment: 7, elapsedSec: 60, timeoutSec: 600, logTail: [], at: at(100) };
    expect(words({ ...f('training'), training: run })).toBe('training 1m12s/5m00s');
    expect(words({ ...f('training', 're-run on the new best abc1234: uv run train.py'), training: run })).toBe('re-running on the new best 1m12s/5m00s');
    // Which run of several it is: a better first run confirmed with a new seed, a baseline run.
    expect(words({ ...f('training', 'confirming #12: run 2 of 3, a new seed'), training: run })).toBe('confirming #12 — run 2 of 3 1m12s/5m00s');
    expect(words({ ...f('training', 'measuring the unmodified code: run 2 of 3'), training: run })).toBe('baseline — run 2 of 3 1m12s/5m00s');
    // A timeout shorter than the 5-minute budget is the budget.
    expect(words({ ...f('baseline'), training: { ...run, timeoutSec: 90 } })).toBe('baseline 1m12s/1m30s');
    // A limit the user gave in fractions of a second is shown as given (--timeout 1.5), not rounded down to 1s.
    expect(words({ ...f('training'), training: { ...run, elapsedSec: 0, at: at(112), timeoutSec: 1.5 } })).toBe('training 0s/1.5s');
    // A SLURM job: waiting in the queue (its clock not started), then running, with its id.
    expect(words({ ...f('training'), training: { ...run, elapsedSec: 0, job: { state: 'pending', reason: 'Resources', id: '4711' } } })).toBe('PENDING (Resources) · job 4711 12s');
    expect(words({ ...f('training'), training: { ...run, job: { state: 'running', id: '4711' } } })).toBe('RUNNING · job 4711 1m12s/5m00s');
  });

  it('the reducer keeps what a cluster job says of itself', () => {
    const start = night.inFlight[0]!;
    const state = reduce(night, { type: 'training', at: at(200), experiment: start.experiment, elapsedSec: 0, timeoutSec: 600, logTail: [], state: 'pending', reason: 'Priority', jobId: '99' });
    expect(state.inFlight.find((x) => x.experiment === start.experiment)?.training?.job).toEqual({ state: 'pending', reason: 'Priority', id: '99' });
  });

  it('fits any width', () => {
    for (const width of [40, 80, 160]) for (const l of panelOf(night, at(2000), width)) expect(visibleWidth(l), l).toBeLessThanOrEqual(width);
  });
});
