export { OpenAiAgent, type OpenAiAgentOptions } from './agent.js';
export { checkOpenAiKey, isLocalEndpoint, resolveBaseUrl, resolveOpenAiModel, DEFAULT_OPENAI_BASE_URL, MISSING_MODEL } from './model.js';
export { OPENAI_PRICES, openAiUsage, resolveOpenAiPrice, tablePrice, type OpenAiPrice, type PriceSource } from './pricing.js';
