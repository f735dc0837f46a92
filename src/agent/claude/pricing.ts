// What a conversation with the model costs. Prices are USD per million tokens, per model, from
// Anthropic's pricing page (platform.claude.com/docs/en/about-claude/pricing) as of November 2026.
// Cache writes are priced at the 5-minute rate because that is the only TTL this agent asks for.
// Pure: no I/O, so the table and the arithmetic are unit-tested directly.

import type { Usage } from '../../engine/types.js';

export interface Price {
  input: number; // base input tokens
  output: number;
  cacheWrite: number; // 5-minute cache writes
  cacheRead: number; // cache hits and refreshes
}

/** A model whose price changes with the size of the prompt (Haiku 5.5 bills a whole request by its prompt length). */
export interface TieredPrice extends Price {
  longPrompt?: { thresholdTokens: number; price: Price };
}

const OPUS_4X: Price = { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 };
const SONNET_4X: Price = { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 };

export const PRICES: Readonly<Record<string, TieredPrice>> = {
  'claude-fable-5-2': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 0.25 },
  'claude-mythos-5-2': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 0.25 },
  'claude-fable-5-1': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 0.25 },
  'claude-mythos-5-1': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 0.25 },
  'claude-fable-5': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 1 },
  'claude-mythos-5': { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 1 },
  'claude-opus-5-5': { input: 4, output: 20, cacheWrite: 5, cacheRead: 0.2 },
  'claude-opus-5': OPUS_4X,
  'claude-opus-4-8': OPUS_4X,
  'claude-opus-4-7': OPUS_4X,
  'claude-opus-4-6': OPUS_4X,
  'claude-opus-4-5': OPUS_4X,
  'claude-sonnet-5-5': { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.1 },
  'claude-sonnet-5': { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 },
  'claude-sonnet-4-6': SONNET_4X,
  'claude-sonnet-4-5': SONNET_4X,
  'claude-haiku-5-5': {
    input: 0.1,
    output: 0.5,
    cacheWrite: 0.125,
    cacheRead: 0.01,
    longPrompt: { thresholdTokens: 100_000, price: { input: 0.5, output: 2.5, cacheWrite: 0.625, cacheRead: 0.05 } },
  },
  'claude-haiku-4-5': { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
};

// A model missing from the table (a newer release, a dated snapshot id) is priced like the most
// expensive member of its family, so --max-cost errs on the side of stopping early.
const FAMILY_FALLBACK: ReadonlyArray<[RegExp, TieredPrice]> = [
  [/fable|mythos/, { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 1 }],
  [/opus/, OPUS_4X],
  [/sonnet/, SONNET_4X],
  [/haiku/, { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 }],
];
const UNKNOWN_FALLBACK: TieredPrice = { input: 10, output: 50, cacheWrite: 12.5, cacheRead: 1 };

/** The price of a model; `known` is false when it was guessed from the family name. */
export function priceFor(model: string): { price: TieredPrice; known: boolean } {
  const exact = PRICES[model];
  if (exact) return { price: exact, known: true };
  // Dated snapshot ids (claude-haiku-4-5-20251001) cost what their alias costs.
  const alias = model.replace(/-\d{8}$/, '');
  const aliased = PRICES[alias];
  if (aliased) return { price: aliased, known: true };
  for (const [pattern, price] of FAMILY_FALLBACK) if (pattern.test(model)) return { price, known: false };
  return { price: UNKNOWN_FALLBACK, known: false };
}

/** Token counts of one API call, as the response's `usage` reports them. */
export interface CallTokens {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** USD cost of one API call. Tiers are decided per call, on the whole prompt (input + cache reads + writes). */
export function costOfCall(model: string, tokens: CallTokens): number {
  const { price: tiered } = priceFor(model);
  const promptTokens = tokens.inputTokens + tokens.cacheReadTokens + tokens.cacheWriteTokens;
  const price: Price =
    tiered.longPrompt && promptTokens > tiered.longPrompt.thresholdTokens ? tiered.longPrompt.price : tiered;
  return (
    (tokens.inputTokens * price.input +
      tokens.outputTokens * price.output +
      tokens.cacheWriteTokens * price.cacheWrite +
      tokens.cacheReadTokens * price.cacheRead) /
    1_000_000
  );
}

/** The Usage of one call: its tokens plus their cost. */
export function usageOfCall(model: string, tokens: CallTokens): Usage {
  return { ...tokens, costUsd: costOfCall(model, tokens) };
}
