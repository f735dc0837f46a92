export { ClaudeAgent, DEFAULTS, type ClaudeAgentOptions } from './agent.js';
export { DEFAULT_MODEL, resolveModel, checkApiKey } from './model.js';
export { PRICES, priceFor, costOfCall, usageOfCall, type Price, type CallTokens } from './pricing.js';
export { buildUserPrompt } from '../shared/prompt.js';
export { transcriptPath } from '../shared/transcript.js';
