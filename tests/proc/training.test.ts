// The training run's whole tree goes when it is stopped, even processes that left its process
// group (setsid, start_new_session): they carry the run's marker in their environment.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runTraining } from '../../src/proc/training.js';
import { markedPids, RUN_MARKER } from '../../src/proc/tree.js';

const dirs: string[] = [];
const strays: number[] = [];
afterEach(() => {
  for (const pid of strays.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone, as it should be */
    }
  }
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A python "trainer" that starts a child in a session of its own, records its pid (whole, by a rename), then (optionally) hangs. */
const escaper = (hang: boolean) =>
  `python3 -c "import os, subprocess, time; p = subprocess.Popen(['sleep', '1000'], start_new_session=True); open('escaped.tmp', 'w').write(str(p.pid)); os.rename('escaped.tmp', 'escaped.pid'); ${hang ? 'time.sleep(1000)' : 'pass'}"`;

async function runEscaper(hang: boolean, timeoutSec: number, signal = new AbortController().signal, started?: (dir: string) => void): Promise<{ pid: number; runIds: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-proc-'));
  dirs.push(dir);
  started?.(dir);
  const runIds: string[] = [];
  await runTraining({
    cmd: escaper(hang),
    cwd: dir,
    logPath: path.join(dir, 'run.log'),
    timeoutSec,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    signal,
    onStart: (_pid, runId) => runIds.push(runId),
  });
  const pid = Number(fs.readFileSync(path.join(dir, 'escaped.pid'), 'utf8'));
  strays.push(pid);
  return { pid, runIds };
}

describe.skipIf(os.platform() !== 'linux')('a process that left the run\'s process group', () => {
  it('is killed when the run times out', async () => {
    // The timeout must outlast python's start and the escape (a fraction of a second), on a busy machine too.
    const { pid, runIds } = await runEscaper(true, 5);
    expect(runIds).toHaveLength(1);
    expect(alive(pid)).toBe(false);
  });

  it('is killed when the user stops the program', async () => {
    const ctl = new AbortController();
    // Stopped once the escaped process exists (it has written its pid), not after a guessed delay.
    const { pid } = await runEscaper(true, 60, ctl.signal, (dir) => {
      const poll = setInterval(() => {
        if (!fs.existsSync(path.join(dir, 'escaped.pid'))) return;
        clearInterval(poll);
        ctl.abort('SIGINT');
      }, 20);
    });
    expect(alive(pid)).toBe(false);
  });

  it('is killed when the run exits on its own', async () => {
    const { pid } = await runEscaper(false, 60);
    expect(alive(pid)).toBe(false);
  });

  it('is found by its marker, and only by its own', async () => {
    const id = `test-${process.pid}-${Date.now()}`;
    const child = spawn('sleep', ['1000'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', [RUN_MARKER]: id }, detached: true, stdio: 'ignore' });
    strays.push(child.pid!);
    await new Promise((r) => child.once('spawn', r));
    expect(markedPids(id)).toEqual([child.pid]);
    expect(markedPids(id.slice(0, -1))).toEqual([]);
    expect(markedPids(`${id}0`)).toEqual([]);
  });
});
