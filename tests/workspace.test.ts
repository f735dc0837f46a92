// The research workspace the loop drives (the repository root): the Python files compile, their standard-library
// tests pass, and train.py's summary block is read correctly by the loop's own metric parser.
// Needs python3 (3.10+) on PATH; no torch, GPU or network.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetric, parseMemoryGb } from '../src/engine/metric.js';
import { appendResult, parseResults } from '../src/ledger/results.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const workspace = root; // the repository is itself the research workspace

let scratch: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  // Keep bytecode out of the root: its research files are published as-is and copied into users' repositories.
  scratch = mkdtempSync(path.join(tmpdir(), 'autoresearch-scratch-'));
  env = { ...process.env, PYTHONPYCACHEPREFIX: scratch, PYTHONDONTWRITEBYTECODE: '1' };
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

// Runs print_summary from train.py on its own (train.py needs torch and a GPU; this function does not).
const SUMMARY_SCRIPT = `
import ast, json, sys
source = open(sys.argv[1], encoding="utf-8").read()
fn = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "print_summary")
namespace = {}
exec(compile(ast.Module(body=[fn], type_ignores=[]), sys.argv[1], "exec"), namespace)
namespace["print_summary"](json.loads(sys.argv[2]))
`;

async function printSummary(stats: Record<string, number>): Promise<string> {
  const result = await execa('python3', ['-c', SUMMARY_SCRIPT, path.join(workspace, 'train.py'), JSON.stringify(stats)], {
    env,
    cwd: root,
  });
  return result.stdout;
}

const SAMPLE = {
  val_bpb: 0.9979,
  training_seconds: 300.1234,
  total_seconds: 325.9,
  peak_vram_mb: 45060.2,
  mfu_percent: 39.8,
  total_tokens_M: 499.6,
  num_steps: 953,
  num_params_M: 50.3,
  depth: 8,
};

describe('workspace', () => {
  it('train.py and prepare.py compile', async () => {
    const result = await execa(
      'python3',
      ['-m', 'py_compile', path.join(workspace, 'train.py'), path.join(workspace, 'prepare.py')],
      { env, cwd: root, reject: false },
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('passes the Python unit tests of prepare.py and the workspace files', async () => {
    const hadPycache = readdirSync(workspace).includes('__pycache__');
    const result = await execa('python3', ['-m', 'unittest', 'discover', '-s', 'tests/python', '-v'], {
      env,
      cwd: root,
      reject: false,
      all: true,
    });
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toMatch(/^Ran \d+ tests? in /m);
    expect(result.all).toMatch(/^OK\b/m);
    expect(readdirSync(workspace).includes('__pycache__')).toBe(hadPycache); // the tests wrote no bytecode there
  });

  it("prints a summary block that the loop's parser reads", async () => {
    const block = await printSummary(SAMPLE);
    expect(block).toBe(
      [
        '---',
        'val_bpb:          0.997900',
        'training_seconds: 300.1',
        'total_seconds:    325.9',
        'peak_vram_mb:     45060.2',
        'mfu_percent:      39.80',
        'total_tokens_M:   499.6',
        'num_steps:        953',
        'num_params_M:     50.3',
        'depth:            8',
      ].join('\n'),
    );

    // As in run.log: progress lines first, the block last.
    const log = `step    25 | loss 4.1234 | lr x1.00 | 315 ms | 1,664,000 tok/s | mfu 39.1% | epoch 1 | 8/300s\n${block}\n`;
    expect(parseMetric(log, 'val_bpb')).toBe(0.9979);
    expect(parseMemoryGb(log)).toBeCloseTo(45060.2 / 1024, 10);
    expect(parseMetric(log, 'training_seconds')).toBe(300.1);
    expect(parseMetric(log, 'num_steps')).toBe(953);
    expect(parseMetric(log, 'depth')).toBe(8);
  });

  it('rounds val_bpb to six decimals and memory to one, and the parser reads what was printed', async () => {
    const block = await printSummary({ ...SAMPLE, val_bpb: 1.23456789, peak_vram_mb: 10240.06 });
    expect(parseMetric(block, 'val_bpb')).toBe(1.234568);
    expect(parseMemoryGb(block)).toBeCloseTo(10240.1 / 1024, 10);
  });

  it('results.tsv.example is exactly what the loop writes for its rows', () => {
    const example = readFileSync(path.join(workspace, 'results.tsv.example'), 'utf8');
    const parsed = parseResults(example);
    expect(parsed.metricName).toBe('val_bpb');
    expect(parsed.rows.length).toBe(example.trimEnd().split('\n').length - 1);
    expect(parsed.rows[0]).toMatchObject({ description: 'baseline', status: 'keep' });
    const rewritten = path.join(scratch, 'results.tsv');
    for (const row of parsed.rows) appendResult(rewritten, 'val_bpb', row);
    expect(readFileSync(rewritten, 'utf8')).toBe(example);
  });
});
