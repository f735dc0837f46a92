// Harness overhead: milliseconds per experiment the program itself spends (git, processes,
// parsing, bookkeeping, optionally the dashboard) with an instant agent and an instant trainer.
// The "trainer" is `cat train.py`, and train.py is just the summary block the agent writes, so
// everything measured is ours except one tiny process spawn that any real run also pays.
//
//   npm run bench:overhead [-- --experiments 100 --repeats 3]

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseArgs } from 'node:util';
import { runLoop } from '../src/engine/loop.js';
import { ZERO_USAGE, type Agent, type EngineEvent, type ExperimentContext, type Proposal } from '../src/engine/types.js';
import { startUi } from '../src/ui/index.js';

const { values } = parseArgs({ options: { experiments: { type: 'string', default: '100' }, repeats: { type: 'string', default: '3' } } });
const EXPERIMENTS = Number(values.experiments);
const REPEATS = Number(values.repeats);

const summary = (v: number) => `---\nval_bpb:          ${v.toFixed(6)}\npeak_vram_mb:     1024.0\n`;

class InstantAgent implements Agent {
  readonly name = 'instant';
  private i = 0;
  async propose(ctx: ExperimentContext): Promise<Proposal> {
    this.i++;
    // Every third experiment improves, the others are discarded: both paths get exercised.
    const value = this.i % 3 === 0 ? 1 - this.i * 1e-4 : 2 + this.i * 1e-4;
    fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), summary(value));
    return { kind: 'submitted', description: `instant change ${this.i}`, usage: ZERO_USAGE };
  }
}

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-bench-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@localhost');
  fs.writeFileSync(path.join(dir, 'program.md'), '# bench\n');
  fs.writeFileSync(path.join(dir, 'train.py'), summary(1.5));
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

/** A stream that looks like an 80x40 terminal and throws the frames away. */
function fakeTerminal(): NodeJS.WriteStream {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { columns: number; rows: number; isTTY: boolean };
  stream.columns = 80;
  stream.rows = 40;
  stream.isTTY = true;
  (stream as unknown as PassThrough).resume();
  return stream;
}

async function once(mode: 'plain' | 'dashboard'): Promise<{ msPerExperiment: number; cpuMsPerExperiment: number }> {
  const dir = workspace();
  const ui =
    mode === 'dashboard'
      ? startUi({ tui: true, stdout: fakeTerminal(), stdin: new PassThrough() as unknown as NodeJS.ReadStream, onGracefulStop: () => {} })
      : startUi({ tui: false, stdout: fakeTerminal(), onGracefulStop: () => {} });
  const times: number[] = [];
  let last = 0;
  const onEvent = (e: EngineEvent) => {
    ui.onEvent(e);
    if (e.type === 'result') {
      const now = performance.now();
      if (e.experiment > 0) times.push(now - last);
      last = now;
    }
  };
  const cpu0 = process.cpuUsage();
  await runLoop(
    { repoDir: dir, tag: 'bench', metric: 'val_bpb', direction: 'min', editable: ['train.py'], runCmd: 'cat train.py', timeoutSec: 60, fixAttempts: 0, programPath: 'program.md', maxExperiments: EXPERIMENTS, maxHours: null, maxCostUsd: null },
    new InstantAgent(),
    { onEvent, signal: new AbortController().signal },
  );
  const cpu = process.cpuUsage(cpu0);
  await ui.close();
  fs.rmSync(dir, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  return { msPerExperiment: times[Math.floor(times.length / 2)] ?? NaN, cpuMsPerExperiment: (cpu.user + cpu.system) / 1000 / EXPERIMENTS };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const rows: string[] = [];
for (const mode of ['plain', 'dashboard'] as const) {
  const runs = [];
  for (let r = 0; r < REPEATS; r++) runs.push(await once(mode));
  rows.push(
    `| ${mode.padEnd(9)} | ${EXPERIMENTS} | ${REPEATS} | ${median(runs.map((r) => r.msPerExperiment)).toFixed(1).padStart(6)} | ${median(runs.map((r) => r.cpuMsPerExperiment)).toFixed(1).padStart(6)} |`,
  );
}
console.log(`Loop overhead per experiment (instant agent, \`cat\` as trainer), ${os.cpus().length} cores, node ${process.version}`);
console.log('| mode      | experiments | repeats | median ms/exp (wall) | ms/exp (node CPU) |');
console.log('|-----------|-------------|---------|----------------------|-------------------|');
for (const r of rows) console.log(r);
