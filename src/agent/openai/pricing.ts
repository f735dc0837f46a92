// What a conversation through --provider openai costs: USD per million tokens, from
// --price-in/--price-out when given, else from a small table of hosted models (OpenAI's published
// prices at the time of writing; cached input is what prompt_tokens_details.cached_tokens counts),
// else $0 for an endpoint on this machine. Pure.

import type { Usage } from '../../engine/types.js';
import { isLocalEndpoint } from './model.js';

export interface OpenAiPrice {
  input: number;
  cachedInput: number;
  output: number;
}

const p = (input: number, cachedInput: number, output: number): OpenAiPrice => ({ input, cachedInput, output });

export const OPENAI_PRICES: Readonly<Record<string, OpenAiPrice>> = {
  'gpt-5': p(1.25, 0.125, 10),
  'gpt-5-mini': p(0.25, 0.025, 2),
  'gpt-5-nano': p(0.05, 0.005, 0.4),
  'gpt-4.1': p(2, 0.5, 8),
  'gpt-4.1-mini': p(0.4, 0.1, 1.6),
  'gpt-4.1-nano': p(0.1, 0.025, 0.4),
  'gpt-4o': p(2.5, 1.25, 10),
  'gpt-4o-mini': p(0.15, 0.075, 0.6),
  o3: p(2, 0.5, 8),
  'o4-mini': p(1.1, 0.275, 4.4),
};

export const FREE: OpenAiPrice = p(0, 0, 0);

/** Where a price came from: the flags, the table, a local endpoint, or nowhere (counted as $0). */
export type PriceSource = 'flags' | 'table' | 'local' | 'unknown';

/** The table's price of a model id, also under a router's "openai/" prefix or with a dated suffix (gpt-4.1-2025-04-14). */
export function tablePrice(model: string): OpenAiPrice | null {
  const bare = model.replace(/^openai\//, '');
  return OPENAI_PRICES[bare] ?? OPENAI_PRICES[bare.replace(/-\d{4}-\d{2}-\d{2}$/, '')] ?? null;
}

export function resolveOpenAiPrice(model: string, baseUrl: string, flags: { priceIn: number | null; priceOut: number | null }): { price: OpenAiPrice; source: PriceSource } {
  if (flags.priceIn !== null && flags.priceOut !== null) {
    // Cached input is not priced separately by the flags: counted at the full input price, cost errs high.
    return { price: p(flags.priceIn, flags.priceIn, flags.priceOut), source: 'flags' };
  }
  if (isLocalEndpoint(baseUrl)) return { price: FREE, source: 'local' };
  const known = tablePrice(model);
  if (known) return { price: known, source: 'table' };
  return { price: FREE, source: 'unknown' };
}

/** The Usage of one call, from the API's prompt and completion token counts. */
export function openAiUsage(price: OpenAiPrice, tokens: { promptTokens: number; completionTokens: number; cachedTokens: number }): Usage {
  const cached = Math.min(tokens.cachedTokens, tokens.promptTokens);
  const fresh = tokens.promptTokens - cached;
  return {
    inputTokens: fresh,
    outputTokens: tokens.completionTokens,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
    costUsd: (fresh * price.input + cached * price.cachedInput + tokens.completionTokens * price.output) / 1_000_000,
  };
}
