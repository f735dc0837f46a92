// The keep rule alone, over whole nights, fast: the engine's settle() (schedule.ts) driven run by run
// the way experiment.ts drives it (lookahead 0, one slot, σ pooled from every row as lab.noise()
// does), with no git and no processes. The plan is bench/noise.ts's (known true effects, most null),
// the noise N(0, σ) per (experiment, run) from a seeded PRNG, so every rule sees the same draws. Used
// to choose the rule; bench/noise.ts then checks the choice through the real loop.
//
// Besides each rule's own night of --experiments, the classic rule (one run, strictly better) is
// given as many training runs as the rule used, by running it over a longer plan of the same kind:
// the final best's true value at equal GPU runs.
//
//   npm run bench:noise-sim                              # 40 replicates x 240 experiments
//   npm run bench:noise-sim -- --replicates 100 --rules 3:3,3:2,3:4

import { parseArgs } from 'node:util';
import { mean, pooledNoise } from '../src/engine/noise.js';
import { settle } from '../src/engine/schedule.js';
import { ENGINE_DEFAULTS } from '../src/engine/config.js';
import { prng } from './harness.js';
import { gauss, KINDS, makePlan, oracleGain, type Kind } from './noise-plan.js';

const { values: args } = parseArgs({
  options: {
    experiments: { type: 'string', default: '240' },
    replicates: { type: 'string', default: '40' },
    seed: { type: 'string', default: '12' },
    rules: { type: 'string', default: `1:0,${ENGINE_DEFAULTS.baselineRuns}:${ENGINE_DEFAULTS.confirmRuns},3:2,3:4,5:3` },
  },
});
const EXPERIMENTS = Number(args.experiments);
const REPLICATES = Number(args.replicates);
const SEED = Number(args.seed);
const SIGMA = 0.005;
const BASE = 1.0;
const RULES = args.rules.split(',').map((r) => {
  const [b, c] = r.split(':').map(Number);
  return { baselineRuns: b!, confirmRuns: c! };
});

interface Night {
  runs: number;
  gain: number; // the final best's true gain over the baseline, in σ
  seen: Map<number, number>;
  kept: Map<number, number>;
}

/** Experiment n's k-th run: the same draw under every rule. */
const draw = (salt: number, n: number, k: number): number => gauss(prng((salt * 1_000_003 + n * 64 + k) >>> 0))();

/** One night: the baseline, then the plan, each change judged by settle() after every run. */
function night(baselineRuns: number, confirmRuns: number, plan: readonly number[], salt: number): Night {
  const rows: number[][] = [];
  const baseline = Array.from({ length: Math.max(1, baselineRuns) }, (_, k) => BASE + SIGMA * draw(salt, 0, k));
  rows.push(baseline);
  let best = { commit: 'c0', values: baseline, truth: BASE };
  const seen = new Map<number, number>();
  const kept = new Map<number, number>();
  plan.forEach((effect, i) => {
    const truth = best.truth + effect * SIGMA;
    const values: number[] = [];
    seen.set(effect, (seen.get(effect) ?? 0) + 1);
    for (;;) {
      const value = truth + SIGMA * draw(salt, i + 1, values.length);
      values.push(value);
      const s = settle(
        { outcome: { kind: 'measured', value, memoryGb: 1 }, values, runBase: best.commit, runsLeft: confirmRuns - (values.length - 1) },
        { commit: best.commit, values: best.values, runBaseValues: null },
        'min',
        pooledNoise([...rows, values]),
      );
      if (s.kind === 'confirm') continue;
      rows.push(values);
      if (s.kind === 'keep') {
        kept.set(effect, (kept.get(effect) ?? 0) + 1);
        best = { commit: `c${i + 1}`, values, truth };
      } else if (s.kind !== 'discard') throw new Error(`unexpected settlement ${s.kind}`);
      break;
    }
  });
  return { runs: rows.reduce((a, r) => a + r.length, 0), gain: (BASE - best.truth) / SIGMA, seen, kept };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const share = (nights: Night[], f: (k: Kind) => boolean) => {
  const kinds = KINDS.filter(f).map((k) => k.effect);
  const kept = sum(nights.map((n) => sum(kinds.map((e) => n.kept.get(e) ?? 0))));
  const seen = sum(nights.map((n) => sum(kinds.map((e) => n.seen.get(e) ?? 0))));
  return `${((100 * kept) / seen).toFixed(1)}%`;
};

console.log(`bench:noise-sim — ${REPLICATES} replicates x ${EXPERIMENTS} experiments, σ = ${SIGMA}, plan seeds ${SEED}..${SEED + REPLICATES - 1}; settle() run by run, no loop`);
const plans = Array.from({ length: REPLICATES }, (_, r) => makePlan(EXPERIMENTS, SEED + r));
const classic = plans.map((p, r) => night(1, 0, p, SEED * 1000 + r));
console.log('\n| rule (baseline runs, confirm runs) | null kept | gains ≥ 2σ kept | gains 1σ kept | harms kept | runs / classic\'s | final best, true gain (mean) | classic at equal runs: final best (its oracle) | oracle |');
console.log('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const rule of RULES) {
  const nights = plans.map((p, r) => night(rule.baselineRuns, rule.confirmRuns, p, SEED * 1000 + r));
  // The classic rule, given as many runs: one run per experiment plus its one baseline run.
  const equal = nights.map((n, r) => {
    const longer = makePlan(n.runs - 1, SEED + r);
    return { night: night(1, 0, longer, SEED * 1000 + r), oracle: oracleGain(longer) };
  });
  const runs = sum(nights.map((n) => n.runs)) / sum(classic.map((n) => n.runs));
  console.log(
    `| ${rule.baselineRuns}, ${rule.confirmRuns} | ${share(nights, (k) => k.effect === 0)} | ${share(nights, (k) => k.effect <= -2)} | ${share(nights, (k) => k.effect === -1)} | ${share(nights, (k) => k.effect > 0)} | ${runs.toFixed(2)}x | +${mean(nights.map((n) => n.gain)).toFixed(1)}σ | +${mean(equal.map((e) => e.night.gain)).toFixed(1)}σ (+${mean(equal.map((e) => e.oracle)).toFixed(1)}σ) | +${mean(plans.map(oracleGain)).toFixed(1)}σ |`,
  );
}
