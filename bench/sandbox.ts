// What the sandbox costs: the start-up of one shell command of the model and of one training run,
// and the step time of a CPU-bound stand-in trainer, each with and without bubblewrap, on this
// machine. Medians of interleaved runs, so that a busy moment hits both sides alike.
//
//   npm run bench:sandbox                       # 40 shell commands, 20 training runs per side
//   npm run bench:sandbox -- --commands 100 --runs 40

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBash } from '../src/agent/shared/bash.js';
import { sandboxSupport } from '../src/proc/sandbox.js';
import { runTraining } from '../src/proc/training.js';
import { scrubEnv } from '../src/proc/env.js';
import { machineLine, median } from './harness.js';

const { values } = parseArgs({ options: { commands: { type: 'string', default: '40' }, runs: { type: 'string', default: '20' } } });
const COMMANDS = Number(values.commands);
const RUNS = Number(values.runs);

// A stand-in trainer: a fixed amount of pure-Python work per step, the mean step time printed at the end.
const TRAINER = `import time
steps = []
for i in range(30):
    t = time.perf_counter()
    s = 0
    for j in range(200_000):
        s += j * j
    steps.append(time.perf_counter() - t)
print(f"step_ms: {1000 * sum(steps[5:]) / len(steps[5:]):.3f}")
print("---")
print("val_bpb:          1.000000")
`;

async function main(): Promise<void> {
  const support = sandboxSupport();
  if (!support.ok) {
    console.log(`bench:sandbox needs the sandbox: ${support.reason}`);
    process.exit(1);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-sandbox-'));
  fs.writeFileSync(path.join(dir, 'train.py'), TRAINER);
  const signal = new AbortController().signal;
  const env = scrubEnv(process.env);

  const shell: Record<'bare' | 'sandboxed', number[]> = { bare: [], sandboxed: [] };
  for (let i = 0; i < COMMANDS; i++) {
    for (const side of ['bare', 'sandboxed'] as const) {
      const t = performance.now();
      const r = await runBash('true', { cwd: dir, timeoutMs: 10_000, signal, sandbox: side === 'sandboxed' });
      if (r.exitCode !== 0) throw new Error(`bash -c true failed (${side}): ${r.text}`);
      shell[side].push(performance.now() - t);
    }
  }

  const start: Record<'bare' | 'sandboxed', number[]> = { bare: [], sandboxed: [] };
  const run: Record<'bare' | 'sandboxed', number[]> = { bare: [], sandboxed: [] };
  const step: Record<'bare' | 'sandboxed', number[]> = { bare: [], sandboxed: [] };
  const logPath = path.join(dir, 'run.log');
  for (let i = 0; i < RUNS; i++) {
    for (const side of ['bare', 'sandboxed'] as const) {
      const sandbox = side === 'sandboxed' ? { network: true } : null;
      // Start-up: a run that does nothing (python3 -c pass), start to exit.
      let t = performance.now();
      await runTraining({ cmd: 'python3 -c pass', cwd: dir, logPath, timeoutSec: 60, env, signal, sandbox });
      start[side].push(performance.now() - t);
      t = performance.now();
      const r = await runTraining({ cmd: 'python3 train.py', cwd: dir, logPath, timeoutSec: 120, env, signal, sandbox });
      run[side].push(performance.now() - t);
      if (r.exitCode !== 0) throw new Error(`the stand-in trainer failed (${side}): ${fs.readFileSync(logPath, 'utf8')}`);
      step[side].push(Number(/step_ms: ([\d.]+)/.exec(fs.readFileSync(logPath, 'utf8'))?.[1]));
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const row = (name: string, m: Record<'bare' | 'sandboxed', number[]>, unit = 'ms') => {
    const b = median(m.bare);
    const s = median(m.sandboxed);
    return `| ${name} | ${b.toFixed(2)} ${unit} | ${s.toFixed(2)} ${unit} | ${(s - b >= 0 ? '+' : '') + (s - b).toFixed(2)} ${unit} |`;
  };
  console.log(machineLine());
  console.log(`bwrap: ${support.bwrap}; ${COMMANDS} shell commands and ${RUNS} training runs per side, interleaved; medians`);
  console.log('');
  console.log('| measured | bare | sandboxed | difference |');
  console.log('|---|---|---|---|');
  console.log(row('one shell command of the model (`bash -c true`, spawn to exit)', shell));
  console.log(row('one training run start-up (`python3 -c pass`, spawn to exit)', start));
  console.log(row('a stand-in training run (30 CPU-bound steps, spawn to exit)', run));
  console.log(row('its mean step time (as the trainer measures it)', step));
}

void main();
