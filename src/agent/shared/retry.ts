// Surviving a night of API weather. A call that fails for a passing reason (429, 5xx, 529,
// a dropped or stalled connection) is retried with exponential backoff and jitter, honouring
// retry-after, for up to `patienceMs`; one that can never succeed (bad key, bad request) stops the
// run at once with a message a user can act on. The SDK's own retries are off (maxRetries: 0), so
// this is the only policy. Classification and delays are pure; `withRetry` adds the clock.

import { APIError, APIConnectionError, APIUserAbortError, AnthropicError } from '@anthropic-ai/sdk';
import { FatalAgentError } from '../../engine/types.js';

export type ErrorVerdict =
  | { kind: 'retry'; reason: string; retryAfterMs: number | null }
  | { kind: 'fatal'; message: string }
  | { kind: 'abort' }
  | { kind: 'rethrow' }; // a bug of ours, not the API's: let it surface as is

/** Raised by our own stream watchdog when no event arrived for too long. */
export class StreamStalledError extends Error {
  override name = 'StreamStalledError';
}

const RETRYABLE_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error']);
const AUTH_TYPES = new Set(['authentication_error', 'permission_error']);

/** Milliseconds the server asked us to wait, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined | null, nowMs: number = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const after = headers.get('retry-after');
  if (after !== null && after.trim() !== '') {
    const seconds = Number(after);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  return null;
}

function apiDetail(err: APIError): string {
  const type = err.type ?? 'error';
  const message = err.apiMessage ?? err.message;
  return `${err.status ?? 'stream'} ${type}: ${message}`;
}

function authMessage(err: APIError): string {
  return (
    `The Anthropic API refused the credentials (${apiDetail(err)}). ` +
    'Check that ANTHROPIC_API_KEY holds a valid, active key (and that ANTHROPIC_BASE_URL, if set, points at the right endpoint), ' +
    'then run the same command again to resume.'
  );
}

function billingMessage(err: APIError): string {
  return `The Anthropic API refused to bill this request (${apiDetail(err)}). Add credits or raise the spend limit of the key's workspace, then run the same command again to resume.`;
}

function badRequestMessage(err: APIError, model: string): string {
  return (
    `The Anthropic API rejected the request (${apiDetail(err)}). ` +
    `Retrying cannot help. Check that the model "${model}" exists and is available to your key (--model or AUTORESEARCH_MODEL), ` +
    'then run the same command again to resume; if it persists, report it as a bug in autoresearch.'
  );
}

/** What to do about an error thrown by one API call. */
export function classifyError(err: unknown, model: string): ErrorVerdict {
  if (err instanceof FatalAgentError) return { kind: 'fatal', message: err.message };
  if (err instanceof StreamStalledError) return { kind: 'retry', reason: err.message, retryAfterMs: null };
  if (err instanceof APIUserAbortError) return { kind: 'abort' };
  if (err instanceof APIConnectionError) {
    return { kind: 'retry', reason: `connection error: ${err.message}`, retryAfterMs: null };
  }
  if (err instanceof APIError) {
    const status = err.status;
    const wait = retryAfterMs(err.headers);
    if (status === undefined) {
      // An `error` event in the middle of a stream: only its type tells what happened.
      const type: string = err.type ?? '';
      if (AUTH_TYPES.has(type)) return { kind: 'fatal', message: authMessage(err) };
      if (type === 'billing_error') return { kind: 'fatal', message: billingMessage(err) };
      if (type === 'invalid_request_error' || type === 'not_found_error' || type === 'request_too_large') {
        return { kind: 'fatal', message: badRequestMessage(err, model) };
      }
      return { kind: 'retry', reason: apiDetail(err), retryAfterMs: wait };
    }
    if (status === 401 || status === 403) return { kind: 'fatal', message: authMessage(err) };
    if (status === 402 || err.type === 'billing_error') return { kind: 'fatal', message: billingMessage(err) };
    if (status === 408 || status === 409 || status === 429 || status >= 500 || RETRYABLE_TYPES.has(err.type ?? '')) {
      return { kind: 'retry', reason: apiDetail(err), retryAfterMs: wait };
    }
    return { kind: 'fatal', message: badRequestMessage(err, model) };
  }
  if (err instanceof AnthropicError) {
    // The SDK wraps what went wrong while reading a stream (a reset socket, a body cut short,
    // "stream ended without producing a Message") in a bare AnthropicError: a network fault.
    return { kind: 'retry', reason: `stream interrupted: ${err.message}`, retryAfterMs: null };
  }
  return { kind: 'rethrow' };
}

export interface BackoffPolicy {
  baseMs: number; // first delay
  maxMs: number; // cap of the exponential part
  patienceMs: number; // give up once the failures of one call have lasted this long
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 60_000, patienceMs: 60 * 60 * 1000 };

/**
 * Delay before retry number `attempt` (1-based): the server's retry-after when it gave one,
 * otherwise base·2^(attempt-1) capped at maxMs, with "equal jitter" (half fixed, half random) so a
 * fleet of clients does not come back in lockstep.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, serverWaitMs: number | null, random: number): number {
  if (serverWaitMs !== null) return Math.min(serverWaitMs, policy.patienceMs);
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

export interface RetryHooks {
  signal: AbortSignal;
  onRetry: (info: { attempt: number; waitMs: number; reason: string }) => void;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>; // injectable so tests can run a simulated clock
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Math.round(m)} min` : `${Math.round(ms / 1000)} s`;
}

/**
 * Run `call` until it succeeds, retrying passing failures within the patience. Throws
 * FatalAgentError for failures that cannot pass (or outlast the patience), the signal's reason
 * when aborted, and anything unexpected as is.
 */
export async function withRetry<T>(call: (attempt: number) => Promise<T>, model: string, policy: BackoffPolicy, hooks: RetryHooks): Promise<T> {
  const now = hooks.now ?? Date.now;
  const random = hooks.random ?? Math.random;
  const wait = hooks.sleep ?? sleep;
  let firstFailureAt: number | null = null;
  for (let attempt = 1; ; attempt++) {
    hooks.signal.throwIfAborted();
    try {
      return await call(attempt);
    } catch (err) {
      if (hooks.signal.aborted) throw hooks.signal.reason;
      const verdict = classifyError(err, model);
      if (verdict.kind === 'abort') throw hooks.signal.reason ?? err;
      if (verdict.kind === 'rethrow') throw err;
      if (verdict.kind === 'fatal') throw new FatalAgentError(verdict.message);
      firstFailureAt ??= now();
      const elapsed = now() - firstFailureAt;
      const left = policy.patienceMs - elapsed;
      if (left <= 0) {
        throw new FatalAgentError(
          `The Anthropic API has kept failing for ${minutes(elapsed)} (last error: ${verdict.reason}), longer than the API patience of ${minutes(policy.patienceMs)}. ` +
            'The run stopped cleanly and nothing was lost: run the same command again to resume (raise --api-patience to wait longer).',
        );
      }
      const waitMs = Math.min(left, backoffDelay(attempt, policy, verdict.retryAfterMs, random()));
      hooks.onRetry({ attempt, waitMs, reason: verdict.reason });
      await wait(waitMs, hooks.signal);
    }
  }
}
