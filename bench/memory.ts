// The research memory, measured: the REAL runLoop, a landscape of 60 ideas with known true effects,
// and a simulated researcher that knows only what the program's first message shows it.
//
// The landscape. Each idea is a flag line in train.py (`IDEA_17 = 0`, turned on as `IDEA_17 = 1`), so
// code identity is real: the same flags are the same bytes, the same fingerprint. The stand-in
// trainer prints val_bpb = BASE + the sum of the true effects of the flags on (+ a pair's bonus when
// both of its ideas are on) + N(0, σ) drawn from the run's seed (AUTORESEARCH_SEED). Most ideas are
// null or harmful, a few help alone, and three pairs help only together: each half alone is a
// −0.5σ nudge that the noise rule does not keep, the two together −4σ.
//
// The researcher. An Agent with no state of its own (its random choice is seeded by the seed and
// the number of the call, so both variants draw the same numbers on the same call). It builds the
// real first message with buildUserPrompt(ctx, { maxTurns: 30 }) and parses it: every history line
// (and every kept line of a folded group) names the ideas its description turned on. It reads
// train.py for the flags already on, as a model would view the file. Then:
//   1. an idea the message does not show as tried, at random;
//   2. when every idea is shown as tried: a pair of near misses (the plateau section's, and the
//      history's "within noise" discards) whose union is not shown as tried, at random;
//   3. else any combination of two ideas not shown as tried (never reached in these runs).
// "Shown as tried" is per unit: an idea alone, or a combination as a whole.
//
// The two variants, the same researcher, the same landscape, the same seeds:
//   - window: the previous design. The researcher sees only the 15 newest rows (ctx.history sliced
//     before the message is built) and no plateau section (the old program had none). The engine
//     still refuses code already measured (src/engine/lab.ts askAgent's backstop): each refusal is
//     a proposal the old program would have trained. When five come in a row the scheduler stops
//     the loop (MAX_CONSECUTIVE_SKIPS); the bench then resumes it, as its message says to, until the
//     variant has made all its proposals.
//   - memory: the program as it is (every row, notes, plateau section, default --plateau 10).
// Both: 1 slot, lookahead 0, the default noise rule (--baseline-runs 3 --confirm-runs 2), no fix
// attempts, no sandbox, an instant trainer. Each variant makes the same number of proposals
// (--experiments); the GPU runs are counted from the trainer's own record of the seeds it got.
//
//   npm run bench:memory                                   # 200 proposals per variant, 1 landscape (seed 7)
//   npm run bench:memory -- --experiments 100 --replicates 1 --seed 5

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildUserPrompt } from '../src/agent/shared/prompt.js';
import { makeEngineConfig } from '../src/engine/config.js';
import { fingerprintOfFiles, findDuplicate } from '../src/engine/duplicates.js';
import { runLoop } from '../src/engine/loop.js';
import { MAX_CONSECUTIVE_SKIPS } from '../src/engine/scheduler.js';
import { ZERO_USAGE, type Agent, type EngineEvent, type ExperimentContext, type Proposal, type ResultRow } from '../src/engine/types.js';
import { estimateTokens } from '../src/fakeapi/wire.js';
import { readResultsFile } from '../src/ledger/results.js';
import { git, machineLine, prng, workspace } from './harness.js';

const { values: args } = parseArgs({
  options: {
    experiments: { type: 'string', default: '200' },
    replicates: { type: 'string', default: '1' },
    seed: { type: 'string', default: '7' },
    sigma: { type: 'string', default: '0.005' },
    window: { type: 'string', default: '15' },
  },
});
const EXPERIMENTS = Number(args.experiments);
const REPLICATES = Number(args.replicates);
const SEED = Number(args.seed);
const SIGMA = Number(args.sigma);
const WINDOW = Number(args.window);
const BASE = 1.0; // the unmodified code's true val_bpb
const IDEAS = 60;
const MAX_TURNS = 30;
// The interpreter itself, not a version manager's shim (pyenv's costs a second a call on a busy
// machine); -S -B: no site packages, no bytecode files in the worktree. The trainer needs neither.
const PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();

// ---------- the landscape ----------

/** Effects in σ (negative: a gain, val_bpb is minimised). */
const SINGLE_EFFECTS: Array<{ label: string; effect: number; count: number }> = [
  { label: 'gain 3σ', effect: -3, count: 2 },
  { label: 'gain 2.5σ', effect: -2.5, count: 1 },
  { label: 'gain 2σ', effect: -2, count: 1 },
  { label: 'gain 1σ', effect: -1, count: 2 },
  { label: 'gain 0.5σ', effect: -0.5, count: 1 },
  { label: 'harm 1σ', effect: 1, count: 6 },
  { label: 'harm 2σ', effect: 2, count: 6 },
  { label: 'harm 4σ', effect: 4, count: 4 },
  { label: 'harm 8σ', effect: 8, count: 4 },
];
const PAIRS = 3;
const PAIR_HALF = -0.5; // each half alone
const PAIR_BONUS = -3; // both on: −0.5 − 0.5 − 3 = −4σ

interface Landscape {
  effect: number[]; // by idea index 0..59, in σ
  pairs: Array<[number, number]>;
  label: string[];
}


function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function makeLandscape(seed: number): Landscape {
  const order = shuffled(Array.from({ length: IDEAS }, (_, i) => i), prng(seed));
  const effect = new Array<number>(IDEAS).fill(0);
  const label = new Array<string>(IDEAS).fill('null');
  const pairs: Array<[number, number]> = [];
  let k = 0;
  for (let p = 0; p < PAIRS; p++) {
    const a = order[k++]!;
    const b = order[k++]!;
    pairs.push([a, b]);
    effect[a] = effect[b] = PAIR_HALF;
    label[a] = label[b] = `pair half ${p + 1}`;
  }
  for (const s of SINGLE_EFFECTS) {
    for (let c = 0; c < s.count; c++) {
      const i = order[k++]!;
      effect[i] = s.effect;
      label[i] = s.label;
    }
  }
  return { effect, pairs, label };
}

/** The true value (σ units, relative to BASE) of a set of flags on. */
function truthOf(land: Landscape, on: ReadonlySet<number>): number {
  let t = 0;
  for (const i of on) t += land.effect[i]!;
  for (const [a, b] of land.pairs) if (on.has(a) && on.has(b)) t += PAIR_BONUS;
  return t;
}

/** The best any set of flags can do: every gain, every pair. */
function oracle(land: Landscape): number {
  return truthOf(land, new Set(land.effect.flatMap((e, i) => (e < 0 ? [i] : []))));
}

const ideaName = (i: number): string => `IDEA_${String(i + 1).padStart(2, '0')}`;

const landscapePy = (land: Landscape, salt: number, seedsFile: string) => `# The landscape of bench/memory.ts (read-only): the true effect of each idea, and the noise.
import os, random
BASE = ${BASE}
SIGMA = ${SIGMA}
SALT = ${salt}
EFFECTS = ${JSON.stringify(land.effect)}
PAIRS = ${JSON.stringify(land.pairs)}
PAIR_BONUS = ${PAIR_BONUS}

def value(flags):
    on = {int(k[5:]) - 1 for k, v in flags.items() if v}
    t = sum(EFFECTS[i] for i in on) + sum(PAIR_BONUS for a, b in PAIRS if a in on and b in on)
    seed = int(os.environ["AUTORESEARCH_SEED"])
    with open(${JSON.stringify(seedsFile)}, "a") as f:
        f.write(f"{seed}\\n")
    return BASE + SIGMA * t + random.Random(f"{SALT}:{seed}").gauss(0, SIGMA)
`;

const trainPy = () => `# stand-in trainer of bench/memory.ts: one flag per idea; val_bpb from landscape.py
from landscape import value
${Array.from({ length: IDEAS }, (_, i) => `${ideaName(i)} = 0`).join('\n')}
print("---")
print(f"val_bpb:          {value({k: v for k, v in dict(globals()).items() if k.startswith('IDEA_')}):.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

/** The flags on in a train.py. */
function flagsOn(text: string): Set<number> {
  return new Set([...text.matchAll(/^IDEA_(\d+) = 1$/gm)].map((m) => Number(m[1]) - 1));
}

// ---------- what the message shows ----------

/** A unit of trial: an idea alone or a combination, as a sorted key. */
const unitKey = (ideas: Iterable<number>): string => [...new Set(ideas)].sort((a, b) => a - b).join('+');
const ideasOf = (description: string): number[] => [...description.matchAll(/IDEA_(\d+)/g)].map((m) => Number(m[1]) - 1);

interface Shown {
  tried: Set<string>; // units shown as tried (any status)
  withinNoise: number[][]; // units of discards the history line calls "within noise"
  nearMisses: number[][]; // units the plateau section lists as near misses
}

/** Parse the first message as the model reads it: history lines, folded groups' kept lines, the plateau section. */
export function parseMessage(text: string): Shown {
  const tried = new Set<string>();
  const withinNoise: number[][] = [];
  const nearMisses: number[][] = [];
  let inNearMisses = false;
  for (const line of text.split('\n')) {
    const hist = /^\s*#\d+ \S+ (keep|discard|crash) (.*?) \| (.*)$/.exec(line);
    if (hist) {
      const ideas = ideasOf(hist[3]!);
      if (ideas.length > 0) {
        tried.add(unitKey(ideas));
        if (hist[1] === 'discard' && / within noise$/.test(hist[2]!)) withinNoise.push(ideas);
      }
      continue;
    }
    if (line.startsWith('Near misses worth another look')) {
      inNearMisses = true;
      continue;
    }
    if (inNearMisses) {
      const m = /^- #\d+ .*\| (.*)$/.exec(line);
      if (m) {
        const ideas = ideasOf(m[1]!);
        if (ideas.length > 0) nearMisses.push(ideas);
        continue;
      }
      inNearMisses = false;
    }
  }
  return { tried, withinNoise, nearMisses };
}

// ---------- the researcher ----------

interface ProposalRecord {
  call: number;
  kind: 'single' | 'near-miss pair' | 'any pair';
  unit: string;
  repeatShown: boolean; // the unit was shown as tried in the message it read
  repeatInTag: boolean; // the unit was proposed before in the tag (a row of it exists), shown or not
  duplicateCode: boolean; // its code equals an earlier measured experiment's (findDuplicate over every row)
  tokens: number; // estimateTokens of the first message it read
  chars: number;
}

class Researcher implements Agent {
  readonly name: string;
  calls = 0;
  readonly records: ProposalRecord[] = [];

  constructor(
    readonly variant: 'window' | 'memory',
    private readonly seed: number,
  ) {
    this.name = `researcher-${variant}`;
  }

  async propose(ctx: ExperimentContext): Promise<Proposal> {
    const call = this.calls++;
    const seen: ExperimentContext = this.variant === 'window' ? { ...ctx, history: ctx.history.slice(-WINDOW), plateau: 0 } : ctx;
    const message = buildUserPrompt(seen, { maxTurns: MAX_TURNS });
    const shown = parseMessage(message);
    const file = path.join(ctx.repoDir, 'train.py');
    const text = fs.readFileSync(file, 'utf8');
    const on = flagsOn(text);
    const rand = prng(Number.parseInt(createHash('sha256').update(`${this.seed}:${call}`).digest('hex').slice(0, 8), 16));
    const free = (unit: readonly number[]) => unit.every((i) => !on.has(i)) && !shown.tried.has(unitKey(unit));

    let pick: number[] | null = null;
    let kind: ProposalRecord['kind'] = 'single';
    const singles = Array.from({ length: IDEAS }, (_, i) => [i]).filter(free);
    if (singles.length > 0) pick = singles[Math.floor(rand() * singles.length)]!;
    if (pick === null) {
      kind = 'near-miss pair';
      const pool = [...shown.nearMisses, ...shown.withinNoise].filter((u) => u.every((i) => !on.has(i)));
      const combos = new Map<string, number[]>();
      for (let a = 0; a < pool.length; a++) {
        for (let b = a + 1; b < pool.length; b++) {
          const union = [...new Set([...pool[a]!, ...pool[b]!])].sort((x, y) => x - y);
          if (union.length >= 2 && union.length <= 3 && free(union)) combos.set(unitKey(union), union);
        }
      }
      const list = [...combos.values()].sort((x, y) => (unitKey(x) < unitKey(y) ? -1 : 1));
      if (list.length > 0) pick = list[Math.floor(rand() * list.length)]!;
    }
    if (pick === null) {
      kind = 'any pair';
      const off = Array.from({ length: IDEAS }, (_, i) => i).filter((i) => !on.has(i));
      for (let tries = 0; tries < 10_000 && pick === null; tries++) {
        const a = off[Math.floor(rand() * off.length)]!;
        const b = off[Math.floor(rand() * off.length)]!;
        if (a !== b && free([a, b])) pick = [a, b].sort((x, y) => x - y);
      }
      if (pick === null) return { kind: 'skipped', reason: 'nothing left to try', usage: ZERO_USAGE };
    }

    let next = text;
    for (const i of pick) next = next.replace(new RegExp(`^${ideaName(i)} = 0$`, 'm'), `${ideaName(i)} = 1`);
    fs.writeFileSync(file, next);
    const code = fingerprintOfFiles(new Map([['train.py', Buffer.from(next)]]));
    const unit = unitKey(pick);
    this.records.push({
      call,
      kind,
      unit,
      repeatShown: shown.tried.has(unit),
      repeatInTag: ctx.history.some((r) => ideasOf(r.description).length > 0 && unitKey(ideasOf(r.description)) === unit),
      duplicateCode: findDuplicate(code, ctx.history) !== null,
      tokens: estimateTokens(message),
      chars: message.length,
    });
    const names = pick.map(ideaName).join(' + ');
    return { kind: 'submitted', description: `${names} on: ${kind === 'single' ? 'try this idea' : 'combine near misses'}`, usage: ZERO_USAGE };
  }
}

// ---------- one variant ----------

interface VariantResult {
  variant: 'window' | 'memory';
  proposals: ProposalRecord[];
  rows: ResultRow[]; // experiments' rows, baseline excluded
  refused: number; // refusals the engine reported (agent 'duplicate' activity)
  skipped: Map<string, number>; // other skips by reason
  halts: number; // loops stopped on MAX_CONSECUTIVE_SKIPS and resumed
  gpuRuns: number; // trainer's seed record, baseline excluded
  baselineRuns: number;
  finalTruth: number; // σ, relative to BASE
  truthAfterRuns: (runs: number, oldProgram: boolean) => number; // best's truth once `runs` GPU runs were spent
  keptUnits: string[];
  seconds: number;
}

async function runVariant(variant: 'window' | 'memory', land: Landscape, replicate: number): Promise<VariantResult> {
  const seedsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-memory-seeds-')), 'seeds.log');
  const { dir } = workspace(`memory-${variant}`, trainPy());
  fs.writeFileSync(path.join(dir, 'landscape.py'), landscapePy(land, SEED * 1000 + replicate, seedsFile));
  git(dir, 'add', 'landscape.py');
  git(dir, 'commit', '-q', '-m', 'landscape');
  const agent = new Researcher(variant, SEED * 1000 + replicate);
  let refused = 0;
  let halts = 0;
  const skipped = new Map<string, number>();
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'agent' && e.activity.kind === 'duplicate') refused++;
    if (e.type === 'skipped' && !/identical to experiment/.test(e.reason)) skipped.set(e.reason, (skipped.get(e.reason) ?? 0) + 1);
  };
  const t0 = performance.now();
  while (agent.calls < EXPERIMENTS) {
    const config = makeEngineConfig(dir, 'memory', {
      runCmd: `${PYTHON} -S -B train.py`,
      timeoutSec: 60,
      fixAttempts: 0,
      lookahead: 0,
      sandbox: 'off',
      baselineRuns: 3,
      confirmRuns: 2,
      maxExperiments: EXPERIMENTS - agent.calls,
    });
    const result = await runLoop(config, agent, { onEvent, signal: new AbortController().signal });
    if (result.exitCode === 0) continue;
    if (result.reason.startsWith(`${MAX_CONSECUTIVE_SKIPS} experiments in a row ended without a change`)) {
      halts++;
      continue;
    }
    throw new Error(`${variant}: the loop ended with ${result.exitCode}: ${result.reason}`);
  }
  const seconds = (performance.now() - t0) / 1000;

  const all = readResultsFile(path.join(dir, 'results.tsv')).rows;
  const baseline = all[0]!;
  const rows = all.slice(1);
  const seeds = fs.readFileSync(seedsFile, 'utf8').trim().split('\n');
  if (new Set(seeds).size !== seeds.length) throw new Error(`${variant}: a seed was used twice`);
  const baselineRuns = baseline.values?.length ?? 1;
  const runsOf = (r: ResultRow) => r.runs ?? r.values?.length ?? 1;
  const gpuRuns = seeds.length - baselineRuns;
  if (gpuRuns !== rows.reduce((a, r) => a + runsOf(r), 0)) throw new Error(`${variant}: ${gpuRuns} runs in the trainer's record, ${rows.reduce((a, r) => a + runsOf(r), 0)} in results.tsv`);

  // The timeline of GPU runs: each row's runs in order; for the old program, each refused proposal
  // is one more run (it trained it; a repeat of a measured discard is discarded again, the best unchanged).
  const truthOfCommit = (commit: string) => truthOf(land, flagsOn(git(dir, 'show', `${commit}:train.py`)));
  const submitted = agent.records.filter((p) => !p.duplicateCode);
  if (submitted.length !== rows.length) throw new Error(`${variant}: ${submitted.length} proposals not refused, ${rows.length} rows`);
  const events: Array<{ runs: number; truth: number | null; old: boolean }> = [];
  let rowIndex = 0;
  for (const p of agent.records) {
    if (p.duplicateCode) {
      events.push({ runs: 1, truth: null, old: true });
      continue;
    }
    const row = rows[rowIndex++]!;
    events.push({ runs: runsOf(row), truth: row.status === 'keep' ? truthOfCommit(row.commit) : null, old: false });
  }
  const truthAfterRuns = (budget: number, oldProgram: boolean): number => {
    let spent = 0;
    let best = 0;
    for (const e of events) {
      if (e.old && !oldProgram) continue;
      if (spent + e.runs > budget) break;
      spent += e.runs;
      if (e.truth !== null) best = e.truth;
    }
    return best;
  };
  const final = truthOf(land, flagsOn(fs.readFileSync(path.join(dir, 'train.py'), 'utf8')));
  const keptUnits = rows.filter((r) => r.status === 'keep').map((r) => unitKey(ideasOf(r.description)));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(seedsFile), { recursive: true, force: true });
  return { variant, proposals: agent.records, rows, refused, skipped, halts, gpuRuns, baselineRuns, finalTruth: final, truthAfterRuns, keptUnits, seconds };
}

// ---------- report ----------

const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
const sig = (x: number) => `${x <= 0 ? '' : '+'}${x.toFixed(1)}σ`;

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

console.log(`bench:memory — ${machineLine()}`);
console.log(`${REPLICATES} landscape(s) x ${EXPERIMENTS} proposals per variant; ${IDEAS} ideas, σ = ${SIGMA}, seed ${SEED}; 1 slot, lookahead 0, --baseline-runs 3 --confirm-runs 2, --plateau 10 (memory); window = the ${WINDOW} newest rows, no plateau section\n`);

interface Replicate {
  land: Landscape;
  window: VariantResult;
  memory: VariantResult;
}
const reps: Replicate[] = [];
for (let r = 0; r < REPLICATES; r++) {
  const land = makeLandscape(SEED * 1000 + r);
  const window = await runVariant('window', land, r);
  const memory = await runVariant('memory', land, r);
  reps.push({ land, window, memory });
  console.log(`landscape ${r + 1}: oracle ${sig(oracle(land))}; pairs ${land.pairs.map(([a, b]) => `${ideaName(a)}+${ideaName(b)}`).join(', ')}; window ${window.seconds.toFixed(1)} s, memory ${memory.seconds.toFixed(1)} s`);
}

const perVariant = (v: 'window' | 'memory') => reps.map((r) => r[v]);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const rowsFor = (v: 'window' | 'memory') => {
  const rs = perVariant(v);
  const proposals = rs.flatMap((r) => r.proposals);
  const n = proposals.length;
  const dup = proposals.filter((p) => p.duplicateCode).length;
  const shownRepeat = proposals.filter((p) => p.repeatShown).length;
  const tagRepeat = proposals.filter((p) => p.repeatInTag).length;
  const tokens = proposals.map((p) => p.tokens);
  return {
    n,
    dup,
    refused: sum(rs.map((r) => r.refused)),
    halts: sum(rs.map((r) => r.halts)),
    shownRepeat,
    tagRepeat,
    runs: sum(rs.map((r) => r.gpuRuns)),
    trained: sum(rs.map((r) => r.rows.length)),
    kinds: ['single', 'near-miss pair', 'any pair'].map((k) => proposals.filter((p) => p.kind === k).length).join(' / '),
    meanTokens: sum(tokens) / n,
    lastTokens: rs.map((r) => r.proposals.at(-1)!.tokens),
    other: sum(rs.flatMap((r) => [...r.skipped.values()])),
  };
};
const w = rowsFor('window');
const m = rowsFor('memory');

console.log('\nProposals and runs (all landscapes):\n');
console.log(
  table(
    ['measure', 'window (15 newest rows)', 'memory (every row)'],
    [
      ['proposals (first messages read)', String(w.n), String(m.n)],
      ['  of them: single idea / near-miss pair / any pair', w.kinds, m.kinds],
      ['proposals on code already measured (same fingerprint as an earlier row)', `${w.dup} (${pct(w.dup, w.n)})`, `${m.dup} (${pct(m.dup, m.n)})`],
      ['  refused by the engine before training (lab.askAgent backstop)', String(w.refused), String(m.refused)],
      ['  GPU runs the old program spent on them (at least one each)', `≥ ${w.dup}`, `≥ ${m.dup}`],
      ['loop stops on 5 refusals in a row (resumed)', String(w.halts), String(m.halts)],
      ['proposals repeating a unit the message showed as tried', `${w.shownRepeat} (${pct(w.shownRepeat, w.n)})`, `${m.shownRepeat} (${pct(m.shownRepeat, m.n)})`],
      ['proposals repeating a unit tried earlier in the tag (shown or not)', `${w.tagRepeat} (${pct(w.tagRepeat, w.n)})`, `${m.tagRepeat} (${pct(m.tagRepeat, m.n)})`],
      ['experiments trained (rows)', String(w.trained), String(m.trained)],
      ['GPU runs (trainer record, baseline excluded)', String(w.runs), String(m.runs)],
      ['other skips', String(w.other), String(m.other)],
      ['first message, tokens per experiment (mean)', w.meanTokens.toFixed(0), m.meanTokens.toFixed(0)],
      ['first message, tokens at the last proposal', w.lastTokens.join(', '), m.lastTokens.join(', ')],
    ],
  ),
);

console.log('\nThe best, in σ below the baseline\'s truth (sum of the true effects of the kept ideas, no noise); oracle = every gain and every pair:\n');
const finalRows = reps.map((r, i) => {
  const equal = Math.min(r.window.gpuRuns, r.memory.gpuRuns);
  const equalOld = Math.min(r.window.gpuRuns + r.window.proposals.filter((p) => p.duplicateCode).length, r.memory.gpuRuns);
  return [
    String(i + 1),
    sig(oracle(r.land)),
    `${sig(r.window.finalTruth)} (${r.window.gpuRuns} runs)`,
    `${sig(r.memory.finalTruth)} (${r.memory.gpuRuns} runs)`,
    `${equal}: ${sig(r.window.truthAfterRuns(equal, false))} / ${sig(r.memory.truthAfterRuns(equal, false))}`,
    `${equalOld}: ${sig(r.window.truthAfterRuns(equalOld, true))} / ${sig(r.memory.truthAfterRuns(equalOld, false))}`,
    r.window.keptUnits.map((u) => u.split('+').map((i) => ideaName(Number(i))).join('+')).join(' '),
    r.memory.keptUnits.map((u) => u.split('+').map((i) => ideaName(Number(i))).join('+')).join(' '),
  ];
});
console.log(
  table(
    ['landscape', 'oracle', 'window: final best', 'memory: final best', 'equal GPU runs: window / memory', 'equal GPU runs, old program (refused repeats trained): window / memory', 'window kept', 'memory kept'],
    finalRows,
  ),
);
const labelOf = (land: Landscape, unit: string) =>
  unit
    .split('+')
    .map((i) => land.label[Number(i)])
    .join(' + ');
console.log('\nKept, by true kind:');
for (const [i, r] of reps.entries()) {
  for (const v of ['window', 'memory'] as const) console.log(`  landscape ${i + 1} ${v}: ${r[v].keptUnits.map((u) => labelOf(r.land, u)).join('; ') || 'nothing'}`);
}

const memWins = reps.filter((r) => {
  const equal = Math.min(r.window.gpuRuns + r.window.proposals.filter((p) => p.duplicateCode).length, r.memory.gpuRuns);
  return r.memory.truthAfterRuns(equal, false) < r.window.truthAfterRuns(equal, true);
}).length;
console.log('\nGoals:');
console.log(`  0 GPU runs on code already measured (memory): ${m.dup === 0 && m.refused === 0 ? 'met' : 'MISSED'} (${m.dup} proposals, ${m.refused} refused; window ${w.dup})`);
console.log(`  ≤ 2% of proposals repeat a unit the message showed as tried (memory): ${m.shownRepeat / m.n <= 0.02 ? 'met' : 'MISSED'} (${pct(m.shownRepeat, m.n)}; repeats of a unit tried earlier in the tag ${pct(m.tagRepeat, m.n)}, window ${pct(w.tagRepeat, w.n)})`);
console.log(`  a final true value better than the window's at equal GPU runs: ${memWins === reps.length ? 'met' : 'MISSED'} in ${memWins} of ${reps.length} landscape(s)`);
