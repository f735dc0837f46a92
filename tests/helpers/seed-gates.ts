// A stand-in trainer that waits at a gate of its own, one per seed, until the test opens it, so the
// order and overlap of runs are the test's to force, never the machine's speed. Each run first
// appends "<seed> <CUDA_VISIBLE_DEVICES> <pid>" to pidFile(dir, 'runs'), then leaves
// "<seed>.waiting" in pidFile(dir, 'gates') and waits (2 minutes at most) for "<seed>.go".

import fs from 'node:fs';
import path from 'node:path';
import { PID_FILE_PY, pidFile } from './workspace.js';

/** The trainer; `value` is a python expression for val_bpb, which may use `seed` (an int). */
export const GATED_TRAINER = (value: string, header = '') => `# gated trainer${header}
import hashlib, os, tempfile, time
seed = int(os.environ["AUTORESEARCH_SEED"])
gates = ${PID_FILE_PY('gates')}
os.makedirs(gates, exist_ok=True)
with open(${PID_FILE_PY('runs')}, "a") as f:
    f.write(f"{seed} {os.environ.get('CUDA_VISIBLE_DEVICES', '-')} {os.getpid()}\\n")
open(os.path.join(gates, f"{seed}.waiting"), "w").close()
deadline = time.time() + 120
while not os.path.exists(os.path.join(gates, f"{seed}.go")):
    if time.time() > deadline:
        raise SystemExit("the test never opened this run's gate")
    time.sleep(0.02)
print("---")
print(f"val_bpb:          {${value}:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

export interface GatedRun {
  seed: number;
  gpu: string;
  pid: number;
}

/** Every run the trainer started in the repository at `dir`, in the order they started. */
export function gatedRuns(dir: string): GatedRun[] {
  const file = pidFile(dir, 'runs');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [seed, gpu, pid] = line.split(' ');
      return { seed: Number(seed), gpu: gpu!, pid: Number(pid) };
    });
}

/** The seeds whose run waits at its gate now or did before. */
export function waitingSeeds(dir: string): number[] {
  const gates = pidFile(dir, 'gates');
  return fs.existsSync(gates) ? fs.readdirSync(gates).filter((n) => n.endsWith('.waiting')).map((n) => Number(n.split('.')[0])) : [];
}

export const isWaiting = (dir: string, seed: number): boolean => fs.existsSync(path.join(pidFile(dir, 'gates'), `${seed}.waiting`));

/** Let the run of `seed` go (before it reaches its gate, too). */
export function openGate(dir: string, seed: number): void {
  fs.mkdirSync(pidFile(dir, 'gates'), { recursive: true });
  fs.writeFileSync(path.join(pidFile(dir, 'gates'), `${seed}.go`), '');
}

/** Remove the trainer's files in /tmp for the repository at `dir`. */
export function removeGates(dir: string): void {
  fs.rmSync(pidFile(dir, 'gates'), { recursive: true, force: true });
  fs.rmSync(pidFile(dir, 'runs'), { force: true });
}
