// Settings of --provider openai, as pure functions of flags and environment: which model, which
// endpoint, whether a key is there, and whether the endpoint is on this machine (and so costs nothing).

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** The model for --provider openai: --model, else AUTORESEARCH_MODEL; there is no default, since every server has its own. */
export function resolveOpenAiModel(flag?: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const fromFlag = flag?.trim();
  if (fromFlag) return fromFlag;
  const fromEnv = env['AUTORESEARCH_MODEL']?.trim();
  return fromEnv ? fromEnv : null;
}

export const MISSING_MODEL =
  '--provider openai needs --model (or AUTORESEARCH_MODEL): the id your server serves, e.g. qwen2.5-coder:32b for Ollama, Qwen/Qwen2.5-Coder-32B-Instruct for vLLM, gpt-4.1 for OpenAI. Nothing was changed in the repository.';

/** The endpoint: --base-url, else OPENAI_BASE_URL, else OpenAI's. */
export function resolveBaseUrl(flag?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  const fromFlag = flag?.trim();
  if (fromFlag) return fromFlag;
  const fromEnv = env['OPENAI_BASE_URL']?.trim();
  return fromEnv ? fromEnv : DEFAULT_OPENAI_BASE_URL;
}

/** True for an endpoint on this machine (a local Ollama or vLLM), whose tokens cost nothing. */
export function isLocalEndpoint(baseUrl: string): boolean {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || host === '0.0.0.0' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** An actionable message when OPENAI_API_KEY is missing, or null when it is there. */
export function checkOpenAiKey(env: NodeJS.ProcessEnv = process.env): string | null {
  const key = env['OPENAI_API_KEY'];
  if (key !== undefined && key.trim() !== '') return null;
  return [
    'OPENAI_API_KEY is not set, so autoresearch cannot talk to the OpenAI-compatible endpoint.',
    'Export the key of your provider, for example:',
    '  export OPENAI_API_KEY=sk-...',
    'A local server that needs no key (Ollama, vLLM without --api-key) works with any placeholder:',
    '  export OPENAI_API_KEY=none',
    'Nothing was changed in the repository.',
  ].join('\n');
}
