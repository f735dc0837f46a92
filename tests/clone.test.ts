// A clone of this repository is a research workspace: the loop runs right inside it (the real CLI,
// the real agent against a local Messages API), the experiment branch changes only train.py, and
// the program's own build and packages (node_modules/, dist/) are neither touched nor committed.
// The training command is a stand-in outside the clone that follows prepare.py's judge contract.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git } from './helpers/workspace.js';

const ROOT = path.resolve('.');
const CLI = path.join(ROOT, 'dist/cli.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-clone-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Scores train.py by its ROPE_BASE, hands the score to the program as prepare.py would, prints the summary. */
const STAND_IN = `import json, os, re
rope = float(re.search(r"^ROPE_BASE = ([\\d_.]+)", open("train.py").read(), re.M).group(1).replace("_", ""))
val = 1.0 if rope == 10000 else 0.95
path = os.environ["AUTORESEARCH_RESULT_FILE"]
with open(path + ".tmp", "w") as f:
    json.dump({"val_bpb": val}, f)
os.replace(path + ".tmp", path)
print("---")
print(f"val_bpb:          {val:.6f}")
print("peak_vram_mb:     1024.0")
`;

describe('a clone of this repository', () => {
  it('runs the loop in place, and the experiment branch changes only train.py', async () => {
    const clone = path.join(scratch, 'autoresearch');
    git(scratch, 'clone', '-q', ROOT, clone);
    git(clone, 'config', 'user.name', 'Test');
    git(clone, 'config', 'user.email', 'test@example.com');
    for (const f of ['program.md', 'train.py', 'prepare.py', 'pyproject.toml', 'results.tsv.example']) {
      expect(fs.existsSync(path.join(clone, f)), f).toBe(true);
    }
    // What `npm install` leaves in a clone: ignored, so the loop's clean-tree check and the guard pass it by.
    fs.mkdirSync(path.join(clone, 'node_modules/some-package'), { recursive: true });
    fs.writeFileSync(path.join(clone, 'node_modules/some-package/index.js'), 'module.exports = 1;\n');
    fs.mkdirSync(path.join(clone, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(clone, 'dist/cli.js'), '// built\n');
    expect(git(clone, 'status', '--porcelain')).toBe('');
    const standIn = path.join(scratch, 'stand_in_train.py');
    fs.writeFileSync(standIn, STAND_IN);

    const { startFakeApi, turn, useTool, say } = await import('../src/fakeapi/index.js');
    const api = await startFakeApi((_body, call) =>
      call === 0
        ? turn(say('Raise the RoPE base.'), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: 'ROPE_BASE = 10_000.0', new_str: 'ROPE_BASE = 50_000.0' }))
        : turn(useTool('submit_experiment', { description: 'rope base 50k' })),
    );
    try {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_')));
      const child = spawn(process.execPath, [CLI, '--tag', 'rope-scaling', '--max-experiments', '1', '--run-cmd', `python3 ${standIn}`, '--no-tui'], {
        cwd: clone,
        env: { ...clean, ANTHROPIC_API_KEY: 'sk-ant-test-clone', ANTHROPIC_BASE_URL: api.url },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, out).toBe(0);
    } finally {
      await api.close();
    }

    const rows = fs.readFileSync(path.join(clone, 'results.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
    expect(rows.map((r) => [r[1], r[3], r[4]])).toEqual([
      ['1.000000', 'keep', 'baseline'],
      ['0.950000', 'keep', 'rope base 50k'],
    ]);
    expect(git(clone, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('autoresearch/rope-scaling');
    const main = git(clone, 'rev-parse', '--abbrev-ref', 'origin/HEAD').replace('origin/', '');
    expect(git(clone, 'diff', '--name-only', main, 'HEAD')).toBe('train.py');
    expect(git(clone, 'status', '--porcelain')).toBe('');
    expect(fs.readFileSync(path.join(clone, 'node_modules/some-package/index.js'), 'utf8')).toBe('module.exports = 1;\n');
    expect(fs.readFileSync(path.join(clone, 'dist/cli.js'), 'utf8')).toBe('// built\n');
  });
});
