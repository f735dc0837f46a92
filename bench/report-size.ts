// The morning report's size and time on a long night: a generated night of N experiments (500 by
// default) in a real git repository, then `autoresearch results --html` (the built CLI) on it.
//
// The night is synthetic and on the heavy side of a real one: the repository's own train.py; each
// experiment changes one or two of its hyperparameter lines (a real commit: kept ones on the branch,
// the others under refs/autoresearch/<tag>/discarded/); 1 in 15 kept, 1 in 13 crashed, 1 in 3 a
// discard within the noise (3 runs), the rest "not better"; the baseline and every keep 3 runs;
// every run a kept log of 400 lines as train.py prints them (the page shows the last 25); every
// description 150 characters, notes of 300 characters on every other row.
//
//   npm run bench:build && node dist-bench/bench/report-size.js [--experiments 500]

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { ZERO_USAGE, type ResultRow, type Status } from '../src/engine/types.js';
import { appendResult } from '../src/ledger/results.js';
import { experimentLogPath } from '../src/ledger/state.js';
import { prng } from './harness.js';

const { values: opts } = parseArgs({ options: { experiments: { type: 'string', default: '500' } } });
const N = Number(opts.experiments);
const TAG = 'big';
const CLI = path.resolve('dist/cli.js');
const TRAIN = fs.readFileSync(path.resolve('train.py'), 'utf8');
const KNOBS = TRAIN.split('\n').flatMap((line, i) => (/^[A-Z_]+ = [0-9.(]/.test(line) ? [i] : []));

const rand = prng(20);
const words = 'raise lower the matrix learning rate warmup fraction of budget depth width heads rotary base softcap logits batch muon momentum embedding head adam betas schedule cosine because loss plateaued early'.split(' ');
const text = (chars: number): string => {
  let s = '';
  while (s.length < chars) s += `${words[Math.floor(rand() * words.length)]} `;
  return s.slice(0, chars).trim();
};

/** A run log as train.py prints it: progress lines, then the summary block. */
function runLog(value: number, crash: boolean): string {
  const lines = [`seed: ${Math.floor(rand() * 1e6)}`];
  for (let s = 0; s < 400; s++) {
    lines.push(`step ${String(s).padStart(5, '0')} (${((s / 953) * 100).toFixed(1)}%) | loss: ${(4 - s / 300).toFixed(6)} | lrm: 1.00 | dt: 312ms | tok/sec: 1,680,41${s % 10} | mfu: 38.2% | epoch: 1 | remaining: ${300 - s}s`);
  }
  if (crash) lines.push('Traceback (most recent call last):', '  File "train.py", line 301, in <module>', 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB');
  else lines.push('---', `val_bpb:          ${value.toFixed(6)}`, 'training_seconds: 300.1', 'total_seconds:    325.9', 'peak_vram_mb:     45060.2', 'mfu_percent:      38.21', 'total_tokens_M:   499.6', 'num_steps:        953', 'num_params_M:     50.3', 'depth:            8');
  return lines.join('\n') + '\n';
}

const git = (dir: string, args: string[], input?: string): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-report-bench-'));
git(dir, ['init', '-q', '-b', 'main']);
fs.writeFileSync(path.join(dir, 'train.py'), TRAIN);
git(dir, ['add', 'train.py']);
git(dir, ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'commit', '-q', '-m', 'initial']);
const root = git(dir, ['rev-parse', 'HEAD']).trim();

// Every experiment's commit in one `git fast-import`: kept ones on the branch, each built on the best before it.
const t0 = Date.now();
let stream = '';
let best = TRAIN;
let bestMark = `${root}`;
const plan: { status: Status; mark: number; parentMark: string }[] = [];
const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
for (let n = 1; n <= N; n++) {
  const status: Status = n % 15 === 0 ? 'keep' : n % 13 === 0 ? 'crash' : 'discard';
  const lines = best.split('\n');
  for (let k = 0; k < 1 + (n % 2); k++) {
    const i = KNOBS[Math.floor(rand() * KNOBS.length)]!;
    lines[i] = lines[i]!.replace(/ = ([^#]*?)(\s*#|$)/, (_m, _v, tail: string) => ` = ${(rand() * 2).toFixed(4)}${tail}`);
  }
  const code = lines.join('\n');
  const mark = n;
  const ref = status === 'keep' ? `refs/heads/autoresearch/${TAG}` : `refs/bench/tmp/${n}`;
  stream += `commit ${ref}\nmark :${mark}\ncommitter Bench <bench@example.com> ${1_764_000_000 + n * 600} +0000\n${data(text(150))}from ${bestMark}\nM 100644 inline train.py\n${data(code)}\n`;
  plan.push({ status, mark, parentMark: bestMark });
  if (status === 'keep') {
    best = code;
    bestMark = `:${mark}`;
  }
}
git(dir, ['branch', '-q', `autoresearch/${TAG}`, root]);
const marksFile = path.join(dir, '.git', 'bench-marks');
git(dir, ['fast-import', '--quiet', `--export-marks=${marksFile}`], stream);
const marks = new Map(fs.readFileSync(marksFile, 'utf8').trim().split('\n').map((l) => [Number(l.split(' ')[0]!.slice(1)), l.split(' ')[1]!]));
let updates = '';
for (const p of plan) {
  if (p.status === 'keep') continue;
  const id = marks.get(p.mark)!;
  updates += `create refs/autoresearch/${TAG}/discarded/${id.slice(0, 7)} ${id}\ndelete refs/bench/tmp/${p.mark}\n`;
}
git(dir, ['update-ref', '--stdin'], updates);
git(dir, ['checkout', '-q', `autoresearch/${TAG}`]);

// results.tsv and the kept logs.
let bestValue = 1.0;
const started = Date.parse('2026-11-26T22:00:00Z');
const row = (n: number, commit: string, status: Status, values: number[], over: Partial<ResultRow>): ResultRow => ({
  commit, value: status === 'crash' ? 0 : values.reduce((a, b) => a + b, 0) / values.length, memoryGb: status === 'crash' ? 0 : 44.0, status, description: text(150), tag: TAG,
  startedAt: new Date(started + n * 330_000).toISOString(), seconds: 330 * values.length, usage: { ...ZERO_USAGE, inputTokens: 40_000, outputTokens: 2_000, costUsd: 0.09 },
  experiment: n, values: values.length > 1 ? values : undefined, runs: values.length, files: ['train.py'], code: commit.padEnd(16, '0'),
  ...(n % 2 === 0 ? { notes: text(300) } : {}), ...over,
});
const results = path.join(dir, 'results.tsv');
const noisy = (v: number, k: number) => Array.from({ length: k }, () => v + (rand() - 0.5) * 0.004);
function writeLogs(n: number, commit: string, values: number[], crash: boolean): void {
  values.forEach((v, k) => {
    const last = k === values.length - 1 && !crash;
    fs.mkdirSync(path.dirname(experimentLogPath(dir, TAG, n, commit)), { recursive: true });
    fs.writeFileSync(experimentLogPath(dir, TAG, n, last ? commit : `${commit}-run${k + 1}`), runLog(v, false));
  });
  if (crash) fs.writeFileSync(experimentLogPath(dir, TAG, n, commit), runLog(0, true));
}
const baseValues = noisy(1.0, 3);
appendResult(results, 'val_bpb', row(0, root.slice(0, 7), 'keep', baseValues, { description: 'baseline', usage: ZERO_USAGE }));
writeLogs(0, root.slice(0, 7), baseValues, false);
for (const p of plan) {
  const n = p.mark;
  const id = marks.get(p.mark)!.slice(0, 7);
  const base = (p.parentMark.startsWith(':') ? marks.get(Number(p.parentMark.slice(1)))! : root).slice(0, 7);
  if (p.status === 'keep') {
    bestValue -= 0.004;
    const values = noisy(bestValue, 3);
    appendResult(results, 'val_bpb', row(n, id, 'keep', values, { base, verdict: 'better by 0.004000, noise allows 0.002100 (σ 0.001100, 40 degrees of freedom)' }));
    writeLogs(n, id, values, false);
  } else if (p.status === 'crash') {
    appendResult(results, 'val_bpb', row(n, id, 'crash', [], { base, verdict: 'OOM', runs: 1 }));
    writeLogs(n, id, [], true);
  } else if (n % 3 === 0) {
    const values = noisy(bestValue - 0.001, 3);
    appendResult(results, 'val_bpb', row(n, id, 'discard', values, { base, verdict: 'within noise: better by 0.001000, noise allows 0.002100 (σ 0.001100, 40 degrees of freedom)' }));
    writeLogs(n, id, values, false);
  } else {
    const values = noisy(bestValue + 0.003, 1);
    appendResult(results, 'val_bpb', row(n, id, 'discard', values, { base, verdict: 'not better' }));
    writeLogs(n, id, values, false);
  }
}
const made = (Date.now() - t0) / 1000;

const t1 = Date.now();
const r = spawnSync(process.execPath, [CLI, 'results', '--tag', TAG, '--html', 'report.html'], { cwd: dir, encoding: 'utf8' });
const took = (Date.now() - t1) / 1000;
if (r.status !== 0) throw new Error(`results --html failed:\n${r.stderr}`);
const html = fs.readFileSync(path.join(dir, 'report.html'));
const count = (re: RegExp) => (html.toString('utf8').match(re) ?? []).length;
console.log(`night of ${N} experiments generated in ${made.toFixed(1)} s (${dir})`);
console.log(`results --html: ${took.toFixed(1)} s (the whole command: results.tsv, git, logs, chart, page)`);
console.log(`report.html: ${(html.length / 1e6).toFixed(2)} MB (${html.length} bytes), ${(gzipSync(html).length / 1e6).toFixed(2)} MB gzipped`);
console.log(`  experiments: ${count(/<details class="exp /g)}, diffs rendered: ${count(/<div class="diff">/g)}, log tails: ${count(/<pre class="log">/g)}, chart dots with hover text: ${count(/<title>#/g)}`);
if (process.env['KEEP_BENCH_DIR'] === undefined) fs.rmSync(dir, { recursive: true, force: true });
