// What the UI costs while a run trains: node's own CPU time (user + system, from
// process.cpuUsage, so the trainer's CPU is not counted) divided by wall time, over one training
// run of a stand-in trainer that sleeps and prints a step line every half second, the way train.py
// logs. The loop emits a training tick every second with the log's tail; the dashboard renders
// them into a fake 80x40 terminal. The same run with no UI at all is the floor: the difference is
// the dashboard's share.
//
//   npm run bench:dashboard-cpu [-- --seconds 30 --repeats 3 --modes none,plain,dashboard]
// (the npm script sets NODE_ENV=production, as src/cli.ts does)

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runLoop } from '../src/engine/loop.js';
import type { EngineEvent } from '../src/engine/types.js';
import { attachUi, InstantAgent, loopConfig, machineLine, median, summary, workspace, type UiMode } from './harness.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    repeats: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'none,plain,dashboard' },
  },
});
const SECONDS = Number(values.seconds);
const REPEATS = Number(values.repeats);
const MODES = values.modes.split(',') as UiMode[];
const GOAL = 0.05;

interface Window {
  cpuShare: number; // node CPU seconds / wall seconds while the run trained
  ticks: number; // training events the UI received
  kib: number; // bytes written to the fake terminal during the window
}

async function once(mode: UiMode): Promise<Window> {
  const { dir } = workspace('dashcpu', summary(1.0));
  // Two step lines a second, like a training log, then the summary block.
  const steps = SECONDS * 2;
  const runCmd = `for i in $(seq 1 ${steps}); do echo "step $i/${steps} | loss 3.$i | lr 0.02 | 412ms/step | mfu 41%"; sleep 0.5; done; cat train.py`;
  const { ui, bytes } = attachUi(mode);
  let cpu0: NodeJS.CpuUsage | null = null;
  let wall0 = 0;
  let bytes0 = 0;
  let ticks = 0;
  let window: Window | null = null;
  const onEvent = (e: EngineEvent) => {
    ui.onEvent(e);
    if (e.type === 'phase' && e.phase === 'training') {
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      bytes0 = bytes();
    } else if (e.type === 'training') {
      ticks++;
    } else if (e.type === 'result' && cpu0) {
      const cpu = process.cpuUsage(cpu0);
      window = { cpuShare: (cpu.user + cpu.system) / 1000 / (performance.now() - wall0), ticks, kib: (bytes() - bytes0) / 1024 };
    }
  };
  // maxExperiments 0: the baseline is the one training run measured.
  await runLoop(loopConfig(dir, 'dashcpu', { runCmd, timeoutSec: SECONDS * 3, maxExperiments: 0 }), new InstantAgent(), { onEvent, signal: new AbortController().signal });
  await ui.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (!window) throw new Error('the training window was not observed');
  return window;
}

console.log(`Node CPU share while a ${SECONDS} s stand-in run trains (median of ${REPEATS}; the trainer's own CPU not counted)`);
console.log(`Machine: ${machineLine()}; NODE_ENV=${process.env['NODE_ENV'] ?? '(unset)'}`);
console.log('');
console.log('| UI        | node CPU share (median) | runs                 | training ticks | KiB to terminal |');
console.log('|-----------|------------------------:|----------------------|---------------:|----------------:|');
const shares = new Map<UiMode, number>();
for (const mode of MODES) {
  const runs: Window[] = [];
  for (let r = 0; r < REPEATS; r++) runs.push(await once(mode));
  const share = median(runs.map((w) => w.cpuShare));
  shares.set(mode, share);
  console.log(
    `| ${mode.padEnd(9)} | ${(100 * share).toFixed(2).padStart(22)}% | ${runs.map((w) => `${(100 * w.cpuShare).toFixed(2)}%`).join(' ').padEnd(20)} | ${String(median(runs.map((w) => w.ticks))).padStart(14)} | ${median(runs.map((w) => w.kib)).toFixed(0).padStart(15)} |`,
  );
}
const dash = shares.get('dashboard');
if (dash !== undefined) {
  const floor = shares.get('none');
  console.log('');
  console.log(`${dash < GOAL ? 'PASS' : 'FAIL'}  dashboard: ${(100 * dash).toFixed(2)}% of one core while training (goal < ${GOAL * 100}%)${floor !== undefined ? `; ${(100 * (dash - floor)).toFixed(2)} points above no UI` : ''}`);
  process.exitCode = dash < GOAL ? 0 : 1;
}
