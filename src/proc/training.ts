// Running the user's training command: its own process group, output straight into run.log
// (so the log survives even if we die), a hard timeout, and nothing left running afterwards.

import fs from 'node:fs';
import { execa } from 'execa';
import { killTree, trackGroup } from './tree.js';

export interface TrainingOptions {
  cmd: string; // a shell command line, e.g. `uv run train.py`
  cwd: string;
  logPath: string;
  timeoutSec: number;
  env: Record<string, string>;
  signal: AbortSignal; // aborted when the user stops the program
  onTick?: (elapsedSec: number) => void; // about once a second while it runs
  onStart?: (pid: number) => void; // the process group id, recorded so a restart can stop a run we lost
}

export interface TrainingResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  interrupted: boolean;
  seconds: number;
}

export async function runTraining(opts: TrainingOptions): Promise<TrainingResult> {
  const started = Date.now();
  fs.writeFileSync(opts.logPath, ''); // a fresh log per run
  let timedOut = false;
  let interrupted = false;
  const child = execa(opts.cmd, {
    cwd: opts.cwd,
    shell: true,
    detached: true, // own process group: Ctrl+C in the terminal reaches us, not the run, and we stop it as a whole
    env: opts.env,
    extendEnv: false,
    stdin: 'ignore',
    // Both streams append to one file, interleaved in the order the run wrote them.
    stdout: { file: opts.logPath, append: true },
    stderr: { file: opts.logPath, append: true },
    reject: false,
    cleanup: false, // we stop the tree ourselves, group-wide
  });
  const pid = child.pid;
  if (pid !== undefined) {
    trackGroup(pid);
    opts.onStart?.(pid);
  }
  const stop = (why: 'timeout' | 'interrupt') => {
    if (why === 'timeout') timedOut = true;
    else interrupted = true;
    if (pid !== undefined) void killTree(pid);
  };
  const timer = setTimeout(() => stop('timeout'), opts.timeoutSec * 1000);
  const ticker = opts.onTick ? setInterval(() => opts.onTick?.((Date.now() - started) / 1000), 1000) : null;
  const onAbort = () => stop('interrupt');
  if (opts.signal.aborted) onAbort();
  else opts.signal.addEventListener('abort', onAbort, { once: true });
  const result = await child;
  clearTimeout(timer);
  if (ticker) clearInterval(ticker);
  opts.signal.removeEventListener('abort', onAbort);
  // The shell has exited; anything it left in its group (a dataloader worker, a stray `&`) goes too.
  if (pid !== undefined) await killTree(pid, 1000);
  const exitCode = typeof result.exitCode === 'number' ? result.exitCode : null;
  return {
    exitCode,
    signal: result.signal ?? null,
    timedOut,
    interrupted,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The end of a log file, read without loading a multi-megabyte log into memory. */
export function readLogTail(path: string, bytes = 8192): string {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
