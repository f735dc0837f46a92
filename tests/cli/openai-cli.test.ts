// The built command with --provider openai, as a user runs it: what is missing is reported before
// anything is touched, and a run against a local OpenAI-compatible server (the fake Chat
// Completions one) needs no Anthropic key at all.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeOpenAi, say, turn, useTool } from '../../src/fakeapi/index.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const CLI = path.resolve('dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('Build first: npm run build (npm test does it).');
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('OPENAI_')));

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...clean, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, err: r.stderr };
}

const untouched = (dir: string) => {
  expect(git(dir, 'branch', '--format=%(refname:short)')).toBe('main');
  expect(fs.existsSync(path.join(dir, 'results.tsv'))).toBe(false);
};

describe('autoresearch --provider openai', () => {
  it('exits 2, touching nothing, without OPENAI_API_KEY, without --model, or with --max-cost on an unpriced hosted model', () => {
    const dir = makeWorkspace();
    const noKey = cli(['--tag', 'x', '--provider', 'openai', '--model', 'm', '--no-tui'], dir);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toMatch(/OPENAI_API_KEY is not set[\s\S]*OPENAI_API_KEY=none/);
    const noModel = cli(['--tag', 'x', '--provider', 'openai', '--no-tui'], dir, { OPENAI_API_KEY: 'none' });
    expect(noModel.code).toBe(2);
    expect(noModel.err).toMatch(/--provider openai needs --model/);
    const unpriced = cli(['--tag', 'x', '--provider', 'openai', '--model', 'some/model', '--base-url', 'https://router.example/v1', '--max-cost', '5', '--no-tui'], dir, { OPENAI_API_KEY: 'sk-x' });
    expect(unpriced.code).toBe(2);
    expect(unpriced.err).toMatch(/--max-cost needs a price, and no price is known for model "some\/model" at https:\/\/router.example\/v1\. Give --price-in and --price-out/);
    untouched(dir);
  });

  it('runs the baseline and one experiment against a local server with a placeholder key and no Anthropic key', async () => {
    const api = await startFakeOpenAi((_body, call) =>
      call === 0
        ? turn(say('Lower the value.'), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'VALUE = 1\n', new_str: 'VALUE = 0.9\n' }))
        : turn(useTool('submit_experiment', { description: 'lower VALUE to 0.9' })),
    );
    try {
      const dir = makeWorkspace({ value: 1.0 });
      const child = spawn(process.execPath, [CLI, '--tag', 'oa', '--provider', 'openai', '--model', 'qwen2.5-coder', '--base-url', api.url, '--max-experiments', '1', '--run-cmd', 'python3 train.py', '--no-tui'], {
        cwd: dir,
        env: { ...clean, OPENAI_API_KEY: 'none' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, out).toBe(0);
      expect(out).toMatch(/agent openai:qwen2\.5-coder/);
      expect(out).not.toMatch(/no price is known/); // a local endpoint is free, not unpriced
      const rows = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
      expect(rows.map((r) => [r[1], r[3], r[4]])).toEqual([
        ['1.000000', 'keep', 'baseline'],
        ['0.900000', 'keep', 'lower VALUE to 0.9'],
      ]);
      expect(api.requests).toHaveLength(2);
    } finally {
      await api.close();
    }
  });
});
