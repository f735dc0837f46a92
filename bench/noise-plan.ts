// The plan of bench/noise.ts and bench/noise-sim.ts: changes with known true effects (in units of
// the run-to-run noise σ), in fixed shares, shuffled by a seed. Shared so that the loop bench and
// the in-process simulation judge the same kind of night.

import { prng } from './harness.js';

/** A change's true effect on val_bpb, in units of σ: negative is a gain (val_bpb is minimised). */
export type Kind = { label: string; effect: number; share: number };

// Most changes do nothing; gains and harms of each size. Shares of the plan, each replicate exactly.
export const KINDS: Kind[] = [
  { label: 'gain 3σ', effect: -3, share: 0.06 },
  { label: 'gain 2σ', effect: -2, share: 0.07 },
  { label: 'gain 1σ', effect: -1, share: 0.07 },
  { label: 'gain 0.5σ', effect: -0.5, share: 0.07 },
  { label: 'null', effect: 0, share: 0.55 },
  { label: 'harm 0.5σ', effect: 0.5, share: 0.05 },
  { label: 'harm 1σ', effect: 1, share: 0.05 },
  { label: 'harm 2σ', effect: 2, share: 0.04 },
  { label: 'harm 3σ', effect: 3, share: 0.04 },
];

/** Exactly share × n changes of each kind (the remainder null), shuffled with the plan's PRNG. */
export function makePlan(n: number, seed: number): number[] {
  const plan: number[] = [];
  for (const k of KINDS) if (k.effect !== 0) for (let i = 0; i < Math.round(k.share * n); i++) plan.push(k.effect);
  while (plan.length < n) plan.push(0);
  const rand = prng(seed);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

export const kindOf = (effect: number): string => KINDS.find((k) => k.effect === effect)!.label;

/** What an oracle that keeps every gain and nothing else ends with: the sum of the gains, in σ (positive). */
export const oracleGain = (plan: readonly number[]): number => -plan.filter((e) => e < 0).reduce((a, b) => a + b, 0);

/** Standard normal draws from the PRNG (Box-Muller). */
export function gauss(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}
