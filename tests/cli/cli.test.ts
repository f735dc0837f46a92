// The built command as a user runs it: exit codes and messages, and that nothing is touched.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, makeWorkspace } from '../helpers/workspace.js';

const CLI = path.resolve('dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('Build first: npm run build (npm test does it).');

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_')));
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...clean, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const untouched = (dir: string) => {
  expect(git(dir, 'branch', '--format=%(refname:short)')).toBe('main');
  expect(fs.existsSync(path.join(dir, 'results.tsv'))).toBe(false);
  expect(fs.existsSync(path.join(dir, '.autoresearch'))).toBe(false);
};

describe('autoresearch (the command)', () => {
  it('--help teaches every flag and exits 0', () => {
    const r = cli(['--help'], process.cwd());
    expect(r.code).toBe(0);
    for (const flag of ['--tag', '--max-experiments', '--timeout', '--editable', '--fix-attempts', '--sandbox', '--no-train-network', '--no-tui', 'results', 'demo', 'init']) {
      expect(r.out).toContain(flag);
    }
  });

  it('prints its version', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };
    expect(cli(['--version'], process.cwd()).out.trim()).toBe(pkg.version);
  });

  it('bad flags: a clear message, exit 2, nothing touched', () => {
    const dir = makeWorkspace();
    const r = cli(['--tag', 'x', '--direction', 'sideways'], dir, { ANTHROPIC_API_KEY: 'sk-test' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--direction must be min or max/);
    expect(cli([], dir).err).toMatch(/Missing --tag/);
    untouched(dir);
  });

  it('a missing API key: exit 2 before any git change', () => {
    const dir = makeWorkspace();
    const r = cli(['--tag', 'x'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ANTHROPIC_API_KEY is not set/);
    untouched(dir);
  });

  it('a missing program.md or run target: exit 2, nothing touched', () => {
    const dir = makeWorkspace();
    const noProgram = cli(['--tag', 'x', '--program', 'nope.md', '--no-tui'], dir, { ANTHROPIC_API_KEY: 'sk-test' });
    expect(noProgram.code).toBe(2);
    expect(noProgram.err).toMatch(/nope\.md does not exist/);
    const noTarget = cli(['--tag', 'x', '--run-cmd', 'python3 missing.py', '--no-tui'], dir, { ANTHROPIC_API_KEY: 'sk-test' });
    expect(noTarget.code).toBe(2);
    expect(noTarget.err).toMatch(/missing\.py, which does not exist/);
    untouched(dir);
  });

  it('uncommitted changes: refuses with the file names, exit 2, the work untouched', () => {
    const dir = makeWorkspace();
    fs.appendFileSync(path.join(dir, 'program.md'), 'my new idea\n');
    const r = cli(['--tag', 'x', '--run-cmd', 'python3 train.py', '--no-tui'], dir, { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Uncommitted changes in tracked files: program\.md/);
    expect(fs.readFileSync(path.join(dir, 'program.md'), 'utf8')).toContain('my new idea');
    untouched(dir);
  });

  it('the default run command without uv installed: exit 2 saying how to get it', () => {
    const dir = makeWorkspace();
    // A PATH with git on it and nothing else, so `uv` cannot be found whatever this machine has.
    const bin = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'bin-'));
    fs.symlinkSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), path.join(bin, 'git'));
    const r = cli(['--tag', 'x', '--no-tui'], dir, { ANTHROPIC_API_KEY: 'sk-test', PATH: bin });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--run-cmd "uv run train\.py" needs uv, which is not on PATH\. Install uv .*--run-cmd "python train\.py"/);
    untouched(dir);
  });

  it('--executor slurm where sbatch is not installed: exit 2 saying what to check, nothing touched', () => {
    const dir = makeWorkspace();
    // git and python3 on PATH, and no SLURM command, whatever this machine has.
    const bin = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'bin-'));
    for (const tool of ['git', 'python3']) fs.symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), path.join(bin, tool));
    const r = cli(['--tag', 'x', '--no-tui', '--sandbox', 'off', '--run-cmd', 'python3 train.py', '--executor', 'slurm', '--jobs', '2', '--slurm-args', '--partition=gpu --gres=gpu:1'], dir, { ANTHROPIC_API_KEY: 'sk-test', PATH: bin });
    expect(r.code).toBe(2);
    expect(r.err).toContain('autoresearch: --executor slurm: sbatch was not found on PATH. Run autoresearch on a SLURM login node (where sbatch, scontrol and scancel work)');
    untouched(dir);
  });

  it('outside a git repository: exit 2 with the fix', () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'not-a-repo-'));
    fs.writeFileSync(path.join(dir, 'program.md'), '#');
    fs.writeFileSync(path.join(dir, 'train.py'), '#');
    const r = cli(['--tag', 'x', '--no-tui'], dir, { ANTHROPIC_API_KEY: 'sk-test' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not inside a git repository/);
  });
});

describe('refusals before anything is touched (exit 2, the fix named)', () => {
  const KEY = { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' };
  const exclude = (dir: string) => {
    const f = path.join(dir, '.git', 'info', 'exclude');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : null;
  };
  /** Run, expect exit 2 and every pattern on stderr, and the repository as it was (the exclude file included). */
  const refuses = (dir: string, args: string[], ...patterns: RegExp[]) => {
    const before = { head: git(dir, 'rev-parse', 'HEAD'), exclude: exclude(dir) };
    const r = cli(['--no-tui', ...args], dir, KEY);
    expect(r.code, r.err).toBe(2);
    for (const p of patterns) expect(r.err).toMatch(p);
    expect(r.err).not.toMatch(/resume/);
    untouched(dir);
    expect({ head: git(dir, 'rev-parse', 'HEAD'), exclude: exclude(dir) }).toEqual(before);
    return r;
  };

  it('negative numbers say what values are allowed', () => {
    const dir = makeWorkspace();
    refuses(dir, ['--tag', 'x', '--timeout', '-5'], /--timeout must be a positive number of seconds, got "-5"/);
    refuses(dir, ['--tag', 'x', '--max-experiments', '-1'], /--max-experiments must be a whole number of experiments, 0 or more/);
    refuses(dir, ['--tag', 'x', '--max-cost', '-1'], /--max-cost must be a positive amount of US dollars/);
    refuses(dir, ['--tag', 'x', '--api-patience', '-5'], /--api-patience must be a positive duration/);
  });

  it('a 300-character tag: the rules, not a raw git error', () => {
    const dir = makeWorkspace();
    refuses(dir, ['--tag', 'x'.repeat(300), '--run-cmd', 'python3 train.py'], /at most 100 characters: letters, digits/);
  });

  it('an untracked train.py: how to commit it', () => {
    const dir = makeWorkspace();
    git(dir, 'rm', '-q', '--cached', 'train.py');
    git(dir, 'commit', '-qm', 'untrack');
    refuses(dir, ['--tag', 'x', '--run-cmd', 'python3 train.py'], /train\.py is not committed/, /git add train\.py && git commit -m/);
  });

  it('a rebase in progress: how to finish or abort it', () => {
    const dir = makeWorkspace();
    git(dir, 'checkout', '-qb', 'side');
    fs.appendFileSync(path.join(dir, 'program.md'), 'side\n');
    git(dir, 'commit', '-qam', 'side');
    git(dir, 'checkout', '-q', 'main');
    fs.appendFileSync(path.join(dir, 'program.md'), 'main\n');
    git(dir, 'commit', '-qam', 'main');
    spawnSync('git', ['rebase', 'side'], { cwd: dir, encoding: 'utf8' });
    const before = exclude(dir);
    const r = cli(['--no-tui', '--tag', 'x', '--run-cmd', 'python3 train.py'], dir, KEY);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/A rebase is in progress .*git rebase --continue .*git rebase --abort/s);
    expect(fs.existsSync(path.join(dir, '.autoresearch'))).toBe(false);
    expect(git(dir, 'branch', '--list', 'autoresearch/*')).toBe('');
    expect(exclude(dir)).toBe(before);
  });

  it('a missing absolute script is named; the absolute path of train.py is refused with the relative form', () => {
    const dir = makeWorkspace();
    refuses(dir, ['--tag', 'x', '--run-cmd', 'python3 /nonexistent/train.py'], /runs \/nonexistent\/train\.py, which does not exist\./);
    // The checkout's own train.py: every experiment would train the best code, not the model's change.
    refuses(dir, ['--tag', 'x', '--run-cmd', `python3 ${path.join(dir, 'train.py')}`], /Name it relative to the repository: --run-cmd "python3 train\.py"/);
  });

  it('an empty program.md', () => {
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, 'program.md'), '\n  \n');
    git(dir, 'commit', '-qam', 'empty protocol');
    refuses(dir, ['--tag', 'x', '--run-cmd', 'python3 train.py'], /program\.md is empty/);
  });

  it('a results.tsv that is a directory: exit 2 naming it, not a resumable error', () => {
    const dir = makeWorkspace();
    fs.mkdirSync(path.join(dir, 'results.tsv'));
    const before = exclude(dir);
    const r = cli(['--no-tui', '--tag', 'x', '--run-cmd', 'python3 train.py'], dir, KEY);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${fs.realpathSync(dir)}/results.tsv is a directory, not a file`);
    expect(r.err).toMatch(/Move it aside/);
    expect(fs.existsSync(path.join(dir, '.autoresearch'))).toBe(false);
    expect(exclude(dir)).toBe(before);
  });

  it('init onto a file, or under one: exit 2 naming the path', () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'init-file-'));
    fs.writeFileSync(path.join(dir, 'somefile'), 'x');
    const onto = cli(['init', 'somefile'], dir);
    expect(onto.code).toBe(2);
    expect(onto.err).toContain(`${path.join(dir, 'somefile')} is a file, not a directory`);
    const under = cli(['init', 'somefile/lab'], dir);
    expect(under.code).toBe(2);
    expect(under.err).toContain(`${path.join(dir, 'somefile')} is a file, not a directory`);
    expect(fs.readdirSync(dir)).toEqual(['somefile']);
  });
});

describe('autoresearch --tag with the real agent against a local Messages API', () => {
  it('runs the baseline and one experiment, then exits 0 with the rows written', async () => {
    const { startFakeApi, turn, useTool, say } = await import('../../src/fakeapi/index.js');
    const api = await startFakeApi((_body, call) =>
      call === 0
        ? turn(say('Lower the value.'), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'VALUE = 1\n', new_str: 'VALUE = 0.9\n' }))
        : turn(useTool('submit_experiment', { description: 'lower VALUE to 0.9' })),
    );
    try {
      const dir = makeWorkspace({ value: 1.0 });
      const { spawn } = await import('node:child_process');
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_')));
      const child = spawn(process.execPath, [CLI, '--tag', 'cli', '--max-experiments', '1', '--run-cmd', 'python3 train.py', '--no-tui'], {
        cwd: dir,
        env: { ...clean, ANTHROPIC_API_KEY: 'sk-ant-test-cli', ANTHROPIC_BASE_URL: api.url },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, out).toBe(0);
      expect(out).toMatch(/keep\s+val_bpb 0\.900000/);
      const rows = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
      expect(rows.map((r) => [r[1], r[3], r[4]])).toEqual([
        ['1.000000', 'keep', 'baseline'],
        ['0.900000', 'keep', 'lower VALUE to 0.9'],
      ]);
      expect(git(dir, 'log', '-1', '--format=%s')).toBe('lower VALUE to 0.9');
      expect(api.requests.length).toBe(2);
    } finally {
      await api.close();
    }
  });
});
