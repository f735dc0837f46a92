// Executor of Anthropic's bash tool (bash_20250124). Each command runs in a fresh `bash -c` in the
// repository root, in its own process group so that a time limit or Ctrl+C kills the whole tree,
// with an environment that holds nothing secret: the model must never see the API key.

import { spawn } from 'node:child_process';
import { isSecretName } from '../../proc/env.js';
import { sandboxedCommand, type ShellGit } from '../../proc/sandbox.js';
import { killGroupNow } from '../../proc/tree.js';
import type { ToolOutcome } from './outcome.js';

/** True for variables the model's shell must not inherit: the training run's rule, plus any case of ANTHROPIC_. */
export function isSecretEnvName(name: string): boolean {
  return isSecretName(name) || name.toUpperCase().startsWith('ANTHROPIC_');
}

/** The environment of the model's shell: ours minus anything secret, plus settings for a non-interactive run. */
export function shellEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isSecretEnvName(name)) clean[name] = value;
  }
  clean['PAGER'] = 'cat';
  clean['GIT_PAGER'] = 'cat';
  clean['GIT_TERMINAL_PROMPT'] = '0';
  return clean;
}

/** Keeps the first `headMax` and the last `tailMax` characters of a stream of text. */
export class OutputCap {
  private head = '';
  private tail = '';
  private dropped = 0;
  constructor(private readonly headMax: number, private readonly tailMax: number) {}

  push(chunk: string): void {
    if (this.head.length < this.headMax) {
      const room = this.headMax - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
      if (chunk === '') return;
    }
    this.tail += chunk;
    if (this.tail.length > this.tailMax) {
      this.dropped += this.tail.length - this.tailMax;
      this.tail = this.tail.slice(this.tail.length - this.tailMax);
    }
  }

  text(): string {
    if (this.dropped === 0) return this.head + this.tail;
    return `${this.head}\n[… ${this.dropped} characters of output omitted …]\n${this.tail}`;
  }
}

export interface BashOptions {
  cwd: string;
  timeoutMs: number;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv; // the environment to scrub; process.env by default
  sandbox?: boolean; // run inside the sandbox (src/proc/sandbox.ts); the engine decides, from --sandbox
  git?: ShellGit; // the repository's history, shown read-only in the sandbox (git show of earlier experiments)
  headChars?: number;
  tailChars?: number;
}

export interface BashResult extends ToolOutcome {
  exitCode: number | null;
  timedOut: boolean;
  pid: number | undefined;
}

/**
 * Longest command we hand to `bash -c`. Linux refuses any single argument over 128 KiB
 * (MAX_ARG_STRLEN: spawn fails with E2BIG), so we stop a little short of that, and say why.
 */
export const COMMAND_MAX_BYTES = 100_000;

/** Why the OS could not run `command` at all (null when it can): checked before spawning, so the model gets a reason it can act on. */
export function unrunnableCommand(command: string): string | null {
  // node's spawn throws on a NUL byte in an argument, and no C string can hold one anyway.
  if (command.includes('\0')) return 'the command contains a NUL byte, which no shell command can hold; write binary data with printf escapes instead.';
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > COMMAND_MAX_BYTES) {
    return `the command is too long (${bytes} bytes; the limit is about ${COMMAND_MAX_BYTES / 1000} KB, as the OS refuses longer arguments). Split it, or use the editor for large edits.`;
  }
  return null;
}

/**
 * Run one command. Rejects with the signal's reason when aborted (after killing the tree), and
 * with the spawn error when the command could not be started at all.
 */
export function runBash(command: string, opts: BashOptions): Promise<BashResult> {
  return new Promise((resolve, reject) => {
    opts.signal.throwIfAborted();
    const out = new OutputCap(opts.headChars ?? 10_000, opts.tailChars ?? 20_000);
    const env = shellEnv(opts.env);
    // Sandboxed, bwrap is started with the scrubbed environment too: inside, it is the shell's parent.
    const [file, ...args] = opts.sandbox ? sandboxedCommand('shell', ['bash', '-c', command], { cwd: opts.cwd, env, ...(opts.git ? { git: opts.git } : {}) }) : ['bash', '-c', command];
    const child = spawn(file!, args, {
      cwd: opts.cwd,
      env,
      detached: true, // own process group: one kill reaches every descendant
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    let timedOut = false;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;

    const timer = setTimeout(() => {
      timedOut = true;
      killGroupNow(pid);
    }, opts.timeoutMs);
    const onAbort = (): void => killGroupNow(pid);
    opts.signal.addEventListener('abort', onAbort, { once: true });

    child.stdout.setEncoding('utf8').on('data', (d: string) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => out.push(d));

    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.signal.aborted) return reject(opts.signal.reason);
      let text = out.text();
      if (text === '') text = '(no output)';
      const notes: string[] = [];
      if (timedOut) notes.push(`[the command was stopped after ${Math.round(opts.timeoutMs / 1000)} s, its whole process tree killed]`);
      else if (exitSignal) notes.push(`[killed by ${exitSignal}]`);
      else if (exitCode !== 0) notes.push(`[exit code ${exitCode}]`);
      resolve({ text: notes.length ? `${text}\n${notes.join('\n')}` : text, isError: timedOut, exitCode, timedOut, pid });
    };

    child.on('error', (err) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    child.on('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      // Whatever the command left running in the background goes with it.
      killGroupNow(pid);
      // A grandchild that escaped the group (setsid) could hold the pipes open; do not wait on it forever.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 1000).unref();
    });
    child.on('close', finish);
  });
}
