// What the kill -9 drills share: a seeded PRNG for their moments, a throwaway repository, and the
// trainers' processes still running after a restart.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostPid, pidFile, running } from './workspace.js';

export { running };

/** mulberry32: a tiny seeded PRNG, so every run of a drill kills at the same moments. */
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

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

/** A new repository with a protocol and `trainPy` committed; its path is added to `dirs` for cleaning up. */
export function drillWorkspace(prefix: string, trainPy: string, dirs: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Drill');
  git(dir, 'config', 'user.email', 'drill@example.com');
  fs.writeFileSync(path.join(dir, 'program.md'), '# protocol\nMake one change to train.py.\n');
  fs.writeFileSync(path.join(dir, 'train.py'), trainPy);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

/**
 * The drill trainers and their workers that are still running, from the "<pid> <pid namespace>
 * <run marker>" lines they record (see tests/fixtures/drill-trainer.mjs and hostPid).
 */
export function trainerPids(dir: string): number[] {
  const file = pidFile(dir, 'drill-pids');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(hostPid)
    .filter((p): p is number => p !== null && running(p));
}
