// ToolRunner when the OS will not start a bash command at all (runBash rejects with a spawn
// error such as E2BIG or EAGAIN): the model gets a tool error and the repository stays on its
// rails; only an abort still throws. The real spawn failures are refused before spawning
// (tests/drills/tool-inputs.test.ts), so the spawn is faked here to reach this last line of defence.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanupRepos, makeRepo } from './helpers.js';

vi.mock('../../src/agent/claude/bash.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/agent/claude/bash.js')>();
  return {
    ...real,
    runBash: vi.fn(async (_command: string, opts: { signal: AbortSignal }) => {
      opts.signal.throwIfAborted();
      throw Object.assign(new Error(`spawn E2BIG ${'x'.repeat(10_000)}`), { code: 'E2BIG' });
    }),
  };
});

const { ToolRunner } = await import('../../src/agent/claude/tools.js');

afterEach(() => cleanupRepos());

function runner(repoDir: string) {
  return new ToolRunner({ repoDir, editable: ['train.py'], bashTimeoutMs: 5000, redact: (t) => t });
}

describe('a bash command the OS will not start', () => {
  it('is a short tool error, not an exception', async () => {
    const out = await runner(makeRepo()).run('bash', { command: 'echo hi' }, new AbortController().signal);
    expect(out.isError).toBe(true);
    expect(out.text).toMatch(/^Error: the command could not be started: spawn E2BIG x+…$/);
    expect(out.text.length).toBeLessThan(400);
  });

  it('still throws when the experiment is aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stopped'));
    await expect(runner(makeRepo()).run('bash', { command: 'echo hi' }, abort.signal)).rejects.toThrow('stopped');
  });
});
