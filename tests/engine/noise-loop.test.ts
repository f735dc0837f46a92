// Keeping only what beats the noise, through the real loop: a stand-in trainer whose val_bpb is its
// true value plus Gaussian noise drawn from the run's seed (AUTORESEARCH_SEED), null changes that
// improve nothing, and one real gain.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineConfig, type EngineEvent, type ExperimentContext, type Proposal } from '../../src/engine/types.js';
import { git, makeWorkspace, PID_FILE_PY, pidFile } from '../helpers/workspace.js';

const SIGMA = 0.005;
const CLI = path.resolve('dist/cli.js');

/** val_bpb = TRUTH + N(0, σ) from the seed; NULL_k lines change nothing real. Records every seed it got. */
const TRAINER = `# noisy stand-in trainer
import hashlib, os, random, tempfile
TRUTH = 1.0
${Array.from({ length: 8 }, (_, k) => `NULL_${k} = 0\n#\n#`).join('\n')}
seed = int(os.environ["AUTORESEARCH_SEED"])
value = TRUTH + random.Random(seed).gauss(0, ${SIGMA})
with open(${PID_FILE_PY('seeds.log')}, "a") as f:
    f.write(f"{seed}\\n")
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

/** Sets one line of train.py per experiment: NULL_k = 1 (no real effect) or TRUTH (a real gain). */
class LineAgent implements Agent {
  readonly name = 'line-agent';
  constructor(private readonly plan: { description: string; line: string; value: string }[]) {}
  async propose(ctx: ExperimentContext): Promise<Proposal> {
    const change = this.plan.shift();
    if (!change) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    const file = path.join(ctx.repoDir, 'train.py');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(new RegExp(`^${change.line} = .*$`, 'm'), `${change.line} = ${change.value}`));
    return { kind: 'submitted', description: change.description, usage: ZERO_USAGE };
  }
}

function workspace(): string {
  const dir = makeWorkspace();
  fs.writeFileSync(path.join(dir, 'train.py'), TRAINER);
  git(dir, 'commit', '-qam', 'noisy trainer');
  return dir;
}

const nulls = Array.from({ length: 8 }, (_, k) => ({ description: `null ${k}`, line: `NULL_${k}`, value: '1' }));
const gain = { description: 'real gain of 8 sigma', line: 'TRUTH', value: String(1.0 - 8 * SIGMA) };

async function run(dir: string, plan: typeof nulls, over: Partial<EngineConfig> = {}) {
  const events: EngineEvent[] = [];
  const config = makeEngineConfig(dir, 'noise', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, lookahead: 0, maxExperiments: plan.length, ...over });
  const result = await runLoop(config, new LineAgent(plan), { onEvent: (e) => events.push(e), signal: new AbortController().signal });
  return { result, events, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
}

describe('keeping only what beats the noise', () => {
  it('runs the baseline three times; keeps a real 8σ gain and at most one of eight null changes; confirms in between', async () => {
    const dir = workspace();
    const { result, rows, events } = await run(dir, [...nulls.slice(0, 4), gain, ...nulls.slice(4)]);
    expect(result.exitCode).toBe(0);

    // The baseline: three runs, three seeds, its value their mean.
    const baseline = rows[0]!;
    expect(baseline.values).toHaveLength(3);
    expect(baseline.value).toBeCloseTo(baseline.values!.reduce((a, b) => a + b, 0) / 3, 6);
    const seeds = fs.readFileSync(pidFile(dir, 'seeds.log'), 'utf8').trim().split('\n');
    expect(new Set(seeds).size).toBe(seeds.length); // a seed is never reused in a tag

    const nullRows = rows.filter((r) => r.description.startsWith('null'));
    expect(nullRows).toHaveLength(8);
    expect(nullRows.filter((r) => r.status === 'keep').length).toBeLessThanOrEqual(1);
    expect(rows.find((r) => r.description.startsWith('real gain'))?.status).toBe('keep');
    // Some first run fell between "not better" and "clearly better", and was run again.
    expect(rows.slice(1).some((r) => (r.values?.length ?? 1) > 1)).toBe(true);
    expect(events.some((e) => e.type === 'phase' && e.phase === 'training' && /^confirming #\d+: run 2 of 4/.test(e.detail ?? ''))).toBe(true);
    // Never called noise on one run: better on a first run always gets a second (then up to 4 in all).
    const withinNoise = nullRows.filter((r) => r.status === 'discard' && /\(within noise: better by/.test(r.description));
    for (const r of withinNoise) expect(r.values!.length).toBeGreaterThanOrEqual(2);
    for (const r of rows.slice(1)) expect(r.values?.length ?? 1).toBeLessThanOrEqual(4);
    // The best's value is the mean of its runs.
    const best = rows.filter((r) => r.status === 'keep').at(-1)!;
    if (best.values) expect(best.value).toBeCloseTo(best.values.reduce((a, b) => a + b, 0) / best.values.length, 6);

    // `results --json`: every row with its runs and values, and how the noise was estimated.
    const out = spawnSync(process.execPath, [CLI, 'results', '--json', '--tag', 'noise'], { cwd: dir, encoding: 'utf8' });
    const json = JSON.parse(out.stdout) as { noise: { sigma: number; df: number; from: string }; rows: { runs: number; values: number[]; status: string }[] };
    expect(json.rows[0]).toMatchObject({ runs: 3, values: baseline.values });
    // A crash counts the run that crashed; its values are those measured before it.
    for (const r of json.rows) expect(r.values).toHaveLength(r.status === 'crash' ? r.runs - 1 : r.runs);
    expect(json.noise.df).toBeGreaterThanOrEqual(2);
    expect(json.noise.sigma).toBeGreaterThan(SIGMA / 3);
    expect(json.noise.sigma).toBeLessThan(SIGMA * 3);
    expect(json.noise.from).toMatch(/^pooled over \d+ experiments? run more than once \(\d+ runs\)$/);
  });

  it('--baseline-runs 1 --confirm-runs 0 is the classic rule: exactly one run per experiment', async () => {
    const dir = workspace();
    const { rows } = await run(dir, nulls.slice(0, 6), { baselineRuns: 1, confirmRuns: 0 });
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.values === undefined)).toBe(true);
    expect(fs.readFileSync(pidFile(dir, 'seeds.log'), 'utf8').trim().split('\n')).toHaveLength(7);
    // Strictly better than the last kept value is kept, however small: the rule noise-aware keeps replace.
    let best = rows[0]!.value;
    for (const r of rows.slice(1)) {
      expect(r.status).toBe(r.value < best ? 'keep' : 'discard');
      if (r.status === 'keep') best = r.value;
    }
  });

  it('resumes with the noise it had: the runs are read back from results.tsv', async () => {
    const dir = workspace();
    await run(dir, nulls.slice(0, 1));
    const before = readResultsFile(path.join(dir, 'results.tsv')).rows;
    const { rows } = await run(dir, nulls.slice(1, 3));
    expect(rows.slice(0, before.length)).toEqual(before);
    expect(rows.filter((r) => r.description === 'baseline')).toHaveLength(1); // no second baseline
    expect(rows[0]!.values).toHaveLength(3);
  });
});
