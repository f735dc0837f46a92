// prepare.py as the judge: the pure rules (judge.ts), then the real loop with a real Python
// prepare.py that speaks the result-file contract, and train.py variants that try to win anyway.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/engine/decide.js';
import { makeEngineConfig } from '../../src/engine/config.js';
import { applyJudge, judgeRules, parseVerdict, type JudgeRules } from '../../src/engine/judge.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineEvent, type Proposal } from '../../src/engine/types.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const measured = (value: number): Outcome => ({ kind: 'measured', value, memoryGb: 44 });
const crash = (reason: string): Outcome => ({ kind: 'crash', reason, memoryGb: 0 });
const clean = { exitCode: 0, wallSec: 100, memoryGb: 44 };
const strict: JudgeRules = { required: true, maxWallSec: 480 };
const lenient: JudgeRules = { required: false, maxWallSec: null };

describe('judgeRules', () => {
  const prepare = 'import os\nTIME_BUDGET = 300             # seconds\nOVERHEAD_ALLOWANCE = 180\nRESULT = os.environ.get("AUTORESEARCH_RESULT_FILE")\n';

  it('requires the verdict and reads the budget from a prepare.py that speaks the contract', () => {
    expect(judgeRules(prepare, 'val_bpb')).toEqual({ required: true, maxWallSec: 480 });
  });

  it("holds for this repository's own prepare.py: the verdict is required, runs are capped at 300 + 180 s", () => {
    expect(judgeRules(fs.readFileSync('prepare.py', 'utf8'), 'val_bpb')).toEqual({ required: true, maxWallSec: 480 });
  });

  it('has no budget when prepare.py declares none', () => {
    expect(judgeRules('x = "AUTORESEARCH_RESULT_FILE"\nTIME_BUDGET = 300\n', 'val_bpb')).toEqual({ required: true, maxWallSec: null });
  });

  it('leaves the log as the source for an older prepare.py, another metric, or no prepare.py', () => {
    expect(judgeRules('TIME_BUDGET = 300\nOVERHEAD_ALLOWANCE = 180\n', 'val_bpb')).toEqual(lenient);
    expect(judgeRules(prepare, 'accuracy')).toEqual(lenient);
    expect(judgeRules(null, 'val_bpb')).toEqual(lenient);
  });

  it('reads only top-level integer assignments', () => {
    const shifted = 'AUTORESEARCH_RESULT_FILE\n    TIME_BUDGET = 5\nTIME_BUDGET = 300\nOVERHEAD_ALLOWANCE = 60\n';
    expect(judgeRules(shifted, 'val_bpb').maxWallSec).toBe(360);
  });
});

describe('parseVerdict', () => {
  it('reads a score, a refusal, or nothing', () => {
    expect(parseVerdict('{"val_bpb": 0.9979, "eval_tokens": 1024}')).toEqual({ kind: 'scored', value: 0.9979 });
    expect(parseVerdict('{"error": "the model sees future tokens (causality check failed)\\nmore"}')).toEqual({
      kind: 'refused',
      reason: 'the model sees future tokens (causality check failed)',
    });
    expect(parseVerdict(null)).toEqual({ kind: 'absent' });
  });

  it("takes Python's bare NaN and Infinity as a diverged score", () => {
    const nan = parseVerdict('{"val_bpb": NaN}');
    expect(nan.kind === 'scored' && Number.isNaN(nan.value)).toBe(true);
    expect(parseVerdict('{"val_bpb": Infinity}')).toEqual({ kind: 'scored', value: Infinity });
    expect(parseVerdict('{"val_bpb": -Infinity}')).toEqual({ kind: 'scored', value: -Infinity });
  });

  it('calls anything else unreadable', () => {
    expect(parseVerdict('{"val_bpb": 0.99')).toEqual({ kind: 'unreadable', detail: 'not JSON' });
    expect(parseVerdict('[1]')).toEqual({ kind: 'unreadable', detail: 'no val_bpb in it' });
    expect(parseVerdict('{"val_bpb": "0.9"}')).toEqual({ kind: 'unreadable', detail: 'no val_bpb in it' });
  });
});

describe('applyJudge', () => {
  it("scores a clean run with the judge's number, not the printed one", () => {
    expect(applyJudge(measured(0.1), { kind: 'scored', value: 0.9 }, clean, strict)).toEqual(measured(0.9));
    // Even when train.py printed nothing at all.
    expect(applyJudge(crash('no val_bpb in log'), { kind: 'scored', value: 0.9 }, clean, strict)).toEqual(measured(0.9));
  });

  it('crashes a run that never asked the judge, when the judge is required', () => {
    expect(applyJudge(measured(0.1), { kind: 'absent' }, clean, strict)).toEqual(
      crash('no val_bpb from prepare.py: train.py must score with prepare.evaluate_bpb'),
    );
    expect(applyJudge(measured(0.1), { kind: 'absent' }, clean, lenient)).toEqual(measured(0.1));
    expect(applyJudge(measured(0.1), { kind: 'unreadable', detail: 'not JSON' }, clean, strict).kind).toBe('crash');
  });

  it("gives the judge's refusal as the reason, even though the run exited non-zero", () => {
    const refused = applyJudge(crash('exit 1'), { kind: 'refused', reason: 'the model sees future tokens' }, { ...clean, exitCode: 1 }, strict);
    expect(refused).toEqual(crash('refused by prepare.py: the model sees future tokens'));
  });

  it('keeps interrupted, timed-out and other crashes as they were', () => {
    for (const reason of ['interrupted', 'timeout']) {
      expect(applyJudge(crash(reason), { kind: 'refused', reason: 'x' }, clean, strict)).toEqual(crash(reason));
    }
    expect(applyJudge(crash('OOM'), { kind: 'absent' }, { ...clean, exitCode: 1 }, strict)).toEqual(crash('OOM'));
  });

  it('crashes a run over the time budget, however good its score', () => {
    const over = applyJudge(measured(0.5), { kind: 'scored', value: 0.5 }, { ...clean, wallSec: 481.4 }, strict);
    expect(over).toEqual(crash('over the time budget: ran 481s, prepare.py allows 480s'));
    expect(applyJudge(measured(0.5), { kind: 'scored', value: 0.5 }, { ...clean, wallSec: 480 }, strict)).toEqual(measured(0.5));
  });

  it('calls a non-finite score nan', () => {
    expect(applyJudge(measured(0.5), { kind: 'scored', value: Number.NaN }, clean, strict)).toEqual(crash('nan'));
    expect(applyJudge(measured(0.5), { kind: 'scored', value: Infinity }, clean, strict)).toEqual(crash('inf'));
  });
});

// ---------- the real loop, a real Python judge ----------

/**
 * A tiny prepare.py speaking the contract: evaluate_bpb writes the verdict the program reads. Its
 * budget (6 s) is far above what an honest run takes (python's start, a fraction of a second) on a
 * busy machine too, and the run that trains past it sleeps half a second more.
 */
const JUDGE_PREPARE = `import json, os
TIME_BUDGET = 1
OVERHEAD_ALLOWANCE = 5

def evaluate_bpb(value, leaks=False):
    path = os.environ.get("AUTORESEARCH_RESULT_FILE")
    verdict = {"error": "the model sees future tokens (causality check failed)"} if leaks else {"val_bpb": value}
    if path:
        with open(path + ".tmp", "w") as f:
            json.dump(verdict, f)
        os.replace(path + ".tmp", path)
    if leaks:
        raise SystemExit("refusing to score a model that sees the future")
    return value
`;

/** A train.py that scores honestly, then may print a different number, leak, skip the judge, or overrun. */
const trainer = (opts: { scored: number; printed?: number; leaks?: boolean; skipJudge?: boolean; sleep?: number }) => `import time
from prepare import evaluate_bpb
time.sleep(${opts.sleep ?? 0})
val = ${opts.skipJudge ? opts.scored : `evaluate_bpb(${opts.scored}, leaks=${opts.leaks ? 'True' : 'False'})`}
print("---")
print(f"val_bpb:          {${opts.printed ?? 'val'}:.6f}")
print("peak_vram_mb:     2048.0")
`;

class TrainerAgent implements Agent {
  readonly name = 'trainer-writing-agent';
  constructor(private readonly plan: { description: string; source: string }[]) {}
  async propose(ctx: { repoDir: string }): Promise<Proposal> {
    const next = this.plan.shift();
    if (!next) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), next.source);
    return { kind: 'submitted', description: next.description, usage: ZERO_USAGE };
  }
}

describe('the loop with prepare.py as the judge', () => {
  it("logs the judge's number, and crashes runs that print a lie, skip the judge, leak or overrun", async () => {
    const dir = makeWorkspace();
    fs.writeFileSync(path.join(dir, 'prepare.py'), JUDGE_PREPARE);
    fs.writeFileSync(path.join(dir, 'train.py'), trainer({ scored: 1.0 }));
    git(dir, 'commit', '-qam', 'a judging prepare.py');
    const plan = [
      { description: 'prints a better number than it scored', source: trainer({ scored: 1.2, printed: 0.1 }) },
      { description: 'prints without asking the judge', source: trainer({ scored: 0.2, skipJudge: true }) },
      { description: 'looks at the future', source: trainer({ scored: 0.3, leaks: true }) },
      { description: 'trains past the budget', source: trainer({ scored: 0.4, sleep: 6.5 }) },
      { description: 'an honest improvement', source: trainer({ scored: 0.9, printed: 0.05 }) },
    ];
    const events: EngineEvent[] = [];
    const config = makeEngineConfig(dir, 'judge', { runCmd: 'python3 train.py', timeoutSec: 30, fixAttempts: 0, maxExperiments: plan.length, lookahead: 0 });
    const result = await runLoop(config, new TrainerAgent(plan), { onEvent: (e) => events.push(e), signal: new AbortController().signal });
    expect(result.exitCode).toBe(0);
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.map((r) => [r.status, r.value, r.description])).toEqual([
      ['keep', 1, 'baseline'],
      ['discard', 1.2, 'prints a better number than it scored'],
      ['crash', 0, 'prints without asking the judge (no val_bpb from prepare.py: train.py must score with prepare.evaluate_bpb)'],
      ['crash', 0, 'looks at the future (refused by prepare.py: the model sees future tokens (causality check failed))'],
      ['crash', 0, expect.stringMatching(/^trains past the budget \(over the time budget: ran \d+s, prepare.py allows 6s\)$/)],
      ['keep', 0.9, 'an honest improvement'],
    ]);
    expect(rows[1]?.memoryGb).toBeCloseTo(2, 5); // memory still comes from the log
    // The second experiment's crash also shows that the first one's verdict (1.2) did not outlive its run.
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});
