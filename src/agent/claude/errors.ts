// How the Anthropic SDK's errors read: which pass (429, 5xx, 529, a dropped stream) and are
// retried by shared/retry.ts, and which can never succeed (bad key, billing, bad request) and stop
// the run with a message naming what to fix. Pure.

import { APIError, APIConnectionError, APIUserAbortError, AnthropicError } from '@anthropic-ai/sdk';
import { FatalAgentError } from '../../engine/types.js';
import { retryAfterMs, StreamStalledError, type ErrorClassifier, type ErrorVerdict } from '../shared/retry.js';

const RETRYABLE_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error']);
const AUTH_TYPES = new Set(['authentication_error', 'permission_error']);

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

/** The classifier withRetry uses for calls to `model`. */
export function anthropicErrors(model: string): ErrorClassifier {
  return { service: 'The Anthropic API', classify: (err) => classifyError(err, model) };
}
