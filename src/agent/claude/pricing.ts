// What a conversation with the model costs. Prices are USD per million tokens, per model, from
// Anthropic's pricing page (platform.claude.com/docs/en/about-claude/pricing) as of November 2026.
// Cache writes have two prices, by TTL: this agent writes the system prompt and tools with a
// 1-hour TTL (they must outlive a 5-minute training run) and the conversation with 5 minutes.
// Pure: no I/O, so the table and the arithmetic are unit-tested directly.

import type { Usage } from '../../engine/types.js';

export interface Price {
  input: number; // base input tokens
  output: number;
  cacheWrite: number; // 5-minute cache writes
  cacheWrite1h: number; // 1-hour cache writes
  cacheRead: number; // cache hits and refreshes
}

/** A model whose price changes with the size of the prompt (Haiku 5.5 bills a whole request by its prompt length). */
export interface TieredPrice extends Price {
  longPrompt?: { thresholdTokens: number; price: Price };
}

const price = (input: number, output: number, cacheWrite: number, cacheWrite1h: number, cacheRead: number): Price => ({ input, output, cacheWrite, cacheWrite1h, cacheRead });

const FABLE_5_1 = price(10, 50, 12.5, 20, 0.25);
const FABLE_5 = price(10, 50, 12.5, 20, 1);
const OPUS_4X = price(5, 25, 6.25, 10, 0.5);
const SONNET_4X = price(3, 15, 3.75, 6, 0.3);
const HAIKU_4_5 = price(1, 5, 1.25, 2, 0.1);

export const PRICES: Readonly<Record<string, TieredPrice>> = {
  'claude-fable-5-2': FABLE_5_1,
  'claude-mythos-5-2': FABLE_5_1,
  'claude-fable-5-1': FABLE_5_1,
  'claude-mythos-5-1': FABLE_5_1,
  'claude-fable-5': FABLE_5,
  'claude-mythos-5': FABLE_5,
  'claude-opus-5-5': price(4, 20, 5, 8, 0.2),
  'claude-opus-5': OPUS_4X,
  'claude-opus-4-8': OPUS_4X,
  'claude-opus-4-7': OPUS_4X,
  'claude-opus-4-6': OPUS_4X,
  'claude-opus-4-5': OPUS_4X,
  'claude-sonnet-5-5': price(2, 10, 2.5, 4, 0.1),
  'claude-sonnet-5': price(2, 10, 2.5, 4, 0.2),
  'claude-sonnet-4-6': SONNET_4X,
  'claude-sonnet-4-5': SONNET_4X,
  'claude-haiku-5-5': { ...price(0.1, 0.5, 0.125, 0.2, 0.01), longPrompt: { thresholdTokens: 100_000, price: price(0.5, 2.5, 0.625, 1, 0.05) } },
  'claude-haiku-4-5': HAIKU_4_5,
};

// A model missing from the table (a newer release, a dated snapshot id) is priced like the most
// expensive member of its family, so --max-cost errs on the side of stopping early.
const FAMILY_FALLBACK: ReadonlyArray<[RegExp, TieredPrice]> = [
  [/fable|mythos/, FABLE_5],
  [/opus/, OPUS_4X],
  [/sonnet/, SONNET_4X],
  [/haiku/, HAIKU_4_5],
];
const UNKNOWN_FALLBACK: TieredPrice = FABLE_5;

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
  cacheWriteTokens: number; // all cache writes, whatever their TTL
  cacheWrite1hTokens?: number; // the part of cacheWriteTokens written with a 1-hour TTL
}

/** USD cost of one API call. Tiers are decided per call, on the whole prompt (input + cache reads + writes). */
export function costOfCall(model: string, tokens: CallTokens): number {
  const { price: tiered } = priceFor(model);
  const promptTokens = tokens.inputTokens + tokens.cacheReadTokens + tokens.cacheWriteTokens;
  const p: Price = tiered.longPrompt && promptTokens > tiered.longPrompt.thresholdTokens ? tiered.longPrompt.price : tiered;
  const write1h = Math.min(tokens.cacheWrite1hTokens ?? 0, tokens.cacheWriteTokens);
  const write5m = tokens.cacheWriteTokens - write1h;
  return (tokens.inputTokens * p.input + tokens.outputTokens * p.output + write5m * p.cacheWrite + write1h * p.cacheWrite1h + tokens.cacheReadTokens * p.cacheRead) / 1_000_000;
}

/** The Usage of one call: its tokens plus their cost. */
export function usageOfCall(model: string, tokens: CallTokens): Usage {
  return {
    inputTokens: tokens.inputTokens,
    outputTokens: tokens.outputTokens,
    cacheReadTokens: tokens.cacheReadTokens,
    cacheWriteTokens: tokens.cacheWriteTokens,
    costUsd: costOfCall(model, tokens),
  };
}
