// The GPU kit on CPU, as far as CPU allows: the CLI bundle runs --help and the whole demo with no
// node_modules beside it; the kit's checks say what is missing (no GPU, no torch, no node) and use
// a carried node when there is no other; the kit's scripted model drives the real CLI through a
// night on a stand-in train.py that has the real one's constants (the edit that should help is
// measured, the oversized one crashes as OOM); and the kit fits the 64 MiB a device call carries.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readResultsFile } from '../../src/ledger/results.js';
import { git } from '../helpers/workspace.js';

const ROOT = path.resolve('.');
const KIT = path.join(ROOT, 'bench/gpu/kit');
const sh = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync('bash', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
const temp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

let packed = '';
beforeAll(() => {
  const r = sh(['bench/gpu/pack.sh', '--no-node']);
  packed = r.stdout + r.stderr;
  if (r.status !== 0) throw new Error(`pack.sh failed:\n${packed}`);
}, 180_000);

describe('the GPU kit, on CPU', () => {
  it('packs a CLI bundle that fits what a device call carries', () => {
    expect(fs.existsSync(path.join(KIT, 'autoresearch.mjs'))).toBe(true);
    expect(fs.existsSync(path.join(KIT, 'model.mjs'))).toBe(true);
    expect(packed).toMatch(/of the 64 MiB a device call carries/);
    expect(packed).not.toMatch(/too big/);
  });

  it('the bundle runs --help and the whole demo with no node_modules beside it', () => {
    const dir = temp('ar-kit-bundle-');
    const cli = path.join(dir, 'autoresearch.mjs');
    fs.copyFileSync(path.join(KIT, 'autoresearch.mjs'), cli); // away from the repository's node_modules
    const help = spawnSync(process.execPath, [cli, '--help'], { cwd: dir, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage:');
    const version = spawnSync(process.execPath, [cli, '--version'], { cwd: dir, encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(`${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version} (GPU kit bundle)`);
    const demo = spawnSync(process.execPath, [cli, 'demo', '--no-tui', '--dir', path.join(dir, 'demo')], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/finished: reached --max-experiments 6 \(exit 0\)/);
    expect(readResultsFile(path.join(dir, 'demo', 'results.tsv')).rows).toHaveLength(7);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('its checks name each missing piece with its fix, and fall back on a carried node', () => {
    const out = temp('ar-kit-out-');
    const r = sh(['bench/gpu/run.sh', '--check'], { OUT: out });
    expect(r.status).toBe(3);
    if (spawnSync('sh', ['-c', 'command -v nvidia-smi']).status !== 0) expect(r.stdout).toContain('MISSING: no NVIDIA GPU: nvidia-smi is missing or lists none');
    expect(r.stdout).toMatch(/MISSING: python3 lacks torch with CUDA, numpy, pyarrow or tokenizers|\[kit [\d:]+\] python: /);
    expect(fs.readFileSync(path.join(out, 'kit.log'), 'utf8')).toContain('MISSING:');
    // No node of its own and none carried: said, with how to get one.
    const none = sh(['bench/gpu/run.sh', '--check'], { OUT: out, KIT_NO_SYSTEM_NODE: '1' });
    expect(none.stdout).toContain('MISSING: no Node.js 20.5 or newer, and no usable bench/gpu/kit/node.xz: run bash bench/gpu/pack.sh');
    // A carried node (here a small stand-in for the compressed binary pack.sh makes) is unpacked and used.
    if (spawnSync('sh', ['-c', 'command -v xz']).status !== 0) {
      console.warn('gpu kit: no xz here, so the carried-node check is skipped');
      return;
    }
    const carried = path.join(KIT, 'node.xz');
    fs.writeFileSync(path.join(out, 'node'), `#!/bin/sh\nexec '${process.execPath}' "$@"\n`);
    execFileSync('sh', ['-c', `xz -c '${path.join(out, 'node')}' > '${carried}'`]);
    try {
      const viaKit = sh(['bench/gpu/run.sh', '--check'], { OUT: out, KIT_NO_SYSTEM_NODE: '1' });
      expect(viaKit.stdout).toMatch(/node: v\d+\.\d+\.\d+ \(\/tmp\/kit-node\/node\)/);
      expect(viaKit.stdout).not.toContain('MISSING: no Node.js');
    } finally {
      fs.rmSync(carried, { force: true });
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it("the kit's scripted model drives the real CLI: its helpful edit is measured, its oversized model crashes as OOM", () => {
    const dir = temp('ar-kit-night-');
    // A stand-in with the real train.py's constants: the value improves with smaller batches, and a
    // residual stream past 4096 runs out of memory as torch says it.
    fs.writeFileSync(
      path.join(dir, 'train.py'),
      [
        'import sys',
        'TOTAL_BATCH_TOKENS = 2**19  # ~0.5M tokens per step',
        'MODEL_DIM = 512            # width of the residual stream',
        'if MODEL_DIM > 4096:',
        '    print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 512.00 GiB", file=sys.stderr)',
        '    sys.exit(1)',
        'print("---")',
        'print(f"val_bpb:          {0.9 + TOTAL_BATCH_TOKENS / 2**24:.6f}")',
        'print("peak_vram_mb:     1000.0")',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'program.md'), '# protocol\n');
    fs.writeFileSync(path.join(dir, 'prepare.py'), '# the judge\n');
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'stand-in');
    const r = spawnSync(
      process.execPath,
      [path.join(KIT, 'model.mjs'), path.join(KIT, 'autoresearch.mjs'), '--tag', 'gpu-kit', '--run-cmd', 'python3 train.py', '--no-tui', '--baseline-runs', '1', '--confirm-runs', '0', '--lookahead', '0', '--fix-attempts', '0', '--max-experiments', '2', '--sandbox', 'off'],
      { cwd: dir, encoding: 'utf8', timeout: 240_000 },
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.map((x) => [x.status, x.description.split(':')[0]])).toEqual([
      ['keep', 'baseline'],
      ['keep', 'halve TOTAL_BATCH_TOKENS to 2**18'],
      ['crash', 'MODEL_DIM 512 -> 65536'],
    ]);
    expect(rows[1]!.value).toBeCloseTo(0.9 + 2 ** 18 / 2 ** 24, 6);
    expect(rows[2]!.description).toMatch(/\(OOM\)$/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 300_000);
});
