// The dashboard rendered from scripted engine events: each panel's content, the 80-column fit,
// the keys, and the summary that stays on screen at the end.

import { describe, expect, it, vi } from 'vitest';
import { render } from 'ink-testing-library';
import { Dashboard, LiveDashboard } from '../../src/ui/Dashboard.js';
import { reduce, reduceAll } from '../../src/ui/state.js';
import { DashboardStore } from '../../src/ui/store.js';
import type { EngineEvent } from '../../src/engine/types.js';
import { at, config, keepRow, scriptedNight, threeGpuNight } from './fixtures.js';
import { lines, panel, tick, visibleWidth } from './helpers.js';

const night = scriptedNight();
const agentState = reduceAll(night);

/** Experiment 4 submitted, committed and 75 s into training. */
const trainingEvents: EngineEvent[] = [
  ...night,
  { type: 'phase', at: at(1010), phase: 'committing', experiment: 4 },
  { type: 'committed', at: at(1011), experiment: 4, commit: 'e000005', description: 'add 5% lr warmup', restored: [] },
  { type: 'phase', at: at(1012), phase: 'training', experiment: 4 },
  {
    type: 'training',
    at: at(1087),
    experiment: 4,
    elapsedSec: 75,
    timeoutSec: 600,
    logTail: ['step 00120 (25.0%) | loss: 3.412 | lrm: 1.00 | dt: 310ms', 'step 00121 (25.2%) | loss: 3.401 | lrm: 1.00 | dt: 309ms'],
  },
];
const trainingState = reduceAll(trainingEvents);

function frameOf(state = agentState, now = at(1010), columns = 80, rows = 40, banner?: string) {
  const { lastFrame, unmount } = render(<Dashboard state={state} now={now} columns={columns} rows={rows} banner={banner} />);
  const frame = lastFrame() ?? '';
  unmount();
  return frame;
}

describe('Dashboard panels', () => {
  it('progress: the noise floor once it is known', () => {
    expect(frameOf()).not.toContain('noise σ');
    const withNoise = reduceAll(night.map((e) => (e.type === 'result' ? { ...e, noise: { sigma: 0.0025, df: 6, runs: 9 } } : e)));
    const line = lines(frameOf(withNoise)).find((l) => l.includes('kept '));
    expect(line).toMatch(/kept 2 {3}discarded 1 {3}crashed 1 {3}noise σ 0\.002500 from 9 runs \(6 df\)/);
  });

  it('header: whether runs are sandboxed', () => {
    const withSandbox = (sandboxed: boolean) => reduceAll(night.map((e) => (e.type === 'started' ? { ...e, sandboxed } : e)));
    expect(lines(frameOf(withSandbox(true)))[1]).toBe('experiment #4 · elapsed 16m50s · val_bpb (lower is better) · 4 done · sandboxed');
    expect(lines(frameOf(withSandbox(false)))[1]).toBe('NOT sandboxed · experiment #4 · elapsed 16m50s · val_bpb (lower is better) · 4 …');
  });

  it('header: banner, tag, branch, model, elapsed, experiment number, run state', () => {
    const all = lines(frameOf(agentState, at(1010), 80, 40, 'DEMO — scripted model, toy trainer, no GPU, no API key'));
    expect(all[0]).toContain('DEMO — scripted model, toy trainer, no GPU, no API key');
    expect(all[1]).toMatch(/^autoresearch {2}nov26 · autoresearch\/nov26 · claude-sonnet-4-5 +● running$/);
    expect(all[2]).toBe('experiment #4 · elapsed 16m50s · val_bpb (lower is better) · 4 done');
  });

  it('progress: baseline, best, % better, counts and the best-so-far sparkline', () => {
    const p = panel(frameOf(), 'Progress');
    // The best's description is cut at the 80th column.
    expect(p[0]).toBe(' baseline 0.997900   best 0.991200  0.67% better  b000002 "raise matrix lr to 0…');
    expect(panel(frameOf(agentState, at(1010), 100), 'Progress')[0]).toBe(' baseline 0.997900   best 0.991200  0.67% better  b000002 "raise matrix lr to 0.04"');
    expect(p[1]).toBe(' kept 2   discarded 1   crashed 1');
    // Baseline, then three rows at the new best: one high bar, three low ones.
    expect(p[2]).toBe(' best so far 0.997900 █▁▁▁ 0.991200');
  });

  it('now, while the agent thinks: its streamed words and the tool call in progress', () => {
    const p = panel(frameOf(), 'Now · #4');
    expect(p[0]).toBe(' ✎ agent thinking · 9s');
    expect(p.join('\n')).toContain('Depth 16 ran out of memory. I will instead try a longer warmup, since the');
    expect(p.join('\n')).toContain('loss spikes early in training.');
    expect(p).toContain(' ▸ str_replace train.py: WARMUP_RATIO = 0.0 → 0.05 …');
    expect(p[p.length - 1]).toBe(' description: not yet submitted');
  });

  it('now, while training: a bar against the 300 s budget and the timeout, the log tail, the description', () => {
    const p = panel(frameOf(trainingState, at(1102)), 'Now · #4');
    expect(p[0]).toBe(' ▶ training'); // the bar carries the time
    // 90 s of 600 s, the clock having moved on 15 s since the engine's last report.
    expect(p[1]).toMatch(/^ \[█+░+│░+\] 1m30s \/ budget 5m00s · timeout 10m00s$/);
    const bar = p[1]!.slice(2, p[1]!.indexOf(']'));
    expect(bar.split('').filter((c) => c === '█').length).toBe(Math.round((90 / 600) * bar.length));
    expect(bar.indexOf('│')).toBe(Math.round((300 / 600) * bar.length));
    expect(p[2]).toBe('   step 00120 (25.0%) | loss: 3.412 | lrm: 1.00 | dt: 310ms');
    expect(p[3]).toBe('   step 00121 (25.2%) | loss: 3.401 | lrm: 1.00 | dt: 309ms');
    expect(p[p.length - 1]).toBe(' e000005 "add 5% lr warmup"');
  });

  it('now: committing, and an API retry shown on the phase line', () => {
    const committing = reduce(agentState, { type: 'phase', at: at(1010), phase: 'committing', experiment: 4 });
    expect(panel(frameOf(committing, at(1011)), 'Now · #4')[0]).toBe(' ● committing · 1s');
    const retrying = reduce(agentState, { type: 'agent', at: at(1006), experiment: 4, activity: { kind: 'retry', attempt: 2, waitMs: 8000, reason: 'overloaded' } });
    expect(panel(frameOf(retrying, at(1010)), 'Now · #4')[0]).toBe(' ✎ agent thinking · 9s · API retry 2 in 4s: overloaded');
  });

  it('recent results: the rows, oldest first, with status, metric, memory and description', () => {
    const p = panel(frameOf(), 'Recent results');
    expect(p[0]).toMatch(/^ +# {2}commit {4}val_bpb {2}mem GB {2}status {3}description/);
    expect(p.slice(1, 5)).toEqual([
      '    0  a000001  0.997900    44.2  keep     baseline',
      '    1  b000002  0.991200    44.2  keep     raise matrix lr to 0.04',
      '    2  c000003  0.995000    44.2  discard  swap relu^2 for gelu',
      '    3  d000004         —       —  crash    double the depth to 16 layers (OOM)',
    ]);
  });

  it('recent results: the newest row shows its description, then its verdict and margin where there is room, said once', () => {
    const verdict = 'better by 0.006700, noise allows 0.004100 (σ 0.002000, 4 degrees of freedom)';
    const kept = reduce(agentState, {
      type: 'result', at: at(2000), experiment: 4, row: { ...keepRow, commit: 'e000005', value: 0.9845, values: [0.984, 0.9845, 0.985], description: 'add 5% lr warmup' },
      standing: agentState.standing, verdict, noise: { sigma: 0.002, df: 4, runs: 6 },
    });
    const newest = (s: typeof kept, columns = 140) => panel(frameOf(s, at(2001), columns), 'Recent results').filter((l) => /^ +\d+ {2}/.test(l)).at(-1);
    expect(newest(kept)).toBe('    4  e000005  0.984500    44.2  keep     add 5% lr warmup · mean of 3 runs, better by 0.006700, noise allows 0.004100');
    // At 80 columns the verdict does not fit beside it: the description stands alone, whole.
    expect(newest(kept, 80)).toBe('    4  e000005  0.984500    44.2  keep     add 5% lr warmup');
    // A discard within the noise: its description ends in the same words, so they are not repeated.
    const within = 'within noise: better by 0.000100, noise allows 0.004100 (σ 0.002000, 4 degrees of freedom)';
    const discarded = reduce(kept, {
      type: 'result', at: at(2100), experiment: 5, row: { ...keepRow, commit: 'f000006', status: 'discard', value: 0.9844, values: [0.984, 0.9844, 0.9848], description: `qk-norm (${within})` },
      standing: kept.standing, verdict: within,
    });
    expect(newest(discarded)).toBe('    5  f000006  0.984400    44.2  discard  qk-norm · mean of 3 runs, within noise: better by 0.000100, noise allows 0.004100');
    // Too narrow for both: the description as logged, which ends in the same words, cut to the width.
    expect(newest(discarded, 80)).toBe('    5  f000006  0.984400    44.2  discard  qk-norm (within noise: better by 0.0…');
    // Only the newest: the row before it shows its description alone.
    expect(panel(frameOf(discarded, at(2101), 120), 'Recent results').some((l) => l === '    4  e000005  0.984500    44.2  keep     add 5% lr warmup')).toBe(true);
    // A plain "not better" adds nothing to the row.
    const worse = reduce(kept, { type: 'result', at: at(2100), experiment: 5, row: { ...keepRow, commit: 'f000006', status: 'discard', value: 0.999, description: 'idea' }, standing: kept.standing, verdict: 'not better' });
    expect(newest(worse)).toBe('    5  f000006  0.999000    44.2  discard  idea');
  });

  it('recent results keep only the last ten rows', () => {
    let s = agentState;
    for (let i = 5; i < 20; i++) {
      s = reduce(s, {
        type: 'result',
        at: at(2000 + i),
        experiment: i,
        row: { ...keepRow, commit: `f0000${String(i).padStart(2, '0')}`, status: 'discard', value: 0.999, description: `idea ${i}` },
        standing: s.standing,
      });
    }
    const p = panel(frameOf(s), 'Recent results').filter((l) => /^ +\d+ {2}/.test(l));
    expect(p).toHaveLength(10);
    expect(p[0]).toContain('idea 10');
    expect(p[9]).toContain('idea 19');
  });

  it('cost: dollars and tokens so far, the experiment in progress included', () => {
    const p = panel(frameOf(), 'Cost');
    // Four finished rows ($0 + 0.12 + 0.09 + 0.15 = $0.36) plus $0.05 running now.
    expect(p[0]).toBe(' $0.41  tokens in 60k · out 4.0k · cache read 150k · write 20k');
  });

  it('footer: the keys', () => {
    const all = lines(frameOf());
    expect(all[all.length - 1]).toBe('q stop after this experiment · Ctrl+C stop now');
  });
});

describe('Dashboard fit', () => {
  const long = 'x'.repeat(300);
  const noisy = reduceAll([
    { type: 'started', at: at(0), tag: `tag-${long}`, branch: `autoresearch/tag-${long}`, agent: `model-${long}`, config, resumed: false, rows: [] },
    { type: 'result', at: at(5), experiment: 0, row: { ...keepRow, description: `baseline ${long}` }, standing: { baseline: { commit: 'b000002', value: 0.9912 }, best: { commit: 'b000002', value: 0.9912, description: long } } },
    { type: 'phase', at: at(6), phase: 'agent', experiment: 1, detail: `fix attempt ${long}` },
    { type: 'agent', at: at(7), experiment: 1, activity: { kind: 'text', text: `${long} ${'word '.repeat(200)}\n\n\tmore` } },
    { type: 'agent', at: at(8), experiment: 1, activity: { kind: 'tool', name: 'str_replace', summary: `train.py ${long}` } },
    { type: 'recovered', at: at(8), message: `recovered ${long}` },
    { type: 'committed', at: at(9), experiment: 1, commit: 'c000003', description: `desc ${long}`, restored: [] },
  ]);
  const training = reduceAll(
    [
      { type: 'phase', at: at(10), phase: 'training', experiment: 1 },
      { type: 'training', at: at(11), experiment: 1, elapsedSec: 1, timeoutSec: 600, logTail: [`log ${long}`, '', 'x'] },
    ],
    noisy,
  );

  for (const columns of [80, 100, 160]) {
    it(`no line is wider than ${columns} columns, however long the text`, () => {
      for (const state of [agentState, trainingState, noisy, training]) {
        for (const rows of [24, 40]) {
          const all = lines(frameOf(state, at(20), columns, rows, 'DEMO — scripted model'));
          for (const l of all) expect(visibleWidth(l), l).toBeLessThanOrEqual(columns);
          // Shorter than the terminal: Ink clears the whole screen (a flicker) for a frame that fills it.
          expect(all.length).toBeLessThan(rows);
        }
      }
    });
  }

  it('uses the width of a wide terminal: progress and cost side by side', () => {
    const all = lines(frameOf(agentState, at(1010), 160, 40));
    const row = all.find((l) => l.startsWith('── Progress'));
    expect(row).toContain('── Cost');
    expect(all.some((l) => l.includes('$0.41'))).toBe(true);
    expect(Math.max(...all.map(visibleWidth))).toBe(160);
  });

  it('keeps the same height whatever the phase, so the screen does not jump', () => {
    const heights = [agentState, trainingState, reduceAll(night.slice(0, 2))].map((s) => lines(frameOf(s)).length);
    expect(new Set(heights).size).toBe(1);
  });
});

describe('LiveDashboard', () => {
  it('q asks for a graceful stop once and says so; Ctrl+C goes to the engine', async () => {
    const store = new DashboardStore(10);
    for (const e of night) store.dispatch(e);
    store.flush();
    const onGracefulStop = vi.fn();
    const onInterrupt = vi.fn();
    const { lastFrame, stdin, unmount } = render(
      <LiveDashboard store={store} onGracefulStop={onGracefulStop} onInterrupt={onInterrupt} columns={80} rows={40} />,
    );
    await tick(20);
    expect(lines(lastFrame()).at(-1)).toBe('q stop after this experiment · Ctrl+C stop now');
    stdin.write('q');
    await tick(20);
    expect(onGracefulStop).toHaveBeenCalledTimes(1);
    expect(lines(lastFrame()).at(-1)).toBe('◐ stopping after this experiment… (Ctrl+C stops now)');
    expect(lines(lastFrame())[0]).toContain('◐ stopping after this experiment');
    stdin.write('q');
    await tick(20);
    expect(onGracefulStop).toHaveBeenCalledTimes(1);
    stdin.write('\u0003');
    await tick(20);
    expect(onInterrupt).toHaveBeenCalledTimes(1);
    unmount();
  });

  it('follows the events it is given, and ends with a summary under the last frame', async () => {
    const store = new DashboardStore(10);
    const { lastFrame, unmount } = render(<LiveDashboard store={store} onGracefulStop={() => {}} columns={80} rows={40} />);
    store.dispatch(night[0]!);
    await tick(30);
    expect(lines(lastFrame())[0]).toContain('nov26');
    for (const e of night.slice(1)) store.dispatch(e);
    store.dispatch({ type: 'stopping', at: at(1100), reason: 'reached --max-experiments 4' });
    store.dispatch({ type: 'finished', at: at(1101), reason: 'reached --max-experiments 4', exitCode: 0 });
    store.close();
    await tick(30);
    const all = lines(lastFrame());
    expect(all[0]).toContain('■ finished');
    expect(all.slice(-4)).toEqual([
      '■ finished: reached --max-experiments 4 · ran 18m21s · cost $0.41',
      '4 experiments: 2 kept, 1 discarded, 1 crashed · 0.67% better than baseline',
      'best val_bpb 0.991200  b000002 "raise matrix lr to 0.04"',
      'All rows: autoresearch results --tag nov26 · resume: run the same command again',
    ]);
    expect(all.length).toBeLessThan(40);
    for (const l of all) expect(visibleWidth(l)).toBeLessThanOrEqual(80);
    unmount();
  });
});

describe('DashboardStore', () => {
  it('reduces every event but redraws at most once per interval', async () => {
    const store = new DashboardStore(100);
    const listener = vi.fn();
    store.subscribe(listener);
    store.dispatch(night[0]!);
    for (let i = 0; i < 1000; i++) store.dispatch({ type: 'agent', at: at(400), experiment: 1, activity: { kind: 'text', text: `w${i} ` } });
    expect(listener).toHaveBeenCalledTimes(0);
    await tick(150);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getSnapshot().state.streamText.endsWith('w999 ')).toBe(true);
  });
});

describe('startUi with tui', () => {
  it('draws the dashboard on the given stream and leaves the last frame and the summary there', async () => {
    const { startUi } = await import('../../src/ui/index.js');
    const { PassThrough, Writable } = await import('node:stream');
    let out = '';
    const stdout = Object.assign(
      new Writable({
        write(chunk, _enc, cb) {
          out += String(chunk);
          cb();
        },
      }),
      { columns: 80, rows: 40 },
    ) as unknown as NodeJS.WriteStream;
    const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
    const ui = startUi({ tui: true, stdout, stdin, onGracefulStop: () => {}, banner: 'DEMO — scripted model' });
    for (const e of night) ui.onEvent(e);
    ui.onEvent({ type: 'finished', at: at(1101), reason: 'reached --max-experiments 4', exitCode: 0 });
    await ui.close();
    const text = lines(out);
    expect(text.some((l) => l.includes('DEMO — scripted model'))).toBe(true);
    expect(text.some((l) => l.includes('── Recent results'))).toBe(true);
    expect(text.some((l) => l.startsWith('■ finished: reached --max-experiments 4'))).toBe(true);
    for (const l of text) expect(visibleWidth(l)).toBeLessThanOrEqual(80);
  });
});

describe('Dashboard with several experiments in flight', () => {
  const gpuNight = reduceAll(threeGpuNight());

  it('header: the GPUs and the lookahead in place of one experiment number', () => {
    const all = lines(frameOf(gpuNight, at(2000), 100));
    expect(all[1]).toBe('gpus 0,1,2 · lookahead 1 · elapsed 33m20s · val_bpb (lower is better) · 7 done · sandboxed');
    // One GPU, drafting ahead: the lookahead alone.
    const one = reduceAll(night.map((e) => (e.type === 'started' ? { ...e, config: { ...config, lookahead: 2 } } : e)));
    expect(lines(frameOf(one))[1]).toBe('lookahead 2 · elapsed 16m50s · val_bpb (lower is better) · 4 done');
  });

  it('three GPUs training and one draft: a line each, and the newest run’s log in Now, labelled', () => {
    const frame = frameOf(gpuNight, at(2000));
    const slots = panel(frame, 'In flight · 6');
    expect(slots).toHaveLength(6);
    expect(slots.filter((l) => /▶ training|↻ re-running/.test(l)).map((l) => l.slice(0, 12))).toEqual([' gpu 0  #7  ', ' gpu 1  #8  ', ' gpu 2  #9  ']);
    expect(slots.find((l) => l.includes('#11'))).toMatch(/^ gpu 1 {2}#11 {2}✎ drafting +40s {2}▸ train\.py: WARMDOWN_RAT…$/);
    const now = panel(frame, 'Now · #8 · gpu 1');
    expect(now[0]).toBe(' ▶ training · re-run on the new best f000006: uv run train.py');
    expect(now[1]).toMatch(/^ \[█+░+│░+\] 42s \/ budget 5m00s · timeout 10m00s$/);
    expect(now[2]).toBe('   step 00120 (13.3%) | loss: 3.401 | lrm: 1.00 | dt: 309ms');
    expect(now.at(-1)).toBe(' m000013 "muon momentum 0.95 → 0.9"');
    // Four finished rows' worth plus what #7 and #11 have spent so far.
    expect(panel(frame, 'Cost')[0]).toMatch(/^ \$0\.74 /);
  });

  it('one GPU with a draft ahead: the run stays in Now while the next experiment is drafted', () => {
    const events: EngineEvent[] = [
      ...trainingEvents.map((e) => (e.type === 'started' ? { ...e, config: { ...config, lookahead: 1 } } : e)),
      { type: 'phase', at: at(1090), phase: 'agent', experiment: 5 },
      { type: 'agent', at: at(1091), experiment: 5, activity: { kind: 'tool', name: 'bash', summary: 'grep -n WARMDOWN train.py' } },
    ];
    const frame = frameOf(reduceAll(events), at(1102));
    expect(panel(frame, 'In flight · 2')).toEqual([' #4  ▶ training 1m30s/5m00s  "add 5% lr warmup"', ' #5  ✎ drafting         12s  ▸ $ grep -n WARMDOWN train.py']);
    const now = panel(frame, 'Now · #4');
    expect(now[0]).toBe(' ▶ training');
    expect(now.at(-1)).toBe(' e000005 "add 5% lr warmup"');
  });

  it('one experiment at a time (--lookahead 0, no --gpus): no In flight panel', () => {
    expect(lines(frameOf(trainingState, at(1102))).some((l) => l.startsWith('── In flight'))).toBe(false);
  });

  for (const columns of [80, 100, 160]) {
    it(`fits ${columns} columns and the terminal's height, and keeps its height as experiments come and go`, () => {
      const later = reduce(gpuNight, { type: 'result', at: at(2010), experiment: 9, row: { ...keepRow, slot: '2' }, standing: gpuNight.standing, slot: '2' });
      for (const rows of [24, 40]) {
        const heights = [gpuNight, later].map((state) => {
          const all = lines(frameOf(state, at(2020), columns, rows, 'DEMO — scripted model'));
          for (const l of all) expect(visibleWidth(l), l).toBeLessThanOrEqual(columns);
          expect(all.length).toBeLessThan(rows);
          return all.length;
        });
        expect(heights[0]).toBe(heights[1]);
      }
    });
  }

  it('on a 24-line terminal, what does not fit is counted', () => {
    const slots = panel(frameOf(gpuNight, at(2000), 80, 24), 'In flight · 6');
    expect(slots.at(-1)).toMatch(/^ \+\d more: #\d+( #\d+)*$/);
  });
});

describe('docs/dashboard.txt', () => {
  it('shows the 3-GPU frame exactly as the dashboard draws it at 80 columns', async () => {
    const fs = await import('node:fs');
    const doc = fs.readFileSync(new URL('../../docs/dashboard.txt', import.meta.url), 'utf8');
    const frame = lines(frameOf(reduceAll(threeGpuNight()), at(2000), 80, 40))
      .map((l) => l.trimEnd())
      .join('\n');
    expect(doc).toContain(frame);
  });
});

describe('q with several experiments in flight', () => {
  it('says that those in flight finish, in the footer and the header', () => {
    const gpuNight = reduceAll(threeGpuNight());
    expect(lines(frameOf(gpuNight, at(2000))).at(-1)).toBe('q stop after the experiments in flight · Ctrl+C stop now');
    const { lastFrame, unmount } = render(<Dashboard state={gpuNight} now={at(2000)} columns={80} rows={40} stopRequested />);
    const all = lines(lastFrame());
    unmount();
    expect(all.at(-1)).toBe('◐ stopping after the experiments in flight… (Ctrl+C stops now)');
    expect(all[0]).toMatch(/◐ stopping after those in flight$/);
  });
});
