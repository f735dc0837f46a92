// How the openai client's errors read: which pass (429, 5xx, a dropped or cut-short stream) and are
// retried by shared/retry.ts, and which can never succeed (bad key, unknown model, a server without
// tool support) and stop the run with a message naming what to fix. Pure.

import { APIConnectionError, APIError, APIUserAbortError, OpenAIError } from 'openai';
import { FatalAgentError } from '../../engine/types.js';
import { retryAfterMs, StreamStalledError, type ErrorClassifier, type ErrorVerdict } from '../shared/retry.js';

/** The stream broke off (socket reset, body cut short, no final chunk): a network fault, retried. */
export class StreamInterruptedError extends OpenAIError {
  override name = 'StreamInterruptedError';
}

function detail(err: APIError): string {
  const type = err.type ?? err.code ?? 'error';
  // The client puts the status in front of the server's message.
  const message = err.message.replace(/^\d{3} /, '');
  return `${err.status ?? 'stream'} ${type}: ${message}`;
}

/** A 400 that says the server or model cannot take tools (Ollama: "does not support tools"; vLLM: "auto" tool choice requires --enable-auto-tool-choice). */
export function rejectsTools(err: APIError): boolean {
  return err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403 && err.status !== 429 && /\btools?\b|tool[_ ]choice|function call/i.test(err.message);
}

/** A 400 that says the conversation no longer fits the model's context window. */
export function contextOverflow(err: unknown): boolean {
  if (!(err instanceof APIError) || err.status !== 400) return false;
  return err.code === 'context_length_exceeded' || /context (length|window)|maximum context|too many tokens|prompt is too long/i.test(err.message);
}

export function classifyOpenAiError(err: unknown, model: string, baseUrl: string): ErrorVerdict {
  if (err instanceof FatalAgentError) return { kind: 'fatal', message: err.message };
  if (err instanceof StreamStalledError) return { kind: 'retry', reason: err.message, retryAfterMs: null };
  if (err instanceof APIUserAbortError) return { kind: 'abort' };
  if (err instanceof APIConnectionError) return { kind: 'retry', reason: `connection error to ${baseUrl}: ${err.message}`, retryAfterMs: null };
  if (err instanceof APIError) {
    const status = err.status;
    if (status === undefined) {
      // An error object in the middle of a stream: the server gave up on this reply.
      return { kind: 'retry', reason: detail(err), retryAfterMs: null };
    }
    if (status === 401 || status === 403) {
      return {
        kind: 'fatal',
        message:
          `The endpoint ${baseUrl} refused the credentials (${detail(err)}). Check that OPENAI_API_KEY holds a valid key for it ` +
          '(a local server that needs none accepts any placeholder) and that --base-url / OPENAI_BASE_URL points at the right endpoint, then run the same command again to resume.',
      };
    }
    if (status === 402) return { kind: 'fatal', message: `The endpoint ${baseUrl} refused to bill this request (${detail(err)}). Add credits to the account, then run the same command again to resume.` };
    if (status === 408 || status === 409 || status === 429 || status >= 500) return { kind: 'retry', reason: detail(err), retryAfterMs: retryAfterMs(err.headers) };
    if (rejectsTools(err)) {
      return {
        kind: 'fatal',
        message:
          `The server at ${baseUrl} rejected the tools for model "${model}" (${detail(err)}). autoresearch needs a model and server with function calling (tool) support: ` +
          'with Ollama, pick a model that lists "tools" among its capabilities (e.g. qwen2.5-coder or llama3.1); with vLLM, start the server with --enable-auto-tool-choice and the --tool-call-parser of your model. Nothing was changed; run the same command again to resume.',
      };
    }
    return {
      kind: 'fatal',
      message:
        `The endpoint ${baseUrl} rejected the request (${detail(err)}). Retrying cannot help. Check that the model "${model}" exists there (--model or AUTORESEARCH_MODEL; for Ollama, ollama pull it first) ` +
        'and that --base-url ends where the server serves /chat/completions (e.g. http://localhost:11434/v1), then run the same command again to resume.',
    };
  }
  if (err instanceof OpenAIError) return { kind: 'retry', reason: `stream interrupted: ${err.message}`, retryAfterMs: null };
  return { kind: 'rethrow' };
}

export function openAiErrors(model: string, baseUrl: string): ErrorClassifier {
  return { service: `The endpoint ${baseUrl}`, classify: (err) => classifyOpenAiError(err, model, baseUrl) };
}
