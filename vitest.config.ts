import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * PATH with the directory of the python3 this checkout selects first, where python3 on PATH is a
 * launcher rather than the interpreter: pyenv's shims are shell scripts that cost far more than
 * python's own start (docs/benchmarks.md, "Test suite time"), and the suite starts python many
 * hundreds of times. The same interpreter, the one .python-version names, minus the launcher;
 * where python3 is the interpreter itself, PATH as it is.
 */
function pathWithPython(): string | undefined {
  const current = process.env['PATH'];
  try {
    const found = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
    const exe = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    const dir = path.dirname(exe);
    return path.dirname(found) === dir ? current : `${dir}:${current ?? ''}`;
  } catch {
    return current; // no python3: the tests that need it say so
  }
}

export default defineConfig({
  test: {
    // A limit catches a hang; it never judges speed. Tests that drive the whole loop run real git,
    // python and bubblewrap processes, so on a slow or busy machine one may take a minute: no test
    // sets a lower limit of its own, the longest drills a higher one.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Much of the suite's time is spent waiting on other processes (trainers, git, SLURM's
    // scheduler), not computing: at least two files at a time, even on 2 cores, where vitest's
    // default would run one (three measured faster once, but the full suite was verified with two).
    // Tests order their events by barriers, never by sleeps, so a busy machine makes them slower,
    // not wrong.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    env: { PATH: pathWithPython() ?? '' },
  },
});
