// Drill: the disk fills up. The repository lives on a real, tiny tmpfs (1 MiB), and the training
// command itself fills it (`dd` into a file next to the repository, as a run writing checkpoints
// would), so every write after that point fails with a real ENOSPC: git's, the log's, the
// ledger's. Nothing is mocked. Checked: the program stops (never hangs) with an error that says
// the disk is full, results.tsv holds only whole rows, and once space is freed the same command
// recovers and carries on with the ledger, the branch and the tree consistent.
//
// Mounting a tmpfs needs root (or CAP_SYS_ADMIN); elsewhere these drills are skipped.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runWithUi } from '../../src/cli/run.js';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile, rowsOfTag } from '../../src/ledger/results.js';
import { runTraining } from '../../src/proc/training.js';
import { groupAlive } from '../../src/proc/tree.js';
import { ZERO_USAGE, type Agent, type EngineConfig, type EngineEvent } from '../../src/engine/types.js';

const PAGE = 4096; // tmpfs hands out space in pages

function tryMount(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const canMount = (() => {
  if (os.platform() !== 'linux') return false;
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-mount-probe-'));
  const ok = tryMount(probe);
  if (ok) execFileSync('umount', [probe]);
  fs.rmdirSync(probe);
  return ok;
})();

const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) {
    execFileSync('umount', ['-l', m]);
    fs.rmSync(m, { recursive: true, force: true });
  }
});

/**
 * For a run command: wait until the loop has recorded this run (its AUTORESEARCH_RUN marker in the
 * experiment's state file, ../../inflight/ from the worktree it trains in), so that what the
 * command does next happens to a run the loop knows of, not in the moment between its start and
 * that write (the last drill here takes that moment on by itself).
 */
const RECORDED = 'until grep -qs "$AUTORESEARCH_RUN" ../../inflight/*.json; do sleep 0.05; done';

const summary = (v: number) => `---\nval_bpb:          ${v.toFixed(6)}\npeak_vram_mb:     1024.0\n`;

/** A repository on a fresh 1 MiB tmpfs; the filler file goes next to it, on the same filesystem. */
function repoOnTmpfs(): { dir: string; filler: string } {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-diskfull-'));
  if (!tryMount(mnt)) throw new Error(`could not mount a tmpfs on ${mnt}`);
  mounts.push(mnt);
  const dir = path.join(mnt, 'repo');
  fs.mkdirSync(dir);
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Drill');
  git('config', 'user.email', 'drill@example.com');
  fs.writeFileSync(path.join(dir, 'program.md'), '# protocol\n');
  fs.writeFileSync(path.join(dir, 'train.py'), summary(1.5));
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return { dir, filler: path.join(mnt, 'filler') };
}

const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();

/** Writes the next planned value into train.py (a summary block that `cat` prints). */
function agent(values: number[]): Agent {
  let i = 0;
  return {
    name: 'drill',
    propose: async (ctx) => {
      const v = values[i++];
      if (v === undefined) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
      fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), summary(v));
      return { kind: 'submitted', description: `value ${v}`, usage: ZERO_USAGE };
    },
  };
}

const config = (dir: string, over: Partial<EngineConfig> = {}): EngineConfig =>
  makeEngineConfig(dir, 'full', { runCmd: 'cat train.py', timeoutSec: 20, fixAttempts: 0, maxExperiments: 2, lookahead: 0, ...over });

async function loop(dir: string, a: Agent, over: Partial<EngineConfig> = {}) {
  const events: EngineEvent[] = [];
  const result = await runLoop(config(dir, over), a, { onEvent: (e) => events.push(e), signal: new AbortController().signal });
  return { result, events };
}

/** The CLI's own wrapper, so the test sees what the user sees: the exit code and stderr. */
async function cli(dir: string, a: Agent, over: Partial<EngineConfig> = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stderr = '';
  let stdout = '';
  out.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  err.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const started = Date.now();
  const code = await runWithUi(
    config(dir, over),
    a,
    { cwd: dir, stdout: out as unknown as NodeJS.WriteStream, stderr: err as unknown as NodeJS.WriteStream, env: process.env },
    { tui: false },
  );
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** Fill results.tsv with rows of another tag up to `room` bytes short of a page boundary. */
function padResults(file: string, room: number): void {
  let text = fs.readFileSync(file, 'utf8');
  const pad = (desc: string) => `0pad000\t2.000000\t1.0\tdiscard\t${desc}\tother\t2026-01-01T00:00:00.000Z\t0\t0\t0\t0\t0\t0.0000\n`;
  const target = Math.ceil((Buffer.byteLength(text) + 200) / PAGE) * PAGE - room;
  while (Buffer.byteLength(text) + 2 * Buffer.byteLength(pad('x'.repeat(40))) < target) text += pad('x'.repeat(40));
  text += pad('x'.repeat(target - Buffer.byteLength(text) - Buffer.byteLength(pad(''))));
  fs.writeFileSync(file, text);
  expect(Buffer.byteLength(text)).toBe(target);
}

/** Every line whole and parsed: no torn row anywhere. */
function expectWholeRows(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.split('\n').filter((l) => l !== '');
  expect(readResultsFile(file).rows.length).toBe(lines.length - 1);
}

/** What must hold after any recovery: one row per commit, the branch = the kept commits, a clean tree at the best. */
function expectConsistent(dir: string, initial: string): void {
  const rows = rowsOfTag(readResultsFile(path.join(dir, 'results.tsv')).rows, 'full');
  expect(new Set(rows.map((r) => r.commit)).size).toBe(rows.length);
  const keeps = rows.filter((r) => r.status === 'keep');
  expect(git(dir, 'rev-parse', '--short=7', 'HEAD')).toBe(keeps.at(-1)?.commit);
  expect(git(dir, 'rev-list', '--reverse', `${initial}..HEAD`).split('\n').filter(Boolean).map((c) => c.slice(0, 7))).toEqual(keeps.slice(1).map((r) => r.commit));
  expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
}

describe.skipIf(!canMount)('the disk fills up (a real 1 MiB tmpfs)', () => {
  it('while the row is appended: the loop stops saying the disk is full, results.tsv is not torn, the restart recovers', async () => {
    const { dir, filler } = repoOnTmpfs();
    const initial = git(dir, 'rev-parse', 'HEAD');
    expect((await loop(dir, agent([0.9, 2]))).result.exitCode).toBe(0); // baseline, a keep, a discard
    const file = path.join(dir, 'results.tsv');
    // The next row (about 70 bytes) must spill into a new page: only its first 20 bytes fit.
    padResults(file, 20);
    const before = fs.readFileSync(file);

    // The run prints its summary, waits until the log (its own run.log) holds it, then fills the disk.
    const fill = `cat train.py; until grep -q val_bpb run.log; do sleep 0.05; done; dd if=/dev/zero of=${filler} bs=64k 2>/dev/null; true`;
    const { code, stderr, ms } = await cli(dir, agent([0.8]), { runCmd: fill, maxExperiments: 1 });
    expect(code).toBe(1);
    expect(stderr).toMatch(/results\.tsv[\s\S]*disk is full/i);
    expect(stderr).toMatch(/run the same command again/i);
    expect(ms).toBeLessThan(60_000); // never a hang (the run's timeout is 20 s)
    // The half-written row was cut back off: the file is byte for byte what it was.
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expectWholeRows(file);

    // Space is freed; the same command resumes. The experiment whose row could not be written is
    // logged as interrupted (its commit kept under discarded/): the measurement could not be kept
    // in inflight.json either, on the same full disk. (Where only results.tsv refuses the row, the
    // next start writes the real row: tests/engine/dataloss.test.ts.)
    fs.rmSync(filler);
    const { result, events } = await loop(dir, agent([0.7]), { maxExperiments: 1 });
    expect(result.exitCode).toBe(0);
    const recovered = events.find((e) => e.type === 'recovered');
    expect(recovered?.type === 'recovered' && recovered.message).toMatch(/interrupted: logged as crash/);
    const rows = rowsOfTag(readResultsFile(file).rows, 'full');
    expect(rows.map((r) => [r.status, r.description])).toEqual([
      ['keep', 'baseline'],
      ['keep', 'value 0.9'],
      ['discard', 'value 2'],
      ['crash', 'value 0.8 (interrupted)'],
      ['keep', 'value 0.7'],
    ]);
    expectWholeRows(file);
    expectConsistent(dir, initial);
  });

  it("before the run's output reaches run.log: no hang, whole rows only, a clear stop, and the restart recovers", async () => {
    const { dir, filler } = repoOnTmpfs();
    const initial = git(dir, 'rev-parse', 'HEAD');
    expect((await loop(dir, agent([0.9]), { maxExperiments: 1 })).result.exitCode).toBe(0);
    const file = path.join(dir, 'results.tsv');
    const rowsBefore = readResultsFile(file).rows;

    // The disk fills once the run has started (RECORDED), before it prints anything.
    const fill = `${RECORDED}; dd if=/dev/zero of=${filler} bs=64k 2>/dev/null; cat train.py`;
    const { code, stdout, stderr, ms } = await cli(dir, agent([0.8, 0.7, 0.6]), { runCmd: fill, maxExperiments: 3 });
    expect(ms).toBeLessThan(60_000); // never a hang (the run's timeout is 20 s)
    expect(code).toBe(1); // the loop stops: the full disk fails the run, or breaks the next write of the ledger or of git
    // Said either as the loop's stop reason (the run's crash blamed on the full disk) or as an error.
    expect(`${stdout}${stderr}`).toMatch(/disk is full|^autoresearch: /m);
    expectWholeRows(file);
    const rowsAfter = readResultsFile(file).rows;
    expect(rowsAfter.slice(0, rowsBefore.length)).toEqual(rowsBefore);
    // If a row was written for the run, it is a crash: the log holds no metric.
    for (const r of rowsAfter.slice(rowsBefore.length)) expect(r.status).toBe('crash');

    fs.rmSync(filler);
    const { result } = await loop(dir, agent([0.5]), { maxExperiments: 1 });
    expect(result.exitCode).toBe(0);
    expect(rowsOfTag(readResultsFile(file).rows, 'full').at(-1)).toMatchObject({ status: 'keep', description: 'value 0.5' });
    expectWholeRows(file);
    expectConsistent(dir, initial);
  });

  // ENGINE GAP (reported to the lead): when run.log cannot be written, the run's output is lost
  // without a word: the experiment is logged as `crash (no val_bpb in log)`, and the loop stops
  // only later, on git's "couldn't write ....lock", which does not say why. The full disk should be
  // named, in the row or in the error.
  it('before the run\'s output reaches run.log: the stop names the full disk', async () => {
    const { dir, filler } = repoOnTmpfs();
    expect((await loop(dir, agent([0.9]), { maxExperiments: 1 })).result.exitCode).toBe(0);
    const fill = `${RECORDED}; dd if=/dev/zero of=${filler} bs=64k 2>/dev/null; cat train.py`;
    const { stderr } = await cli(dir, agent([0.8]), { runCmd: fill, maxExperiments: 1 });
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(`${stderr}\n${rows.at(-1)?.description ?? ''}`).toMatch(/disk is full|no space left/i);
  });

  // ENGINE BUG (reported to the lead): runTraining calls onStart (the loop's writeInFlight with the
  // run's pid) right after spawning; when that write throws (ENOSPC on a full disk), runTraining
  // throws without waiting for or killing the run, and the pid never reaches inflight.json, so the
  // next start cannot stop it either: the training run keeps the GPU after the program has exited.
  // With the loop this depends on timing (a trainer whose first act is to fill the disk beat the
  // loop's write in 5 of 5 runs of a standalone script, not under vitest), so the drill calls
  // runTraining with an onStart that fails the way writeInFlight does.
  it('as the run starts (the pid cannot be recorded): the run is not left running', async () => {
    const { dir } = repoOnTmpfs();
    const marker = `drill-${process.pid}-${Date.now()}`;
    let pid = 0;
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const run = runTraining({
      cmd: `sleep 600 # ${marker}`,
      cwd: dir,
      logPath: path.join(dir, 'run.log'),
      timeoutSec: 900,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      signal: new AbortController().signal,
      onStart: (p) => {
        pid = p;
        throw enospc;
      },
    });
    await expect(run).rejects.toThrow(/ENOSPC/);
    // Given time to die (the kill may still be under way), not to end by itself: it would sleep 600 s.
    for (const until = Date.now() + 30_000; groupAlive(pid) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    const alive = groupAlive(pid);
    if (alive) process.kill(-pid, 'SIGKILL'); // our own test's run: clean up
    expect(alive).toBe(false);
  });
});
