// The auditor's escapes through run.log and the worktree's .git, replayed through the built command,
// the real agent, real bwrap and the local Messages API: the model's shell points run.log at a file
// of the user's (it must not be overwritten), train.py swaps run.log for a symlink to ~/.bashrc
// before it crashes (it must not reach the model or the kept logs), and the shell rewrites .git to
// name a repository whose core.fsmonitor is a command (it must never run).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firstUserText, startFakeApi, turn, useTool, type FakeApi } from '../../src/fakeapi/index.js';
import { sandboxSupport } from '../../src/proc/sandbox.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const CLI = path.resolve('dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('Build first: npm run build (npm test does it).');
const support = sandboxSupport();
if (!support.ok) console.warn(`escape tests skipped: ${support.reason}`);

const SUMMARY = `print("---"); print(f"val_bpb:          {VALUE:.6f}"); print("peak_vram_mb:     1.0", flush=True)\n`;
let api: FakeApi | null = null;
const temps: string[] = [];
afterEach(async () => {
  await api?.close();
  api = null;
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

async function run(dir: string, home: string, extra: string[] = []) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_')));
  const child = spawn(process.execPath, [CLI, '--tag', 'esc', '--max-experiments', '1', '--baseline-runs', '1', '--run-cmd', 'python3 train.py', '--no-tui', '--sandbox', 'on', ...extra], {
    cwd: dir,
    env: { ...clean, HOME: home, ANTHROPIC_API_KEY: 'sk-ant-escape-KEY-0123456789', ANTHROPIC_BASE_URL: api!.url },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out, seen: api!.requests.map((r) => JSON.stringify(r.body)).join('\n') };
}

function workspace(trainer: string) {
  const home = fs.mkdtempSync('/var/tmp/ar-home-');
  temps.push(home);
  const dir = makeWorkspace({ parent: home });
  fs.writeFileSync(path.join(dir, 'train.py'), trainer);
  git(dir, 'commit', '-qam', 'trainer');
  return { home, dir };
}

describe.skipIf(!support.ok)('escapes through the files the program touches in a worktree (bubblewrap)', () => {
  it('run.log made a symlink by the shell: the run writes a log of its own, the target is untouched', async () => {
    const { home, dir } = workspace(`VALUE = 1.0\n${SUMMARY}`);
    const target = path.join(home, 'target.txt');
    fs.writeFileSync(target, 'ORIGINAL\n');
    api = await startFakeApi((_b, call) =>
      call === 0
        ? turn(useTool('bash', { command: `ln -sf ${target} run.log` }), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'VALUE = 1.0\n', new_str: 'VALUE = 0.9\n' }))
        : turn(useTool('submit_experiment', { description: 'lower VALUE' })),
    );
    const r = await run(dir, home);
    expect(r.code, r.out).toBe(0);
    expect(fs.readFileSync(target, 'utf8')).toBe('ORIGINAL\n');
    expect(fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8')).toMatch(/0\.900000\tkeep|0\.900000\t[^\t]*\tkeep/);
  });

  it('run.log swapped for a symlink to ~/.bashrc by train.py: nothing of it reaches the model or the kept logs', async () => {
    const SECRET = 'sk-ant-FROM-BASHRC-42';
    const { home, dir } = workspace(`import os, sys\nEVIL = False\nVALUE = 1.0\nif EVIL:\n    os.unlink("run.log"); os.symlink(os.path.expanduser("~/.bashrc"), "run.log"); sys.exit(1)\n${SUMMARY}`);
    fs.writeFileSync(path.join(home, '.bashrc'), `export ANTHROPIC_API_KEY=${SECRET}\n`);
    api = await startFakeApi((body) => {
      if (/fix attempt/.test(firstUserText(body))) return turn(useTool('submit_experiment', { description: 'fix' }));
      return body.messages.length === 1
        ? turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'EVIL = False', new_str: 'EVIL = True' }))
        : turn(useTool('submit_experiment', { description: 'evil' }));
    });
    const r = await run(dir, home);
    expect(r.out).toContain('crash');
    expect(r.seen).not.toContain('FROM-BASHRC');
    const kept = execFileSync('sh', ['-c', `grep -rl FROM-BASHRC ${dir}/.autoresearch ${dir}/run.log 2>/dev/null || true`], { encoding: 'utf8' });
    expect(kept).toBe('');
  });

  it('.git rewritten by the shell to name a repository with core.fsmonitor set: the command never runs, the experiment completes', async () => {
    const { home, dir } = workspace(`VALUE = 1.0\n${SUMMARY}`);
    const leak = path.join(home, 'leak.txt');
    const evil = `git init -q evil; git -C evil config core.fsmonitor 'env > ${leak}; false'; echo "gitdir: $PWD/evil/.git" > .git; echo done`;
    api = await startFakeApi((_b, call) =>
      call === 0
        ? turn(useTool('bash', { command: evil }), useTool('bash', { command: 'echo second' }), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'VALUE = 1.0\n', new_str: 'VALUE = 0.9\n' }))
        : turn(useTool('submit_experiment', { description: 'lower VALUE' })),
    );
    const r = await run(dir, home);
    expect(r.code, r.out).toBe(0);
    expect(fs.existsSync(leak)).toBe(false);
    expect(git(dir, 'log', '-1', '--format=%s')).toBe('lower VALUE');
  });
});
