// Whole-process drills: the loop in its own process, stopped by Ctrl+C, SIGTERM, or kill -9.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_DEFAULTS, makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { decideSandbox } from '../../src/proc/sandbox.js';
import { readResultsFile } from '../../src/ledger/results.js';
import type { EngineEvent } from '../../src/engine/types.js';
import { git, hostPid, makeWorkspace, PID_FILE_PY, pidAlive, pidFile, PlannedAgent, STAND_IN_TRAINER } from '../helpers/workspace.js';

const DRIVER = path.resolve('tests/fixtures/drive-loop.mjs');
if (!fs.existsSync(path.resolve('dist/cli/run.js'))) throw new Error('Build first: npm run build (npm test does it).');

interface DriverEdit { content: string; description: string; hangAfterEdit?: boolean }

function startDriver(dir: string, edits: DriverEdit[], maxExperiments = edits.length, sandbox?: 'off'): { child: ChildProcess; exit: Promise<number | null>; output: () => string } {
  const planFile = path.join(dir, '.git', 'plan.json');
  fs.writeFileSync(planFile, JSON.stringify({ maxExperiments, edits, ...(sandbox ? { sandbox } : {}) }));
  const child = spawn(process.execPath, [DRIVER, dir, planFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, exit, output: () => out };
}

/** Polls `check`: a barrier on what the processes did, with a deadline only to report a hang (and the processes then running, to say why). */
async function waitFor(check: () => boolean, ms = 60_000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      const ps = spawnSync('ps', ['-eo', 'pid,ppid,pgid,sid,stat,etime,args'], { encoding: 'utf8' }).stdout ?? '';
      const mine = ps.split('\n').filter((l, i) => i === 0 || /python|bwrap|sleep|node .*drive-loop/.test(l));
      throw new Error(`timed out waiting for ${what}; processes:\n${mine.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The drills run with the default --sandbox auto: sandboxed wherever bubblewrap works.
const sandboxed = decideSandbox(ENGINE_DEFAULTS.sandbox).on;
const orphanPid = (dir: string) => hostPid(fs.readFileSync(pidFile(dir, 'orphan.pid'), 'utf8'));
const rowsOf = (dir: string) => readResultsFile(path.join(dir, 'results.tsv')).rows;

async function resume(dir: string, plan: ConstructorParameters<typeof PlannedAgent>[0]) {
  const events: EngineEvent[] = [];
  const result = await runLoop(
    makeEngineConfig(dir, 'drill', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, maxExperiments: plan.length, lookahead: 0 }),
    new PlannedAgent(plan),
    { onEvent: (e) => events.push(e), signal: new AbortController().signal },
  );
  return { result, events };
}

describe('stopping the program', () => {
  it('Ctrl+C during training: the run tree is stopped, the experiment logged as interrupted, exit 130', async () => {
    const dir = makeWorkspace();
    const d = startDriver(dir, [{ content: STAND_IN_TRAINER(0.5, 'orphan'), description: 'slow idea' }]);
    await waitFor(() => fs.existsSync(pidFile(dir, 'orphan.pid')));
    const started = Date.now();
    d.child.kill('SIGINT');
    expect(await d.exit).toBe(130);
    expect(Date.now() - started).toBeLessThan(60_000); // stopped, not waited for: the run would sleep 1000 s
    expect(pidAlive(orphanPid(dir))).toBe(false);
    expect(rowsOf(dir).map((r) => [r.status, r.description])).toEqual([['keep', 'baseline'], ['crash', 'slow idea (interrupted)']]);
    expect(git(dir, 'rev-parse', '--short=7', 'HEAD')).toBe(rowsOf(dir)[0]!.commit);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
  });

  it('SIGTERM exits 143 the same way', async () => {
    const dir = makeWorkspace();
    const d = startDriver(dir, [{ content: STAND_IN_TRAINER(0.5, 'orphan'), description: 'slow idea' }]);
    await waitFor(() => fs.existsSync(pidFile(dir, 'orphan.pid')));
    d.child.kill('SIGTERM');
    expect(await d.exit).toBe(143);
    expect(pidAlive(orphanPid(dir))).toBe(false);
    expect(rowsOf(dir).at(-1)?.description).toBe('slow idea (interrupted)');
  });

  it('a second Ctrl+C forces an exit at once and still leaves no training process behind', async () => {
    const dir = makeWorkspace();
    // A trainer that ignores SIGTERM, so the first Ctrl+C alone would take the full grace period
    // (3 s); it writes its pid to a file the moment the first stop reaches it, and the second Ctrl+C
    // follows that, not a sleep: the first stop is under way and cannot have finished.
    const stubborn = STAND_IN_TRAINER(0.5, 'orphan').replace(
      'import hashlib, os, subprocess, sys, tempfile, time\n',
      [
        'import hashlib, os, signal, subprocess, sys, tempfile, time',
        'def stubborn(*_):',
        `    p = ${PID_FILE_PY('sigterm')}`,
        '    with open(p + ".tmp", "w") as f:',
        `        f.write(f"{os.getpid()} {os.readlink('/proc/self/ns/pid')} {os.environ.get('AUTORESEARCH_RUN', '')}")`,
        '    os.replace(p + ".tmp", p)',
        'signal.signal(signal.SIGTERM, stubborn)',
        '',
      ].join('\n'),
    );
    expect(stubborn).toContain('signal.signal(signal.SIGTERM');
    // Unsandboxed: in the sandbox the first stop's SIGTERM also ends bwrap, whose death kills the
    // whole namespace at once, so a trainer may never get to run its handler (on a loaded machine
    // it often does not); a run that outlives the grace period is the unsandboxed case.
    const d = startDriver(dir, [{ content: stubborn, description: 'stubborn' }], 1, 'off');
    await waitFor(() => fs.existsSync(pidFile(dir, 'orphan.pid')));
    d.child.kill('SIGINT');
    await waitFor(() => fs.existsSync(pidFile(dir, 'sigterm')), 60_000, 'the trainer to get the first stop');
    d.child.kill('SIGINT');
    expect(await d.exit).toBe(130);
    await waitFor(() => !pidAlive(orphanPid(dir)), 60_000, 'the orphan to be gone');
    const stubbornPid = () => hostPid(fs.readFileSync(pidFile(dir, 'sigterm'), 'utf8'));
    await waitFor(() => !pidAlive(stubbornPid()), 60_000, `the trainer that ignored the first stop (${fs.readFileSync(pidFile(dir, 'sigterm'), 'utf8')}, here pid ${stubbornPid()}) to be gone`);
    // The next start finishes the bookkeeping.
    const { events } = await resume(dir, []);
    expect(events.some((e) => e.type === 'recovered')).toBe(true);
    expect(rowsOf(dir).map((r) => r.description)).toEqual(['baseline', 'stubborn (interrupted)']);
  });
});

describe('kill -9 recovery', () => {
  it('killed while training: the next start logs the experiment as interrupted, stops the orphaned run and carries on', async () => {
    const dir = makeWorkspace();
    const d = startDriver(dir, [{ content: STAND_IN_TRAINER(0.5, 'orphan'), description: 'lost in a power cut' }]);
    await waitFor(() => fs.existsSync(pidFile(dir, 'orphan.pid')));
    d.child.kill('SIGKILL');
    await d.exit;
    // Unsandboxed, the run outlives its parent, as it would on an OOM kill; bwrap's --die-with-parent takes a sandboxed one with it.
    if (!sandboxed) expect(pidAlive(orphanPid(dir))).toBe(true);
    else await waitFor(() => !pidAlive(orphanPid(dir)));
    const { events, result } = await resume(dir, [{ value: 0.8, description: 'after restart' }]);
    expect(result.exitCode).toBe(0);
    const recovered = events.find((e) => e.type === 'recovered');
    expect(recovered?.type === 'recovered' && recovered.message).toMatch(sandboxed ? /interrupted: logged as crash/ : /orphaned training run.*interrupted: logged as crash/);
    expect(pidAlive(orphanPid(dir))).toBe(false);
    expect(rowsOf(dir).map((r) => [r.status, r.description])).toEqual([
      ['keep', 'baseline'],
      ['crash', 'lost in a power cut (interrupted)'],
      ['keep', 'after restart'],
    ]);
    const crashed = rowsOf(dir)[1]!.commit;
    expect(git(dir, 'rev-parse', '--short=7', `refs/autoresearch/drill/discarded/${crashed}`)).toBe(crashed);
    expect(git(dir, 'log', '--format=%s', '-2')).toBe('after restart\ninitial');
  });

  it('killed while the agent was editing: the edit is saved under a ref, no row is invented, the tree is reset', async () => {
    const dir = makeWorkspace();
    const d = startDriver(dir, [{ content: STAND_IN_TRAINER(0.7, 'ok'), description: 'half-done edit', hangAfterEdit: true }]);
    await waitFor(() => fs.existsSync(path.join(dir, '.autoresearch', 'agent-editing')));
    d.child.kill('SIGKILL');
    await d.exit;
    // The edit is in the experiment's worktree; the main checkout stays at the best, untouched.
    const worktree = path.join(dir, '.autoresearch', 'drill', 'worktrees', '0001');
    expect(git(worktree, 'status', '--porcelain', '--untracked-files=no')).toBe('M train.py');
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    const { events } = await resume(dir, [{ value: 0.9, description: 'next idea' }]);
    expect(fs.existsSync(worktree)).toBe(false);
    expect(git(dir, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    const recovered = events.find((e) => e.type === 'recovered');
    expect(recovered?.type === 'recovered' && recovered.message).toMatch(/uncommitted edits of experiment 1 saved as refs\/autoresearch\/drill\/interrupted\//);
    expect(rowsOf(dir).map((r) => r.description)).toEqual(['baseline', 'next idea']);
    const saved = git(dir, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/drill/interrupted/');
    expect(git(dir, 'show', `${saved}:train.py`)).toContain('VALUE = 0.7');
  });
});
