// Pipelining and parallel slots (issue 11), measured through the real runLoop: a stand-in trainer
// that takes T seconds (python3 sleeping, then printing the summary block) and a scripted model
// that takes A seconds per proposal (sleeps, then edits train.py). No GPU is needed: the slots'
// ids only reach the runs as CUDA_VISIBLE_DEVICES, which the trainer records to check each slot.
//
//   npm run bench:pipeline
//   options: --train 3 --agent 2 --experiments 8 (part a, per run) --slots 1,2,4 --per-slot 5 (part b)
//            --budget 300 --startup 17,44 --model-agent 0,15,30,60,120,300,600 --hours 8 (part c)
//            --noise 0.0004 (part d: the better changes gain 0.001, 2.5σ) --parts a,b,c,d (which parts to run; c needs a)
//
// (a) Wall time per experiment on one slot, --lookahead 1 against 0, for A < T and A > T.
// (b) Experiments per hour with 1, 2 and 4 slots (lookahead 1), every change worse than the best
//     (nothing moves the best, so this is the scheduling alone) and one change in four better
//     (the best moves: drafts are cherry-picked onto it and winners are trained again).
// (c) The duty-cycle table of docs/benchmarks.md redone with pipelining: a model, as
//     bench/duty-cycle.ts, built from the GPU idle gap between two runs measured in (a).
// (d) Every free GPU (issue 19): the time to a decided baseline of --baseline-runs 3 on 3 slots
//     against 1 slot, and decided experiments per hour on 4 slots with the default keep rule
//     against the classic one, with a trainer whose value carries seeded noise (--noise σ), so
//     that candidates really are confirmed.
//
// Each experiment changes its own line of train.py (KNOB_<n>), with an unchanged line between two
// knobs, so changes made on different bests apply on each other (git cherry-pick) as independent
// real changes mostly do; the trainer reports 1.0 minus the sum of the knobs.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runLoop } from '../src/engine/loop.js';
import { ZERO_USAGE, type Agent, type AgentActivity, type EngineEvent, type ExperimentContext, type Proposal } from '../src/engine/types.js';
import { git, loopConfig, machineLine, median, workspace } from './harness.js';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '3' },
    agent: { type: 'string', default: '2' },
    experiments: { type: 'string', default: '8' },
    slots: { type: 'string', default: '1,2,4' },
    'per-slot': { type: 'string', default: '5' },
    budget: { type: 'string', default: '300' },
    startup: { type: 'string', default: '17,44' },
    'model-agent': { type: 'string', default: '0,15,30,60,120,300,600' },
    hours: { type: 'string', default: '8' },
    noise: { type: 'string', default: '0.0004' },
    parts: { type: 'string', default: 'a,b,c,d' },
  },
});
const PARTS = new Set(values.parts.split(','));
const NOISE = Number(values.noise);
const T = Number(values.train);
const A = Number(values.agent);
const EXPERIMENTS = Number(values.experiments);
const SLOT_COUNTS = values.slots.split(',').map(Number);
const PER_SLOT = Number(values['per-slot']);

const KNOBS = 512;

/** train.py: sleeps `sec`, records when it ran and on which GPU, prints the summary block (plus N(0, noise) drawn from the run's seed). */
function trainPy(sec: number, timesFile: string, noise = 0): string {
  const knobs = Array.from({ length: KNOBS }, (_, k) => `KNOB_${k} = 0.0\n# knob ${k}\n`).join('');
  return `# stand-in trainer of bench/pipeline.ts: sleeps like a training run, then prints the summary block
import os, random, time
START = time.time()
SLEEP = ${sec}
NOISE = ${noise}
${knobs}time.sleep(SLEEP)
value = 1.0 - sum(v for k, v in list(globals().items()) if k.startswith("KNOB_"))
value += random.Random(os.environ.get("AUTORESEARCH_SEED", "0")).gauss(0, NOISE)
with open(${JSON.stringify(timesFile)}, "a") as f:
    f.write(f"{START} {time.time()} {os.environ.get('CUDA_VISIBLE_DEVICES', '-')} {os.getcwd()}\\n")
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new Error('aborted'));
    });
  });

/** Thinks `sec`, then sets its experiment's knob: a small gain when `better(n)`, a large loss otherwise. */
class ScriptedAgent implements Agent {
  readonly name = 'scripted';
  constructor(
    private readonly sec: number,
    private readonly better: (experiment: number) => boolean,
  ) {}

  async propose(ctx: ExperimentContext, signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal> {
    await sleep(this.sec * 1000, signal);
    const file = path.join(ctx.repoDir, 'train.py');
    const knob = ctx.experiment % KNOBS;
    const gain = this.better(ctx.experiment) ? 0.001 : -0.5;
    const text = fs.readFileSync(file, 'utf8').replace(new RegExp(`^KNOB_${knob} = .*$`, 'm'), `KNOB_${knob} = ${gain}`);
    fs.writeFileSync(file, text);
    onActivity({ kind: 'text', text: `set knob ${knob}` });
    return { kind: 'submitted', description: `knob ${knob} = ${gain}`, usage: ZERO_USAGE };
  }
}

interface Run {
  gpus: string[];
  lookahead: number;
  experiments: number;
  rowsPerHour: number; // steady state, from the result times
  baselineSec: number; // from the start to the baseline's row
  secPerExperiment: number; // 1 / rate, per slot
  wallSec: number; // the whole run, baseline included
  gapSec: number; // median idle time of a slot between the end of one run and the start of its next
  runs: number; // training runs (re-runs included), baseline excluded
  keeps: number;
  reruns: number;
  rebases: number; // drafts moved onto a newer best before training
  redos: number; // drafts the model redid because they no longer applied
  concurrentGpus: number; // most distinct CUDA_VISIBLE_DEVICES training at one moment
  sandboxed: boolean;
  branchOk: boolean; // the branch holds exactly the kept commits, HEAD the best
  worktreesLeft: number;
}

interface Rule {
  baselineRuns: number;
  confirmRuns: number;
  noise: number; // σ of the trainer's seeded noise
}
const CLASSIC: Rule = { baselineRuns: 1, confirmRuns: 0, noise: 0 };

async function measure(gpus: string[], lookahead: number, trainSec: number, agentSec: number, experiments: number, betterEvery: number | null, rule: Rule = CLASSIC): Promise<Run> {
  const timesFile = path.join(os.tmpdir(), `autoresearch-pipeline-${process.pid}-${Date.now()}.times`);
  const { dir, initial } = workspace('pipeline', trainPy(trainSec, timesFile, rule.noise));
  let baselineAt = NaN;
  const results: number[] = [];
  let reruns = 0;
  let rebases = 0;
  let redos = 0;
  let sandboxed = false;
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'started') sandboxed = e.sandboxed === true;
    if (e.type === 'result' && e.experiment > 0) results.push(performance.now());
    if (e.type === 'result' && e.experiment === 0) baselineAt = performance.now();
    if (e.type === 'phase' && e.phase === 'training' && e.detail?.startsWith('re-run')) reruns++;
    if (e.type === 'phase' && e.phase === 'rebasing') rebases++;
    if (e.type === 'phase' && e.phase === 'agent' && e.detail?.startsWith('redoing')) redos++;
  };
  const agent = new ScriptedAgent(agentSec, (n) => betterEvery !== null && n % betterEvery === 0);
  const t0 = performance.now();
  const end = await runLoop(
    loopConfig(dir, 'bench', { runCmd: 'python3 train.py', maxExperiments: experiments, gpus, lookahead, baselineRuns: rule.baselineRuns, confirmRuns: rule.confirmRuns }),
    agent,
    { onEvent, signal: new AbortController().signal },
  );
  const wallSec = (performance.now() - t0) / 1000;
  if (end.exitCode !== 0) throw new Error(`the loop ended with ${end.exitCode}: ${end.reason}`);

  // Rate in the steady state: from the end of the first round (one result per slot) to the last result.
  const n = gpus.length;
  const span = experiments > 0 ? (results.at(-1)! - results[n - 1]!) / 1000 : NaN;
  const rate = experiments > 0 ? (results.length - n) / span : NaN;

  const spans = fs
    .readFileSync(timesFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .map(([s, e, gpu, cwd]) => ({ start: Number(s), end: Number(e), gpu: gpu!, baseline: !cwd!.includes('/.autoresearch/') || /\/worktrees\/0000-run\d+$/.test(cwd!) }))
    .filter((r) => !r.baseline);
  const gaps: number[] = [];
  for (const gpu of new Set(spans.map((s) => s.gpu))) {
    const mine = spans.filter((s) => s.gpu === gpu).sort((a, b) => a.start - b.start);
    for (let i = 1; i < mine.length; i++) gaps.push(mine[i]!.start - mine[i - 1]!.end);
  }
  let concurrentGpus = 0;
  for (const s of spans) concurrentGpus = Math.max(concurrentGpus, new Set(spans.filter((o) => o.start <= s.start && o.end > s.start).map((o) => o.gpu)).size);

  const rows = fs
    .readFileSync(path.join(dir, 'results.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => l.split('\t'));
  const kept = rows.filter((r) => r[3] === 'keep').map((r) => r[0]!);
  const branch = git(dir, 'rev-list', '--reverse', `${initial}..HEAD`).split('\n').filter(Boolean).map((c) => c.slice(0, 7));
  const branchOk = JSON.stringify(branch) === JSON.stringify(kept.slice(1)) && git(dir, 'rev-parse', '--short=7', 'HEAD') === kept.at(-1);
  const worktreesLeft = git(dir, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length - 1;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(timesFile, { force: true });
  return {
    gpus,
    lookahead,
    experiments: results.length,
    rowsPerHour: rate * 3600,
    baselineSec: (baselineAt - t0) / 1000,
    secPerExperiment: n / rate,
    wallSec,
    gapSec: median(gaps),
    runs: spans.length,
    keeps: kept.length - 1,
    reruns,
    rebases,
    redos,
    concurrentGpus,
    sandboxed,
    branchOk,
    worktreesLeft,
  };
}

/**
 * The engine's concurrent `git worktree add` can die on a race inside git (tests/git/worktree-race.test.ts,
 * open): a measurement whose loop died so is run again, at most twice, and every such death is printed.
 */
const deaths: string[] = [];
async function measureOrRetry(...args: Parameters<typeof measure>): Promise<Run> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure(...args);
    } catch (err) {
      const line = (err as Error).message.split('\n')[0]!;
      deaths.push(`slots ${args[0].join(',')}, lookahead ${args[1]}: the loop died (${line.slice(0, 220)})${attempt < 3 ? '; measured again' : ''}`);
      if (attempt >= 3) throw err;
    }
  }
}
function printDeaths(): void {
  for (const d of deaths.splice(0)) console.log(`NOTE ${d}`);
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const checks = (r: Run) => `${r.branchOk ? 'ok' : 'WRONG'}, ${r.worktreesLeft} left`;

console.log(`Pipelining and slots through runLoop: stand-in trainer (python3 sleeping), scripted model (sleeping), one knob line of train.py per experiment.`);
console.log(`machine: ${machineLine()}`);
console.log('');

let pipelinedGap = NaN;
let sequentialOverhead = NaN;
const aRuns: { t: number; a: number; la1: Run; la0: Run }[] = [];

if (PARTS.has('a')) {
  // (a) One slot: lookahead 1 against 0, with the model faster and slower than the trainer.
  console.log(`(a) One slot (--gpus 0), ${EXPERIMENTS} experiments per run, one change in four better than the best`);
  console.log('');
  console.log('| T train s | A model s | lookahead | s per experiment (steady) | estimate (issue) | whole run s | GPU idle between runs s (median) | keeps | moved onto new best | branch, worktrees |');
  console.log('|----------:|----------:|----------:|--------------------------:|-----------------:|------------:|---------------------------------:|------:|--------------------:|-------------------|');
  for (const [t, a] of [
    [T, A],
    [A, T],
  ] as const) {
    const la1 = await measureOrRetry(['0'], 1, t, a, EXPERIMENTS, 4);
    const la0 = await measureOrRetry(['0'], 0, t, a, EXPERIMENTS, 4);
    aRuns.push({ t, a, la1, la0 });
    for (const [r, expected] of [
      [la1, `max = ${Math.max(t, a)}`],
      [la0, `sum = ${t + a}`],
    ] as const) {
      console.log(
        `| ${String(t).padStart(9)} | ${String(a).padStart(9)} | ${String(r.lookahead).padStart(9)} | ${f2(r.secPerExperiment).padStart(25)} | ${expected.padStart(16)} | ${f1(r.wallSec).padStart(11)} | ${f2(r.gapSec).padStart(32)} | ${String(r.keeps).padStart(5)} | ${String(r.rebases).padStart(19)} | ${checks(r).padEnd(17)} |`,
      );
    }
    if (Number.isNaN(pipelinedGap) && a <= t) {
      pipelinedGap = la1.gapSec;
      sequentialOverhead = la0.gapSec - a;
    }
  }
  printDeaths();
  for (const { t, a, la1, la0 } of aRuns) {
    console.log(`T ${t} s, A ${a} s: lookahead 1 takes ${f1((100 * la1.secPerExperiment) / la0.secPerExperiment)}% of the sequential time per experiment (${f2(la1.secPerExperiment)} s against ${f2(la0.secPerExperiment)} s).`);
  }
  console.log('');
}

let sandboxed = false;
if (PARTS.has('b')) {
  // (b) Experiments per hour with 1, 2, 4 slots.
  console.log(`(b) Experiments per hour, lookahead 1, T ${T} s, A ${A} s, ${PER_SLOT} experiments per slot`);
  console.log('');
  console.log('| changes | slots | experiments | per hour (steady) | x one slot | goal 0.9 x N | training runs | re-runs | moved | redone | GPUs training at once | branch, worktrees |');
  console.log('|---------|------:|------------:|------------------:|-----------:|-------------:|--------------:|--------:|------:|-------:|----------------------:|-------------------|');
  for (const [label, betterEvery] of [
    ['all worse', null],
    ['1 in 4 better', 4],
  ] as const) {
    let one = NaN;
    for (const n of SLOT_COUNTS) {
      const gpus = Array.from({ length: n }, (_, i) => String(i));
      const r = await measureOrRetry(gpus, 1, T, A, n * PER_SLOT, betterEvery);
      sandboxed ||= r.sandboxed;
      if (n === 1) one = r.rowsPerHour;
      const ratio = r.rowsPerHour / one;
      console.log(
        `| ${label.padEnd(13)} | ${String(n).padStart(5)} | ${String(r.experiments).padStart(11)} | ${f1(r.rowsPerHour).padStart(17)} | ${f2(ratio).padStart(10)} | ${(ratio >= 0.9 * n ? `met (${f2(0.9 * n)})` : `MISSED (${f2(0.9 * n)})`).padStart(12)} | ${String(r.runs).padStart(13)} | ${String(r.reruns).padStart(7)} | ${String(r.rebases).padStart(5)} | ${String(r.redos).padStart(6)} | ${String(r.concurrentGpus).padStart(21)} | ${checks(r).padEnd(17)} |`,
      );
    }
  }
  printDeaths();
  console.log(`training runs ${sandboxed ? 'in bubblewrap (--sandbox auto found it)' : 'not sandboxed (no bubblewrap here)'}`);
  console.log('');
}

if (PARTS.has('c') && aRuns.length > 0) {
  // (c) The duty-cycle model with pipelining. One slot, per experiment:
  //   sequential (lookahead 0):  A + o + S + B                              (bench/duty-cycle.ts's model)
  //   pipelined (lookahead L):   max(S + B + g, (A + S + B + g) / (L + 1))
  // B: the training budget; S: train.py's start-up/compile/eval; A: the model's time; o: the
  // program's overhead between two runs when nothing is drafted ahead (the GPU's idle gap at
  // lookahead 0, minus A); g: the GPU's idle gap when the next experiment is drafted ahead. Both are
  // measured in (a). The pipelined line is the slower of two limits: the GPU (one run after
  // another), and Little's law for the L + 1 experiments a slot holds in flight, each spending
  // A + S + B + g in the system. So the model's time costs the GPU nothing while A <= S + B + g
  // (with L = 1), and past that each extra second of A costs half a second per experiment.
  const LOOKAHEAD_MODEL = 1;
  const pipelined = (a: number, run: number, gap: number) => Math.max(run + gap, (a + run + gap) / (LOOKAHEAD_MODEL + 1));
  const budget = Number(values.budget);
  const hours = Number(values.hours);
  const modelAgents = values['model-agent'].split(',').map(Number);
  console.log(
    `(c) GPU duty cycle over a ${hours}-hour night, training budget B = ${budget} s, one slot: pipelined (lookahead 1) against sequential (lookahead 0). ` +
      `GPU idle between runs measured in (a) (T ${T} s, A ${A} s): g = ${f2(pipelinedGap)} s drafted ahead, o = ${f2(sequentialOverhead)} s beyond A in sequence.`,
  );
  for (const startup of values.startup.split(',').map(Number)) {
    const limit = budget / (budget + startup);
    console.log('');
    console.log(`start-up/compile/eval S = ${startup} s; physical limit B / (B + S) = ${f1(100 * limit)}%`);
    console.log('');
    console.log('| model s per experiment | sequential: experiment s | sequential: training share | pipelined: experiment s | pipelined: training share | pipelined / physical limit | experiments per night, sequential → pipelined |');
    console.log('|-----------------------:|-------------------------:|---------------------------:|------------------------:|--------------------------:|---------------------------:|-----------------------------------------------:|');
    for (const a of modelAgents) {
      const seq = a + sequentialOverhead + startup + budget;
      const pipe = pipelined(a, startup + budget, pipelinedGap);
      const nights = `${Math.floor((hours * 3600) / seq)} → ${Math.floor((hours * 3600) / pipe)}`;
      console.log(
        `| ${String(a).padStart(22)} | ${f1(seq).padStart(24)} | ${f1((100 * budget) / seq).padStart(25)}% | ${f1(pipe).padStart(23)} | ${f1((100 * budget) / pipe).padStart(24)}% | ${f1((100 * budget) / pipe / limit).padStart(25)}% | ${nights.padStart(46)} |`,
      );
    }
  }
  // The model checked against (a): what it predicts for the stand-in against what was measured.
  console.log('');
  for (const { t, a, la1, la0 } of aRuns) {
    console.log(
      `model check, T ${t} s, A ${a} s: pipelined predicted ${f2(pipelined(a, t, pipelinedGap))} s, measured ${f2(la1.secPerExperiment)} s; ` +
        `sequential predicted ${f2(t + a + sequentialOverhead)} s, measured ${f2(la0.secPerExperiment)} s`,
    );
  }
}

// (d) Every free GPU. The baseline's --baseline-runs 3 on 3 slots (at once) against 1 slot (in
// turn); then a night on 4 slots, one change in four better, by the default rule against the
// classic one, the trainer's value noisy so that the default rule confirms candidates.
if (PARTS.has('d')) {
  console.log('');
  console.log(`(d) Every free GPU: T ${T} s, A ${A} s, trainer noise σ ${NOISE} (seeded), lookahead 1`);
  console.log('');
  console.log('| baseline runs | slots | time to the decided baseline s | x one slot | goal |');
  console.log('|--------------:|------:|-------------------------------:|-----------:|------|');
  const baselineRule: Rule = { baselineRuns: 3, confirmRuns: 2, noise: NOISE };
  const one = await measureOrRetry(['0'], 1, T, A, 0, null, baselineRule);
  const three = await measureOrRetry(['0', '1', '2'], 1, T, A, 0, null, baselineRule);
  console.log(`| 3 | 1 | ${f2(one.baselineSec).padStart(30)} | ${'1.00'.padStart(10)} | |`);
  const ratio = three.baselineSec / one.baselineSec;
  console.log(`| 3 | 3 | ${f2(three.baselineSec).padStart(30)} | ${f2(ratio).padStart(10)} | ≤ 0.45: ${ratio <= 0.45 ? 'met' : 'MISSED'} |`);
  console.log('');
  const slots = ['0', '1', '2', '3'];
  console.log(`4 slots, ${4 * PER_SLOT} experiments, one change in four better (a gain of 0.001, σ ${NOISE}):`);
  console.log('');
  console.log('| rule | decided experiments per hour (steady) | training runs | runs per experiment | keeps | whole night s | branch, worktrees |');
  console.log('|------|--------------------------------------:|--------------:|--------------------:|------:|--------------:|-------------------|');
  for (const [label, rule] of [
    ['classic (1, 0)', { baselineRuns: 1, confirmRuns: 0, noise: NOISE }],
    ['default (3, 2)', { baselineRuns: 3, confirmRuns: 2, noise: NOISE }],
  ] as const) {
    const r = await measureOrRetry(slots, 1, T, A, 4 * PER_SLOT, 4, rule);
    console.log(
      `| ${label} | ${f1(r.rowsPerHour).padStart(37)} | ${String(r.runs).padStart(13)} | ${f2(r.runs / r.experiments).padStart(19)} | ${String(r.keeps).padStart(5)} | ${f1(r.wallSec).padStart(13)} | ${checks(r).padEnd(17)} |`,
    );
  }
  printDeaths();
}
