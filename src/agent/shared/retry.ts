// Surviving a night of API weather. A call that fails for a passing reason (429, 5xx, 529,
// a dropped or stalled connection) is retried with exponential backoff and jitter, honouring
// retry-after, for up to `patienceMs`; one that can never succeed (bad key, bad request) stops the
// run at once with a message a user can act on. The SDKs' own retries are off (maxRetries: 0), so
// this is the only policy. Which errors pass is each provider's to say (an ErrorClassifier, e.g.
// claude/errors.ts); delays are pure; `withRetry` adds the clock.

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

/** A provider's reading of the errors its SDK throws. */
export interface ErrorClassifier {
  service: string; // who failed, for the give-up message, e.g. "The Anthropic API"
  classify(err: unknown): ErrorVerdict;
}

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
export async function withRetry<T>(call: (attempt: number) => Promise<T>, errors: ErrorClassifier, policy: BackoffPolicy, hooks: RetryHooks): Promise<T> {
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
      const verdict = errors.classify(err);
      if (verdict.kind === 'abort') throw hooks.signal.reason ?? err;
      if (verdict.kind === 'rethrow') throw err;
      if (verdict.kind === 'fatal') throw new FatalAgentError(verdict.message);
      firstFailureAt ??= now();
      const elapsed = now() - firstFailureAt;
      const left = policy.patienceMs - elapsed;
      if (left <= 0) {
        throw new FatalAgentError(
          `${errors.service} has kept failing for ${minutes(elapsed)} (last error: ${verdict.reason}), longer than the API patience of ${minutes(policy.patienceMs)}. ` +
            'The run stopped cleanly and nothing was lost: run the same command again to resume (raise --api-patience to wait longer).',
        );
      }
      const waitMs = Math.min(left, backoffDelay(attempt, policy, verdict.retryAfterMs, random()));
      hooks.onRetry({ attempt, waitMs, reason: verdict.reason });
      await wait(waitMs, hooks.signal);
    }
  }
}
