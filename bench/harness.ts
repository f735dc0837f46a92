// Shared pieces of the soak and dashboard-CPU benches: a throwaway repository whose train.py is
// just the summary block (so `cat train.py` is an instant trainer), an instant agent, a fake
// 80-column terminal, and process probes (resident memory, open file descriptors).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { makeEngineConfig } from '../src/engine/config.js';
import { ZERO_USAGE, type Agent, type EngineConfig, type ExperimentContext, type Proposal } from '../src/engine/types.js';
import { startUi, type UiHandle } from '../src/ui/index.js';

/** What train.py prints at the end of a real run, reduced to the two lines the loop reads. */
export const summary = (value: number): string => `---\nval_bpb:          ${value.toFixed(6)}\npeak_vram_mb:     1024.0\n`;

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

/** A fresh repository with program.md and a summary-block train.py, committed on main. */
export function workspace(prefix: string, trainPy = summary(1.5)): { dir: string; initial: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `autoresearch-${prefix}-`));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'bench');
  git(dir, 'config', 'user.email', 'bench@localhost');
  fs.writeFileSync(path.join(dir, 'program.md'), '# bench\nChange train.py once per experiment.\n');
  fs.writeFileSync(path.join(dir, 'train.py'), trainPy);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return { dir, initial: git(dir, 'rev-parse', 'HEAD') };
}

/**
 * The benches measure the program, not the noise rule: one baseline run and no confirmation run
 * (their trainers do not vary anyway; with no noise estimate a better change would otherwise be
 * trained again to confirm it, one run more per keep than there are experiments).
 */
export function loopConfig(dir: string, tag: string, over: Partial<EngineConfig> = {}): EngineConfig {
  return makeEngineConfig(dir, tag, { runCmd: 'cat train.py', timeoutSec: 60, fixAttempts: 0, baselineRuns: 1, confirmRuns: 0, ...over });
}

/** The value experiment i reports: every third one improves on the best so far, the rest are worse. */
export function plannedValue(i: number): number {
  return i % 3 === 0 ? 1 - i * 1e-4 : 2 + i * 1e-4;
}

/** Writes the next planned summary into train.py and submits at once: the program's cost only. */
export class InstantAgent implements Agent {
  readonly name = 'instant';
  private i = 0;
  async propose(ctx: ExperimentContext): Promise<Proposal> {
    this.i++;
    fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), summary(plannedValue(this.i)));
    return { kind: 'submitted', description: `instant change ${this.i}`, usage: ZERO_USAGE };
  }
}

/** A stream that looks like an 80x40 terminal and counts, then drops, what is written to it. */
export function fakeTerminal(): { stream: NodeJS.WriteStream; bytes: () => number } {
  const pass = new PassThrough();
  let bytes = 0;
  pass.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const stream = pass as unknown as NodeJS.WriteStream & { columns: number; rows: number; isTTY: boolean };
  stream.columns = 80;
  stream.rows = 40;
  stream.isTTY = true;
  return { stream, bytes: () => bytes };
}

export type UiMode = 'none' | 'plain' | 'dashboard';

/** The UI the CLI would attach, writing to a fake terminal; 'none' drops the events. */
export function attachUi(mode: UiMode): { ui: UiHandle; bytes: () => number } {
  if (mode === 'none') return { ui: { onEvent: () => {}, close: async () => {} }, bytes: () => 0 };
  const term = fakeTerminal();
  const ui =
    mode === 'dashboard'
      ? startUi({ tui: true, stdout: term.stream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, onGracefulStop: () => {} })
      : startUi({ tui: false, stdout: term.stream, onGracefulStop: () => {} });
  return { ui, bytes: term.bytes };
}

/** Open file descriptors of this process (Linux: the entries of /proc/self/fd). */
export function openFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // readdir's own descriptor is listed too
  } catch {
    return NaN;
  }
}

export const mib = (bytes: number): number => bytes / 1024 / 1024;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** One line naming the machine, printed at the top of every bench's output. */
export function machineLine(): string {
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${mib(os.totalmem()).toFixed(0)} MiB RAM, node ${process.version}, ${os.platform()} ${os.release()}, load average at start ${load}`;
}

/** mulberry32: a small, fixed PRNG, so a landscape, a plan and a choice are the same on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
