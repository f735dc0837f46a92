// Running the user's training command: its own process group, output straight into run.log
// (so the log survives even if we die), a hard timeout, and nothing left running afterwards: not
// its process group, nor anything that left the group but still carries the run's marker.

import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { sandboxedCommand } from './sandbox.js';
import { appendRegular, openForWrite, openRegular } from './untrusted-file.js';
import { killTree, newRunId, RUN_MARKER, trackGroup } from './tree.js';

export interface TrainingOptions {
  cmd: string; // a shell command line, e.g. `uv run train.py`
  cwd: string;
  logPath: string;
  timeoutSec: number;
  env: Record<string, string>;
  protect?: readonly string[]; // see RunSpec.protect
  sandbox?: { network: boolean } | null; // run inside the sandbox (src/proc/sandbox.ts); null or absent: as is
  signal: AbortSignal; // aborted when the user stops the program
  onTick?: (elapsedSec: number) => void; // about once a second while it runs
  /** The process group id and the run's marker, recorded so a restart can stop a run we lost. */
  onStart?: (pid: number, runId: string) => void;
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
  // The run writes straight into run.log through its own file descriptor, not through a pipe to us:
  // a worker that outlives the trainer while holding the log open (a dataloader, a stray `&`) then
  // cannot keep us waiting, and the log survives us. This is why the run uses node's spawn and
  // resolves on 'exit' rather than execa, whose promise settles only once the output streams close.
  // Never through a symlink or FIFO the model put at run.log's name (untrusted-file.ts says why).
  const logFd = openForWrite(opts.logPath);
  const runId = newRunId();
  let timedOut = false;
  let interrupted = false;
  let child;
  try {
    // `/bin/sh -c` is what shell: true runs; spelled out so that the sandbox can wrap it (bwrap gets the same scrubbed env).
    const shell = ['/bin/sh', '-c', opts.cmd];
    const [file, ...args] = opts.sandbox ? sandboxedCommand('training', shell, { cwd: opts.cwd, env: opts.env, network: opts.sandbox.network, ...(opts.protect ? { protect: opts.protect } : {}) }) : shell;
    child = spawn(file!, args, {
      cwd: opts.cwd,
      detached: true, // own process group: Ctrl+C in the terminal reaches us, not the run, and we stop it as a whole
      env: { ...opts.env, [RUN_MARKER]: runId },
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    fs.closeSync(logFd); // the child holds its own copy
  }
  const pid = child.pid;
  if (pid !== undefined) {
    trackGroup(pid, runId);
    try {
      opts.onStart?.(pid, runId);
    } catch (err) {
      // If the pid cannot be recorded (a full disk), no later start could stop this run: stop it now.
      await killTree(pid, 1000, runId);
      throw err;
    }
  }
  const stop = (why: 'timeout' | 'interrupt') => {
    if (why === 'timeout') timedOut = true;
    else interrupted = true;
    if (pid !== undefined) void killTree(pid, undefined, runId);
  };
  const timer = setTimeout(() => stop('timeout'), opts.timeoutSec * 1000);
  const ticker = opts.onTick ? setInterval(() => opts.onTick?.((Date.now() - started) / 1000), 1000) : null;
  const onAbort = () => stop('interrupt');
  if (opts.signal.aborted) onAbort();
  else opts.signal.addEventListener('abort', onAbort, { once: true });
  const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('error', (err) => {
      appendRegular(opts.logPath, `autoresearch: could not start "${opts.cmd}": ${err.message}\n`);
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  if (ticker) clearInterval(ticker);
  opts.signal.removeEventListener('abort', onAbort);
  // The shell has exited; anything it left behind (a dataloader worker, a stray `&`, a setsid'd
  // server) goes too.
  if (pid !== undefined) await killTree(pid, 1000, runId);
  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut,
    interrupted,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Bytes free for us on the filesystem holding `dir`, or null where the platform cannot say. */
export function freeBytes(dir: string): number | null {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return null;
  }
}

/** The end of a log file, read without loading a multi-megabyte log into memory; '' unless it is a regular file. */
export function readLogTail(path: string, bytes = 8192): string {
  const fd = openRegular(path);
  if (fd === null) return '';
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
