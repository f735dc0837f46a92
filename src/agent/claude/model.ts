// Which model to talk to and whether we may talk to it at all. Pure functions of flags and env.

/**
 * Claude Sonnet 5.5: Anthropic's current Sonnet (not deprecated; Sonnet 4.5 reaches end of life on
 * 2026-11-30), strong at agentic coding, and at $2/$10 per million tokens cheap enough for a
 * night of a hundred short conversations. Override with --model or AUTORESEARCH_MODEL.
 */
export const DEFAULT_MODEL = 'claude-sonnet-5-5';

/** The model to use: the --model flag, else AUTORESEARCH_MODEL, else DEFAULT_MODEL. */
export function resolveModel(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromFlag = flag?.trim();
  if (fromFlag) return fromFlag;
  const fromEnv = env['AUTORESEARCH_MODEL']?.trim();
  if (fromEnv) return fromEnv;
  return DEFAULT_MODEL;
}

/**
 * An actionable message when the API key is missing, or null when it is there. The CLI calls this
 * before touching git, and exits 2 with the message.
 */
export function checkApiKey(env: NodeJS.ProcessEnv = process.env): string | null {
  const key = env['ANTHROPIC_API_KEY'];
  if (key !== undefined && key.trim() !== '') return null;
  return [
    'ANTHROPIC_API_KEY is not set, so autoresearch cannot talk to Claude.',
    'Create a key at https://platform.claude.com/settings/keys and export it, for example:',
    '  export ANTHROPIC_API_KEY=sk-ant-...',
    'To use a proxy or a compatible endpoint, also set ANTHROPIC_BASE_URL.',
    'Nothing was changed in the repository.',
  ].join('\n');
}
