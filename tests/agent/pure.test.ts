// The pure pieces of the agent: price table and cost, retry policy, path judgement, descriptions,
// the shell's environment, output capping, git status parsing, model choice.

import { APIConnectionError, APIError, APIUserAbortError, AnthropicError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { FatalAgentError } from '../../src/engine/types.js';
import { COMMAND_MAX_BYTES, isSecretEnvName, OutputCap, shellEnv, unrunnableCommand } from '../../src/agent/shared/bash.js';
import { checkApiKey, DEFAULT_MODEL, resolveModel } from '../../src/agent/claude/model.js';
import { judgePath } from '../../src/agent/shared/paths.js';
import { costOfCall, PRICES, priceFor } from '../../src/agent/claude/pricing.js';
import { anthropicErrors, classifyError } from '../../src/agent/claude/errors.js';
import { backoffDelay, retryAfterMs, StreamStalledError, withRetry, type BackoffPolicy } from '../../src/agent/shared/retry.js';
import { toolDefinitions } from '../../src/agent/claude/tools.js';
import { sanitizeDescription } from '../../src/agent/shared/tools.js';
import { transcriptPath } from '../../src/agent/shared/transcript.js';
import { parseStatusV2 } from '../../src/git/guard.js';

function apiError(status: number | undefined, type: string, headers: Record<string, string> = {}): APIError {
  return APIError.generate(status, { type: 'error', error: { type, message: `${type} happened` } }, undefined, new Headers(headers));
}

describe('pricing', () => {
  it('prices a call from the table: input, output, cache write, cache read', () => {
    // Sonnet 5.5: $2 in, $10 out, $2.50 cache write, $0.10 cache read per million.
    const cost = costOfCall('claude-sonnet-5-5', { inputTokens: 1_000_000, outputTokens: 1_000_000, cacheWriteTokens: 1_000_000, cacheReadTokens: 1_000_000 });
    expect(cost).toBeCloseTo(2 + 10 + 2.5 + 0.1, 10);
    expect(costOfCall('claude-opus-5-5', { inputTokens: 2000, outputTokens: 500, cacheWriteTokens: 0, cacheReadTokens: 10_000 })).toBeCloseTo((2000 * 4 + 500 * 20 + 10_000 * 0.2) / 1e6, 12);
  });

  it('prices 1-hour cache writes at their own rate', () => {
    // Sonnet 5.5: 5-minute writes $2.50/M, 1-hour writes $4/M.
    expect(costOfCall('claude-sonnet-5-5', { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 3_000_000, cacheWrite1hTokens: 1_000_000 })).toBeCloseTo(2 * 2.5 + 4, 10);
    for (const [model, p] of Object.entries(PRICES)) expect(p.cacheWrite1h, model).toBeCloseTo(2 * p.input, 10);
  });

  it('bills Haiku 5.5 at its long-prompt rate past 100k prompt tokens, counting cache tokens', () => {
    const short = costOfCall('claude-haiku-5-5', { inputTokens: 50_000, outputTokens: 1000, cacheWriteTokens: 0, cacheReadTokens: 50_000 });
    const long = costOfCall('claude-haiku-5-5', { inputTokens: 50_001, outputTokens: 1000, cacheWriteTokens: 0, cacheReadTokens: 50_000 });
    expect(short).toBeCloseTo((50_000 * 0.1 + 1000 * 0.5 + 50_000 * 0.01) / 1e6, 12);
    expect(long).toBeCloseTo((50_001 * 0.5 + 1000 * 2.5 + 50_000 * 0.05) / 1e6, 12);
  });

  it('knows dated snapshots and falls back by family for unknown models', () => {
    expect(priceFor('claude-haiku-4-5-20251001')).toEqual({ price: PRICES['claude-haiku-4-5'], known: true });
    expect(priceFor('claude-sonnet-9').known).toBe(false);
    expect(priceFor('claude-sonnet-9').price.input).toBe(3);
    expect(priceFor('something-else').price.input).toBe(10);
    expect(PRICES[DEFAULT_MODEL]).toBeDefined();
  });
});

describe('model and key', () => {
  it('resolves the flag, then AUTORESEARCH_MODEL, then the default', () => {
    expect(resolveModel('claude-opus-5-5', { AUTORESEARCH_MODEL: 'claude-haiku-5-5' })).toBe('claude-opus-5-5');
    expect(resolveModel(undefined, { AUTORESEARCH_MODEL: 'claude-haiku-5-5' })).toBe('claude-haiku-5-5');
    expect(resolveModel('  ', {})).toBe(DEFAULT_MODEL);
  });

  it('explains a missing key', () => {
    expect(checkApiKey({ ANTHROPIC_API_KEY: 'sk-ant-x' })).toBeNull();
    expect(checkApiKey({})).toMatch(/ANTHROPIC_API_KEY is not set[\s\S]*export ANTHROPIC_API_KEY=/);
    expect(checkApiKey({ ANTHROPIC_API_KEY: ' ' })).not.toBeNull();
  });
});

describe('retry policy', () => {
  const policy: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, patienceMs: 3_600_000 };

  it('classifies: overload, rate limit, 5xx and network faults retry; auth and bad requests are fatal; abort aborts', () => {
    expect(classifyError(apiError(529, 'overloaded_error'), 'm').kind).toBe('retry');
    expect(classifyError(apiError(429, 'rate_limit_error', { 'retry-after': '3' }), 'm')).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
    expect(classifyError(apiError(500, 'api_error'), 'm').kind).toBe('retry');
    expect(classifyError(apiError(undefined, 'overloaded_error'), 'm').kind).toBe('retry'); // SSE error event
    expect(classifyError(new APIConnectionError({ message: 'ECONNRESET' }), 'm').kind).toBe('retry');
    expect(classifyError(new AnthropicError('stream ended without producing a Message'), 'm').kind).toBe('retry');
    expect(classifyError(new StreamStalledError('quiet'), 'm').kind).toBe('retry');
    const auth = classifyError(apiError(401, 'authentication_error'), 'm');
    expect(auth).toMatchObject({ kind: 'fatal' });
    expect(auth.kind === 'fatal' && auth.message).toMatch(/ANTHROPIC_API_KEY/);
    expect(classifyError(apiError(403, 'permission_error'), 'm').kind).toBe('fatal');
    const bad = classifyError(apiError(404, 'not_found_error'), 'claude-nope');
    expect(bad.kind === 'fatal' && bad.message).toMatch(/claude-nope/);
    expect(classifyError(apiError(400, 'invalid_request_error'), 'm').kind).toBe('fatal');
    expect(classifyError(apiError(413, 'request_too_large'), 'm').kind).toBe('fatal');
    expect(classifyError(new APIUserAbortError(), 'm').kind).toBe('abort');
    expect(classifyError(new TypeError('our bug'), 'm').kind).toBe('rethrow');
  });

  it('reads retry-after-ms, retry-after seconds and dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(10_000).toUTCString() }), 4000)).toBe(6000);
    expect(retryAfterMs(new Headers({}))).toBeNull();
  });

  it('backs off exponentially with jitter, capped, and honours the server', () => {
    expect(backoffDelay(1, policy, null, 0)).toBe(500);
    expect(backoffDelay(1, policy, null, 1)).toBe(1000);
    expect(backoffDelay(3, policy, null, 1)).toBe(4000);
    expect(backoffDelay(30, policy, null, 1)).toBe(60_000);
    expect(backoffDelay(30, policy, null, 0)).toBe(30_000);
    expect(backoffDelay(1, policy, 7000, 0.5)).toBe(7000);
  });

  it('retries within the patience on a simulated clock, then stops with a resumable FatalAgentError', async () => {
    let clock = 0;
    const waits: number[] = [];
    const err = apiError(529, 'overloaded_error');
    const p = withRetry(
      async () => {
        throw err;
      },
      anthropicErrors('m'),
      { baseMs: 1000, maxMs: 10_000, patienceMs: 30_000 },
      {
        signal: new AbortController().signal,
        now: () => clock,
        random: () => 1,
        onRetry: ({ waitMs }) => waits.push(waitMs),
        sleep: async (ms) => {
          clock += ms;
        },
      },
    );
    await expect(p).rejects.toBeInstanceOf(FatalAgentError);
    await expect(p).rejects.toThrow(/run the same command again to resume/);
    expect(waits.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(waits.reduce((a, b) => a + b, 0)).toBe(30_000);
  });
});

describe('paths, descriptions, tools', () => {
  it('judges paths: outside refused, non-editable writes refused, reads allowed', () => {
    expect(judgePath('/etc/passwd', null, false, ['train.py'])).toMatchObject({ ok: false });
    expect(judgePath('prepare.py', 'prepare.py', true, ['train.py'])).toMatchObject({ ok: false, why: expect.stringMatching(/not editable/) });
    expect(judgePath('prepare.py', 'prepare.py', false, ['train.py'])).toMatchObject({ ok: true });
    expect(judgePath('./train.py', 'train.py', true, ['./train.py'])).toMatchObject({ ok: true, rel: 'train.py' });
    expect(judgePath('.git/config', '.git/config', true, ['.git/config'])).toMatchObject({ ok: false });
  });

  it('sanitises descriptions to one bounded TSV-safe line', () => {
    expect(sanitizeDescription('raise LR\tto 0.04\nbecause\r\nloss')).toBe('raise LR to 0.04 because loss');
    expect(sanitizeDescription('x'.repeat(500))).toHaveLength(200);
    expect(sanitizeDescription(undefined)).toBe('');
  });

  it('offers bash, the text editor and submit_experiment, cache breakpoint on the last', () => {
    const tools = toolDefinitions();
    expect(tools.map((t) => t.name)).toEqual(['bash', 'str_replace_based_edit_tool', 'submit_experiment']);
    expect(tools.map((t) => ('type' in t ? t.type : 'custom'))).toEqual(['bash_20250124', 'text_editor_20250728', 'custom']);
    expect(tools[2]).toMatchObject({ cache_control: { type: 'ephemeral' } });
  });

  it('names transcripts by zero-padded experiment and fix attempt', () => {
    expect(transcriptPath('/r', 'nov26', 7)).toBe('/r/.autoresearch/nov26/transcripts/0007.jsonl');
    expect(transcriptPath('/r', 'nov26', 12, 2)).toBe('/r/.autoresearch/nov26/transcripts/0012-fix2.jsonl');
    expect(transcriptPath('/r', '../evil', 1)).toBe('/r/.autoresearch/.._evil/transcripts/0001.jsonl');
  });
});

describe('shell environment and output', () => {
  it('drops ANTHROPIC_* and anything named like a key, token, secret, password, credential or auth', () => {
    const env = shellEnv({ PATH: '/bin', HOME: '/h', ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'u', OPENAI_API_KEY: 'k', GITHUB_TOKEN: 't', MY_SECRET: 's', DB_PASSWORD: 'p', AWS_CREDENTIALS: 'c', HTTP_AUTH: 'a', CUDA_VISIBLE_DEVICES: '0' });
    expect(Object.keys(env).sort()).toEqual(['CUDA_VISIBLE_DEVICES', 'GIT_PAGER', 'GIT_TERMINAL_PROMPT', 'HOME', 'PAGER', 'PATH']);
    expect(isSecretEnvName('anthropic_whatever')).toBe(true);
  });

  it('keeps the head and tail of long output', () => {
    const cap = new OutputCap(10, 10);
    cap.push('0123456789abcdefghij');
    cap.push('KLMNOPQRSTUVWXYZ');
    expect(cap.text()).toBe('0123456789\n[… 16 characters of output omitted …]\nQRSTUVWXYZ');
  });

  it('refuses commands the OS cannot run (NUL bytes, over the argument limit in UTF-8 bytes), with the reason', () => {
    expect(unrunnableCommand('ls -la')).toBeNull();
    expect(unrunnableCommand('x'.repeat(COMMAND_MAX_BYTES))).toBeNull();
    expect(unrunnableCommand('x'.repeat(COMMAND_MAX_BYTES + 1))).toMatch(/too long \(100001 bytes; the limit is about 100 KB/);
    // Counted in bytes, not characters: 40k three-byte characters are 120 KB.
    expect(unrunnableCommand('€'.repeat(40_000))).toMatch(/too long \(120000 bytes/);
    expect(unrunnableCommand('echo a\u0000b')).toMatch(/NUL byte/);
  });
});

describe('git status parsing', () => {
  it('reads HEAD, the branch and entries from porcelain v2', () => {
    const out = [
      '# branch.oid 94761506f7084f950b18f93302d0a53f8300de18',
      '# branch.head main',
      '1 .M N... 100644 100644 100644 aaa aaa a file.txt',
      '1 A. N... 000000 100644 100644 000 bbb new.txt',
      '2 R. N... 100644 100644 100644 ccc ccc R100 c.txt',
      'b.txt',
      '? stray.txt',
      '',
    ].join('\0');
    expect(parseStatusV2(out)).toEqual({
      head: '94761506f7084f950b18f93302d0a53f8300de18',
      branch: 'refs/heads/main',
      entries: [
        { path: 'a file.txt', inHead: true, inIndex: true },
        { path: 'new.txt', inHead: false, inIndex: true },
        { path: 'c.txt', inHead: false, inIndex: true },
        { path: 'b.txt', inHead: true, inIndex: false },
        { path: 'stray.txt', inHead: false, inIndex: false },
      ],
    });
    expect(parseStatusV2('# branch.oid (initial)\0# branch.head (detached)\0')).toEqual({ head: null, branch: null, entries: [] });
  });
});
