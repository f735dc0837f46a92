// Harness overhead: milliseconds per experiment the program itself spends (git, processes,
// parsing, bookkeeping, optionally the dashboard) with an instant agent and an instant trainer.
// The "trainer" is `cat train.py`, and train.py is just the summary block the agent writes, so
// everything measured is ours except one tiny process spawn that any real run also pays.
//
//   npm run bench:overhead [-- --experiments 100 --repeats 3]

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runLoop } from '../src/engine/loop.js';
import type { EngineEvent } from '../src/engine/types.js';
import { attachUi, InstantAgent, loopConfig, machineLine, median, workspace } from './harness.js';

const { values } = parseArgs({ options: { experiments: { type: 'string', default: '100' }, repeats: { type: 'string', default: '3' } } });
const EXPERIMENTS = Number(values.experiments);
const REPEATS = Number(values.repeats);

async function once(mode: 'plain' | 'dashboard'): Promise<{ msPerExperiment: number; cpuMsPerExperiment: number }> {
  const { dir } = workspace('overhead');
  const { ui } = attachUi(mode);
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
  await runLoop(loopConfig(dir, 'bench', { maxExperiments: EXPERIMENTS }), new InstantAgent(), { onEvent, signal: new AbortController().signal });
  const cpu = process.cpuUsage(cpu0);
  await ui.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { msPerExperiment: median(times), cpuMsPerExperiment: (cpu.user + cpu.system) / 1000 / EXPERIMENTS };
}

const rows: string[] = [];
for (const mode of ['plain', 'dashboard'] as const) {
  const runs = [];
  for (let r = 0; r < REPEATS; r++) runs.push(await once(mode));
  rows.push(
    `| ${mode.padEnd(9)} | ${EXPERIMENTS} | ${REPEATS} | ${median(runs.map((r) => r.msPerExperiment)).toFixed(1).padStart(6)} | ${median(runs.map((r) => r.cpuMsPerExperiment)).toFixed(1).padStart(6)} |`,
  );
}
console.log(`Loop overhead per experiment (instant agent, \`cat\` as trainer). ${machineLine()}`);
console.log('| mode      | experiments | repeats | median ms/exp (wall) | ms/exp (node CPU) |');
console.log('|-----------|-------------|---------|----------------------|-------------------|');
for (const r of rows) console.log(r);
