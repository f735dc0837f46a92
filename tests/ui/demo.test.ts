// `autoresearch demo` end to end: the real engine, git, Claude agent and SDK against the scripted
// model on the fake API, with the toy trainer run by python3. Sped up (shorter thinking and
// training pauses), otherwise exactly the code path of the real demo.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { sink } from './helpers.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_BANNER, demoCommand } from '../../src/commands/demo.js';
import { readResultsFile } from '../../src/ledger/results.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('autoresearch demo', () => {
  it('runs the real loop to completion: at least 6 experiments with keeps, discards and a crash', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-demo-test-'));
    dirs.push(parent);
    const dir = path.join(parent, 'demo');
    const out = sink();
    const err = sink();
    const t0 = Date.now();
    const code = await demoCommand(['--dir', dir, '--no-tui'], { cwd: parent, stdout: out.stream, stderr: err.stream }, { thinkMs: 20, trainSeconds: 0.2 });
    const seconds = (Date.now() - t0) / 1000;
    expect(err.text()).toBe('');
    expect(code).toBe(0);

    const { metricName, rows } = readResultsFile(path.join(dir, 'results.tsv'));
    expect(metricName).toBe('val_bpb');
    expect(rows.length).toBeGreaterThanOrEqual(7); // the baseline and six experiments
    expect(rows.map((r) => r.status)).toEqual(['keep', 'keep', 'discard', 'keep', 'crash', 'discard', 'keep']);
    expect(rows[4]!.description).toMatch(/\(OOM\)$/);
    expect(rows.every((r) => r.tag === 'demo')).toBe(true);

    // Kept experiments are commits on the branch; the others were reset away.
    const log = execFileSync('git', ['log', '--format=%s', 'autoresearch/demo'], { cwd: dir, encoding: 'utf8' }).trim().split('\n');
    expect(log).toHaveLength(4); // three kept experiments on top of the workspace commit
    expect(log[0]).toBe('train 600 steps instead of 300: loss had not converged');

    const text = out.text();
    expect(text).toContain(`autoresearch demo: throwaway repository ${dir}`);
    expect(text).toContain(`*** ${DEMO_BANNER} ***`);
    expect(text).toMatch(/#4 crash {3}"widen hidden layer 16 -> 64: more capacity helped last time \(OOM\)"/);
    expect(text).toContain('finished: reached --max-experiments 6 (exit 0) · 7 experiments: 4 keep, 2 discard, 1 crash');
    expect(text).toContain(`Demo finished in`);
    // It ends with its morning report, in the demo repository, which stays clean (the report is ignored).
    expect(text).toMatch(/^ {2}report\.html +the morning report: open it in any browser/m);
    expect(fs.readFileSync(path.join(dir, 'report.html'), 'utf8').match(/<details class="exp /g)).toHaveLength(rows.length);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: dir, encoding: 'utf8' })).toBe('');
    console.log(`demo (sped up) took ${seconds.toFixed(1)} s`);
  });

  it('refuses a directory that is not empty, and explains --dir', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-demo-test-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'precious.txt'), 'keep me');
    const out = sink();
    const err = sink();
    expect(await demoCommand(['--dir', dir], { cwd: dir, stdout: out.stream, stderr: err.stream })).toBe(2);
    expect(err.text()).toContain('is not empty');
    expect(fs.readdirSync(dir)).toEqual(['precious.txt']);
    const help = sink();
    expect(await demoCommand(['--help'], { cwd: dir, stdout: help.stream, stderr: err.stream })).toBe(0);
    expect(help.text()).toContain('Usage: autoresearch demo [--dir D] [--no-tui]');
  });
});
