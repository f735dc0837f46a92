// GPU duty cycle: a pure model of one night built from measured numbers. One experiment takes
//   agent thinking + program overhead + train.py startup/compile/eval + the training budget,
// and the GPU trains only during the budget. The table shows what share of the night the GPU
// trains, and how many experiments a night holds, for several agent thinking times.
//
//   npm run bench:duty -- --overhead-ms 280          # overhead measured by bench:overhead or bench:soak
//   npm run bench:duty                               # re-measures the overhead with a short run (30 experiments)
//   options: --budget 300 --startup 17 --hours 8 --agent 0,15,30,60,120
//
// --startup is what train.py adds around its TIME_BUDGET (process start, imports, data loading,
// torch.compile's first steps, the final evaluate_bpb): 17 s measured on an H200 with a warm compile
// cache (every run after the first), 44 s cold (docs/benchmarks.md, "GPU runs").

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runLoop } from '../src/engine/loop.js';
import type { EngineEvent } from '../src/engine/types.js';
import { InstantAgent, loopConfig, machineLine, median, workspace } from './harness.js';

const { values } = parseArgs({
  options: {
    'overhead-ms': { type: 'string' },
    budget: { type: 'string', default: '300' },
    startup: { type: 'string', default: '17' },
    hours: { type: 'string', default: '8' },
    agent: { type: 'string', default: '0,15,30,60,120' },
    experiments: { type: 'string', default: '30' }, // for the re-measurement only
  },
});

interface Night {
  agentSec: number;
  experimentSec: number; // wall time of one experiment
  experiments: number; // whole experiments that fit in the night
  trainingShare: number; // share of the night the GPU spends in the training budget
  gpuBusyShare: number; // ... plus startup/compile/eval, when the GPU is held but not training
}

/** The model itself: pure arithmetic, so the table can be recomputed from any measured overhead. */
function night(opts: { agentSec: number; overheadSec: number; budgetSec: number; startupSec: number; hours: number }): Night {
  const experimentSec = opts.agentSec + opts.overheadSec + opts.startupSec + opts.budgetSec;
  const nightSec = opts.hours * 3600;
  const experiments = Math.floor(nightSec / experimentSec);
  return {
    agentSec: opts.agentSec,
    experimentSec,
    experiments,
    trainingShare: opts.budgetSec / experimentSec,
    gpuBusyShare: (opts.budgetSec + opts.startupSec) / experimentSec,
  };
}

/** Median wall milliseconds per experiment of the program alone (instant agent, `cat` as trainer, no UI). */
async function measureOverheadMs(experiments: number): Promise<number> {
  const { dir } = workspace('duty');
  const times: number[] = [];
  let last = 0;
  const onEvent = (e: EngineEvent) => {
    if (e.type !== 'result') return;
    const now = performance.now();
    if (e.experiment > 0) times.push(now - last);
    last = now;
  };
  await runLoop(loopConfig(dir, 'duty', { maxExperiments: experiments }), new InstantAgent(), { onEvent, signal: new AbortController().signal });
  fs.rmSync(dir, { recursive: true, force: true });
  return median(times);
}

const budgetSec = Number(values.budget);
const startupSec = Number(values.startup);
const hours = Number(values.hours);
const agentTimes = values.agent.split(',').map(Number);
const given = values['overhead-ms'];
const overheadMs = given !== undefined ? Number(given) : await measureOverheadMs(Number(values.experiments));
const source = given !== undefined ? 'given with --overhead-ms' : `re-measured now: median of ${values.experiments} experiments, no UI; machine: ${machineLine()}`;
const overheadSec = overheadMs / 1000;

console.log(`GPU duty cycle over a ${hours}-hour night: training budget ${budgetSec} s, train.py startup/compile/eval ${startupSec} s, program overhead ${overheadMs.toFixed(0)} ms/experiment (${source})`);
console.log('');
console.log('| agent thinking s | experiment wall s | experiments per night | GPU training share | GPU held (training + startup/eval) | experiments lost to thinking |');
console.log('|-----------------:|------------------:|----------------------:|-------------------:|-----------------------------------:|-----------------------------:|');
const ideal = night({ agentSec: 0, overheadSec, budgetSec, startupSec, hours });
for (const agentSec of agentTimes) {
  const n = night({ agentSec, overheadSec, budgetSec, startupSec, hours });
  console.log(
    `| ${String(agentSec).padStart(16)} | ${n.experimentSec.toFixed(1).padStart(17)} | ${String(n.experiments).padStart(21)} | ${(100 * n.trainingShare).toFixed(1).padStart(17)}% | ${(100 * n.gpuBusyShare).toFixed(1).padStart(33)}% | ${String(ideal.experiments - n.experiments).padStart(28)} |`,
  );
}
// The program's own share, stated separately: it is the part this repository controls.
console.log('');
console.log(
  `The program's overhead is ${((100 * overheadSec) / ideal.experimentSec).toFixed(2)}% of an experiment's wall time with an instant agent; ` +
    `removing it entirely would add ${Math.floor((hours * 3600) / (ideal.experimentSec - overheadSec)) - ideal.experiments} experiments to the night.`,
);
