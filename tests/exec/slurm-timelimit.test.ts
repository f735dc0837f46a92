// The SLURM executor and SLURM's own time limit, on a real single-node SLURM (tests/helpers/slurm.ts).
// A file of its own, with a cluster of its own: SLURM's smallest limit is a minute and it checks
// limits about every 30 s, so this one job takes 60 to 90 s of waiting, which the other test files
// spend running beside it rather than after it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlurmExecutor } from '../../src/exec/slurm.js';
import { startSlurm, type SlurmCluster } from '../helpers/slurm.js';

let cluster: SlurmCluster | null = null;
beforeAll(async () => {
  cluster = await startSlurm();
}, 900_000);
let cwd = '';
afterAll(async () => {
  await cluster?.stop();
  if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
});

describe('SLURM executor on a real cluster', () => {
  it("a job killed by SLURM's own time limit: crash reason timeout", async (ctx) => {
    if (!cluster) return ctx.skip();
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-slurm-run-'));
    const executor = new SlurmExecutor({ args: ['--time=1'], env: cluster.env, pollMs: 200 });
    const end = await executor.run(
      { cmd: 'sleep 600', cwd, logPath: path.join(cwd, 'run.log'), env: cluster.env, timeoutSec: 600, name: 'autoresearch t #1' },
      new AbortController().signal,
    );
    expect(end).toMatchObject({ crashReason: 'timeout', timedOut: true });
  }, 240_000);
});
