// kill -9 of the program while a run trains: the restart stops what the run left, including a
// process that left the run's process group (setsid), found by the marker in inflight.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import type { EngineEvent } from '../../src/engine/types.js';
import { makeWorkspace, pidAlive, pidFile, PlannedAgent, STAND_IN_TRAINER } from '../helpers/workspace.js';

const DRIVER = path.resolve('tests/fixtures/drive-loop.mjs');
if (!fs.existsSync(path.resolve('dist/cli/run.js'))) throw new Error('Build first: npm run build (npm test does it).');

/** The stand-in trainer, but its child starts a session of its own before it hangs. */
const ESCAPING_TRAINER = STAND_IN_TRAINER(0.5, 'orphan').replace('subprocess.Popen(["sleep", "1000"])', 'subprocess.Popen(["sleep", "1000"], start_new_session=True)');

/** Polls `check`: a barrier on what the processes did, with a deadline only to report a hang. */
async function waitFor(check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Alive and not a zombie (one that exits between the two looks is not running either). */
function running(pid: number): boolean {
  try {
    return pidAlive(pid) && !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe.skipIf(os.platform() !== 'linux')('a setsid child of a run orphaned by kill -9', () => {
  it('is stopped by the next start', async () => {
    const dir = makeWorkspace();
    expect(ESCAPING_TRAINER).toContain('start_new_session=True');
    const planFile = path.join(dir, '.git', 'plan.json');
    // Without the sandbox: inside it, bwrap's --die-with-parent takes the whole run down with the program.
    fs.writeFileSync(planFile, JSON.stringify({ maxExperiments: 1, sandbox: 'off', edits: [{ content: ESCAPING_TRAINER, description: 'escapes' }] }));
    const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const pidPath = pidFile(dir, 'orphan.pid');
    await waitFor(() => fs.existsSync(pidPath) && fs.readFileSync(pidPath, 'utf8') !== '');
    const escaped = Number(fs.readFileSync(pidPath, 'utf8').trim().split(/\s+/)[0]);
    child.kill('SIGKILL');
    await exited;
    try {
      expect(pidAlive(escaped)).toBe(true);
      const inflight = JSON.parse(fs.readFileSync(path.join(dir, '.autoresearch', 'drill', 'inflight', '0001.json'), 'utf8')) as { runId?: string };
      expect(inflight.runId).toEqual(expect.any(String));
      const events: EngineEvent[] = [];
      const result = await runLoop(
        makeEngineConfig(dir, 'drill', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, maxExperiments: 0, sandbox: 'off' }),
        new PlannedAgent([]),
        { onEvent: (e) => events.push(e), signal: new AbortController().signal },
      );
      expect(result.exitCode).toBe(0);
      expect(events.some((e) => e.type === 'recovered' && /orphaned training run/.test(e.message))).toBe(true);
      await waitFor(() => !running(escaped));
    } finally {
      try {
        process.kill(escaped, 'SIGKILL');
      } catch {
        /* stopped, as it should be */
      }
    }
  });
});
