// Noise-aware keeps, measured (issue 12): the REAL runLoop with a stand-in trainer whose val_bpb is
// its true value plus Gaussian noise N(0, σ) drawn from the run's seed (AUTORESEARCH_SEED), and a
// scripted model whose changes have known true effects (most zero, some ±0.5σ, 1σ, 2σ, 3σ). Effects
// add up: each change appends its effect to a list in train.py, so the truth of any commit, the
// final best included, is the base plus the sum of that list. The same plan and the same noise
// (a salt per replicate, the engine's seeds) go through the classic rule (--baseline-runs 1
// --confirm-runs 0) and the default, so the two differ only by the rule. A third arm gives the
// classic rule as many training runs as the default used, per replicate, by running it over a
// longer plan of the same kind (same seed, same shares): the final best at equal GPU runs.
//
// Lookahead 0 (the strict sequence) and an instant trainer make each arm deterministic given the
// plan's PRNG seed; the training runs are counted from the trainer's own record of the seeds it got.
// The runs are not sandboxed: the sandbox is not what is measured here, and it would only cost time.
//
//   npm run bench:noise                                  # 2 replicates x 240 experiments, σ = 0.005
//   npm run bench:noise -- --replicates 4                # the recorded figures: plan seeds 12..15
//   npm run bench:noise -- --replicates 4 --experiments 300 --seed 7

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ENGINE_DEFAULTS, makeEngineConfig } from '../src/engine/config.js';
import { runLoop } from '../src/engine/loop.js';
import { ZERO_USAGE, type Agent, type EngineConfig, type EngineEvent, type ExperimentContext, type Proposal } from '../src/engine/types.js';
import { noiseVerdict } from '../src/engine/noise.js';
import { readResultsFile } from '../src/ledger/results.js';
import { git, machineLine, prng, workspace } from './harness.js';
import { gauss, KINDS, kindOf, makePlan, oracleGain, type Kind } from './noise-plan.js';

const { values: args } = parseArgs({
  options: {
    experiments: { type: 'string', default: '240' },
    replicates: { type: 'string', default: '2' },
    seed: { type: 'string', default: '12' },
    sigma: { type: 'string', default: '0.005' },
    parallel: { type: 'string', default: '1' }, // replicates at once (each arm stays deterministic)
  },
});
const PARALLEL = Math.max(1, Number(args.parallel));
const EXPERIMENTS = Number(args.experiments);
const REPLICATES = Number(args.replicates);
const SEED = Number(args.seed);
const SIGMA = Number(args.sigma);
const BASE = 1.0; // the unmodified code's true val_bpb

/**
 * The rule alone, for reading the loop's figures: the engine's noiseVerdict, driven run by run as
 * experiment.ts drives it, against a best whose `bestRuns` runs are unbiased draws of its truth and
 * with σ known exactly (df 1000): no lucky best, no estimated σ. Share kept and mean runs per candidate.
 */
function ruleAlone(gainSigmas: number, bestRuns: number, confirmRuns: number, draws: number, seed: number): { kept: number; runs: number } {
  const z = gauss(prng(seed));
  const noise = { sigma: SIGMA, df: 1000 };
  let kept = 0;
  let runs = 0;
  for (let d = 0; d < draws; d++) {
    const best = Array.from({ length: bestRuns }, () => BASE + SIGMA * z());
    const values = [BASE - gainSigmas * SIGMA + SIGMA * z()];
    for (;;) {
      const v = noiseVerdict(best, values, noise, 'min', confirmRuns - (values.length - 1));
      if (v.kind !== 'confirm') {
        if (v.kind === 'keep') kept++;
        break;
      }
      values.push(BASE - gainSigmas * SIGMA + SIGMA * z());
    }
    runs += values.length;
  }
  return { kept: kept / draws, runs: runs / draws };
}

/** The trainer: truth = BASE + the sum of the effects on its list; noise from the salt and the seed. */
const trainer = (salt: number, seedsFile: string) => `# noisy stand-in trainer: val_bpb = truth + N(0, sigma) drawn from the seed
import os, random
SALT = ${salt}
BASE = ${BASE}
SIGMA = ${SIGMA}
EFFECTS = [
]
seed = int(os.environ["AUTORESEARCH_SEED"])
value = BASE + sum(EFFECTS) + random.Random(f"{SALT}:{seed}").gauss(0, SIGMA)
with open(${JSON.stringify(seedsFile)}, "a") as f:
    f.write(f"{seed}\\n")
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

/** The effects a train.py carries, in σ. */
function effectsOf(trainPy: string): number[] {
  const list = /^EFFECTS = \[\n([\s\S]*?)^\]/m.exec(trainPy)?.[1] ?? '';
  return [...list.matchAll(/^ {4}([-\d.e]+), # change \d+$/gm)].map((m) => Number(m[1]) / SIGMA);
}

/** Each experiment appends its change's effect to the list: that is the change, nothing else. */
class PlanAgent implements Agent {
  readonly name = 'plan-agent';
  private next = 0;
  constructor(private readonly plan: readonly number[]) {}
  async propose(ctx: ExperimentContext): Promise<Proposal> {
    const i = this.next++;
    const effect = this.plan[i];
    if (effect === undefined) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    const file = path.join(ctx.repoDir, 'train.py');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^\]$/m, `    ${effect * SIGMA}, # change ${i + 1}\n]`));
    return { kind: 'submitted', description: `change ${i + 1} (${kindOf(effect)})`, usage: ZERO_USAGE };
  }
}

interface ArmResult {
  kept: Map<string, number>; // kind → kept
  seen: Map<string, number>; // kind → experiments with a row
  runs: number; // training runs, from the trainer's record
  rows: number;
  crashes: number;
  confirmed: number; // experiments run more than once (the baseline not counted)
  bestTrue: number; // the final best's true val_bpb
  bestReported: number; // what results.tsv says the best is (the mean of its runs)
  bestRuns: number; // how many runs that mean is of
  luck: number[]; // per experiment: the luck of the bar it was judged against (the best's reported value minus its truth, in σ; negative: lucky)
  keptAfter: number[]; // keeps (the baseline not counted) by their number of runs: [1 run, 2 runs, 3 runs, ...]
  sigma: number | null; // the pooled noise σ at the end, as the engine estimated it
  df: number;
  seconds: number;
}

type Arm = { name: string; over: Partial<EngineConfig> };
const { baselineRuns: B, confirmRuns: C } = ENGINE_DEFAULTS;
const ARMS: Arm[] = [
  { name: 'classic (1, 0)', over: { baselineRuns: 1, confirmRuns: 0 } },
  { name: `default (${B}, ${C})`, over: { baselineRuns: B, confirmRuns: C } },
  // Filled per replicate: the classic rule over as many experiments as the default used runs, less its one baseline run.
  { name: 'classic, equal runs', over: { baselineRuns: 1, confirmRuns: 0 } },
];
const EQUAL = 2; // the arm above

async function runArm(arm: Arm, plan: number[], salt: number): Promise<ArmResult> {
  const seedsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-noise-seeds-')), 'seeds.log');
  const { dir } = workspace('noise', trainer(salt, seedsFile));
  const t0 = performance.now();
  const config = makeEngineConfig(dir, 'noise', {
    runCmd: 'python3 train.py',
    timeoutSec: 60,
    fixAttempts: 0,
    lookahead: 0,
    sandbox: 'off',
    maxExperiments: plan.length,
    ...arm.over,
  });
  let noise: { sigma: number; df: number } | undefined;
  const onEvent = (e: EngineEvent) => {
    if (e.type === 'result' && e.noise) noise = e.noise;
  };
  const result = await runLoop(config, new PlanAgent(plan), { onEvent, signal: new AbortController().signal });
  const seconds = (performance.now() - t0) / 1000;
  if (result.exitCode !== 0) throw new Error(`${arm.name}: the loop ended with ${result.exitCode}: ${result.reason}`);

  const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
  const seeds = fs.readFileSync(seedsFile, 'utf8').trim().split('\n');
  if (new Set(seeds).size !== seeds.length) throw new Error(`${arm.name}: a seed was used twice`);
  const kept = new Map<string, number>();
  const seen = new Map<string, number>();
  let keptTruth = BASE;
  const luck: number[] = [];
  let barLuck = (rows[0]!.value - BASE) / SIGMA;
  for (const r of rows.slice(1)) {
    const i = Number(/^change (\d+) /.exec(r.description)?.[1]);
    const effect = plan[i - 1];
    if (effect === undefined) throw new Error(`${arm.name}: a row that is no change of the plan: ${r.description}`);
    const k = kindOf(effect);
    seen.set(k, (seen.get(k) ?? 0) + 1);
    luck.push(barLuck);
    if (r.status === 'keep') {
      kept.set(k, (kept.get(k) ?? 0) + 1);
      keptTruth += effect * SIGMA;
      barLuck = (r.value - keptTruth) / SIGMA;
    }
  }
  // The truth of the final best, read from the branch itself, must agree with the ledger's keeps.
  const bestTrue = BASE + effectsOf(git(dir, 'show', 'HEAD:train.py')).reduce((a, e) => a + e * SIGMA, 0);
  if (Math.abs(bestTrue - keptTruth) > 1e-9) throw new Error(`${arm.name}: the branch's truth ${bestTrue} is not the keeps' ${keptTruth}`);
  const best = rows.filter((r) => r.status === 'keep').at(-1)!;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(seedsFile), { recursive: true, force: true });
  return {
    kept,
    seen,
    runs: seeds.length,
    rows: rows.length,
    crashes: rows.filter((r) => r.status === 'crash').length,
    confirmed: rows.slice(1).filter((r) => (r.values?.length ?? 1) > 1).length,
    bestTrue,
    bestReported: best.value,
    bestRuns: best.values?.length ?? 1,
    luck,
    keptAfter: [1, 2, 3, 4].map((n) => rows.slice(1).filter((r) => r.status === 'keep' && (r.values?.length ?? 1) === n).length),
    sigma: noise?.sigma ?? null,
    df: noise?.df ?? 0,
    seconds,
  };
}

const pct = (a: number, b: number) => (b === 0 ? '   -  ' : `${((100 * a) / b).toFixed(1).padStart(5)}%`);
const sig = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}σ`;
const pad = (s: string | number, n: number) => String(s).padStart(n);

async function main(): Promise<void> {
  console.log(`bench:noise — ${machineLine()}`);
  console.log(`${REPLICATES} replicate(s) x ${EXPERIMENTS} experiments per rule, σ = ${SIGMA}, plan seed ${SEED}; lookahead 0, instant trainer; ${PARALLEL} replicate(s) at once`);
  const plans = Array.from({ length: REPLICATES }, (_, r) => makePlan(EXPERIMENTS, SEED + r));
  const armPlans: number[][][] = ARMS.map(() => []);
  const results: ArmResult[][] = ARMS.map(() => []);
  const replicate = async (r: number) => {
    for (let a = 0; a < ARMS.length; a++) {
      // The classic rule at equal runs: one run per experiment, so the default's runs less one baseline run.
      const plan = a === EQUAL ? makePlan(results[1]![r]!.runs - 1, SEED + r) : plans[r]!;
      armPlans[a]![r] = plan;
      const x = await runArm(ARMS[a]!, plan, SEED * 1000 + r);
      results[a]![r] = x;
      // Progress, on stderr: enough to read a replicate that finished when a later one does not.
      const kept = [...x.kept.values()].reduce((p, q) => p + q, 0);
      console.error(`replicate ${r + 1}, ${ARMS[a]!.name}: ${plan.length} experiments, ${x.runs} runs, ${kept} keeps (null ${x.kept.get('null') ?? 0}/${x.seen.get('null') ?? 0}), final best true ${sig((BASE - x.bestTrue) / SIGMA)}, oracle ${sig(oracleGain(plan))}, ${x.seconds.toFixed(0)} s`);
    }
  };
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(PARALLEL, REPLICATES) }, async () => {
    while (next < REPLICATES) await replicate(next++);
  }));
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  const total = (a: number, f: (r: ArmResult) => number) => sum(results[a]!.map(f));
  const count = (a: number, m: 'kept' | 'seen', kinds: (k: Kind) => boolean) => total(a, (r) => sum(KINDS.filter(kinds).map((k) => r[m].get(k.label) ?? 0)));

  console.log('\nKept, by the change\'s true effect (all replicates):\n');
  console.log(`| true effect | changes | ${ARMS.map((a) => `${a.name} kept`).join(' | ')} |`);
  console.log(`|-------------|--------:|${ARMS.map((a) => `${'-'.repeat(a.name.length + 6)}:`).join('|')}|`);
  for (const k of KINDS) {
    const cells = ARMS.map((_, a) => `${pad(count(a, 'kept', (x) => x === k), 4)} ${pct(count(a, 'kept', (x) => x === k), count(a, 'seen', (x) => x === k))}`);
    console.log(`| ${k.label.padEnd(11)} | ${pad(count(0, 'seen', (x) => x === k), 7)} | ${cells.map((c, a) => c.padStart(ARMS[a]!.name.length + 5)).join(' | ')} |`);
  }

  const nulls = (k: Kind) => k.effect === 0;
  const harms = (k: Kind) => k.effect > 0;
  const bigGains = (k: Kind) => k.effect <= -2;
  console.log('\nThe goals:\n');
  console.log(`| measure | goal | ${ARMS.map((a) => a.name).join(' | ')} |`);
  console.log(`|---------|------|${ARMS.map(() => '------:').join('|')}|`);
  const line = (name: string, goal: string, f: (a: number) => string) => console.log(`| ${name} | ${goal} | ${ARMS.map((_, a) => f(a)).join(' | ')} |`);
  line('null changes kept / null changes', '≤ 5%', (a) => pct(count(a, 'kept', nulls), count(a, 'seen', nulls)));
  line('false keeps (null or harmful) / null changes', '≤ 5%', (a) => pct(count(a, 'kept', (k) => k.effect >= 0), count(a, 'seen', nulls)));
  line('harmful changes kept / harmful changes', '', (a) => pct(count(a, 'kept', harms), count(a, 'seen', harms)));
  line('gains ≥ 2σ kept / gains ≥ 2σ', '≥ 80%', (a) => pct(count(a, 'kept', bigGains), count(a, 'seen', bigGains)));
  line('training runs (trainer\'s seed record)', '', (a) => String(total(a, (r) => r.runs)));
  line('training runs / classic\'s', '≤ 1.5x', (a) => `${(total(a, (r) => r.runs) / total(0, (r) => r.runs)).toFixed(2)}x`);
  line('experiments run more than once', '', (a) => String(total(a, (r) => r.confirmed)));
  line('keeps after 1 / 2 / 3 / 4 runs', '', (a) => [0, 1, 2, 3].map((i) => total(a, (r) => r.keptAfter[i]!)).join(' / '));
  line('the bar\'s luck: best\'s reported − true value, mean over experiments judged against it', '', (a) => sig(total(a, (r) => sum(r.luck)) / total(a, (r) => r.luck.length)));
  line('crashes', '0', (a) => String(total(a, (r) => r.crashes)));
  line(`pooled σ at the end, per replicate (true σ ${SIGMA})`, '', (a) => results[a]!.map((r) => (r.sigma === null ? 'none' : `${r.sigma.toFixed(5)} (df ${r.df})`)).join(', '));

  console.log('\nThe final best, per replicate: its true value, and what results.tsv says it is (gain over the baseline\'s truth, in σ), its training runs, and the oracle of its plan (every gain kept, nothing else):\n');
  console.log(`| replicate | ${ARMS.map((a) => `${a.name}: true / reported (runs of the best) · GPU runs · oracle`).join(' | ')} |`);
  console.log(`|----------:|${ARMS.map(() => '------------------------------:').join('|')}|`);
  for (let r = 0; r < REPLICATES; r++) {
    const cells = ARMS.map((_, a) => {
      const x = results[a]![r]!;
      return `${sig((BASE - x.bestTrue) / SIGMA)} (${x.bestTrue.toFixed(6)}) / ${sig((BASE - x.bestReported) / SIGMA)} (${x.bestRuns}) · ${x.runs} · ${sig(oracleGain(armPlans[a]![r]!))}`;
    });
    console.log(`| ${pad(r + 1, 9)} | ${cells.join(' | ')} |`);
  }
  const meanOf = (a: number, f: (x: ArmResult, r: number) => number) => sum(results[a]!.map(f)) / REPLICATES;
  console.log(`| mean | ${ARMS.map((_, a) => `${sig(meanOf(a, (x) => (BASE - x.bestTrue) / SIGMA))} · ${meanOf(a, (x) => x.runs).toFixed(1)} · ${sig(meanOf(a, (_, r) => oracleGain(armPlans[a]![r]!)))} (${(100 * meanOf(a, (x, r) => (BASE - x.bestTrue) / SIGMA / oracleGain(armPlans[a]![r]!))).toFixed(1)}% of it)`).join(' | ')} |`);
  const DRAWS = 20_000;
  console.log(`\nThe rule alone (the engine's noiseVerdict, not the loop; σ known exactly, the best's runs unbiased; ${DRAWS} draws per cell): share kept, mean runs per candidate\n`);
  console.log('| true effect | best of 1 run, confirm 3 | best of 3 runs, confirm 2 | best of 3 runs, confirm 3 | best of 3 runs, confirm 4 |');
  console.log('|-------------|-------------------------:|--------------------------:|--------------------------:|--------------------------:|');
  for (const g of [3, 2, 1, 0.5, 0]) {
    const cells = [
      [1, 3],
      [3, 2],
      [3, 3],
      [3, 4],
    ].map(([b, c]) => {
      const r = ruleAlone(g, b!, c!, DRAWS, SEED + Math.round(g * 10) * 100 + b! * 10 + c!);
      return `${(100 * r.kept).toFixed(1).padStart(5)}%, ${r.runs.toFixed(2)} runs`.padStart(b === 1 ? 24 : 25);
    });
    console.log(`| ${(g === 0 ? 'null' : `gain ${g}σ`).padEnd(11)} | ${cells.join(' | ')} |`);
  }

  console.log(`\nwall time per rule: ${ARMS.map((a, i) => `${a.name} ${total(i, (r) => r.seconds).toFixed(1)} s`).join(', ')}; rows per replicate ${results[0]!.map((r) => r.rows).join(', ')} (baseline + experiments)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
