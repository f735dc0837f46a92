// A streamed call with a watchdog: a stream that goes silent for `idleMs` is aborted and reported
// as a StreamStalledError, which retry.ts treats as a dropped connection. A half-open TCP
// connection otherwise hangs a night's run forever. Each provider's wire calls `arm` on every
// event it receives.

import { StreamStalledError } from './retry.js';

export async function withIdleWatchdog<T>(
  idleMs: number,
  signal: AbortSignal,
  run: (streamSignal: AbortSignal, arm: () => void) => Promise<T>,
  explain: (err: unknown) => unknown = (err) => err,
): Promise<T> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort();
    }, idleMs);
  };
  arm();
  try {
    return await run(controller.signal, arm);
  } catch (err) {
    if (stalled && !signal.aborted) throw new StreamStalledError(`no data from the API for ${idleMs / 1000} s`);
    throw explain(err);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}
