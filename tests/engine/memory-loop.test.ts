// The research memory through the real loop: real git, real stand-in trainer runs. Code already
// measured is not trained again (whatever the agent: this is the engine's own check), two drafts of
// the same code cannot both train, notes reach every later experiment and survive a restart, and
// the journal holds the night.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { ZERO_USAGE, type Agent, type EngineConfig, type EngineEvent, type ExperimentContext, type Proposal } from '../../src/engine/types.js';
import { makeWorkspace, STAND_IN_TRAINER } from '../helpers/workspace.js';

interface Step {
  value: number;
  description: string;
  notes?: string;
}

/** Writes the stand-in trainer with the planned value (the same value: the same code), with notes when planned. */
class NoteAgent implements Agent {
  readonly name = 'note-agent';
  readonly contexts: ExperimentContext[] = [];
  constructor(private readonly plan: Step[]) {}

  async propose(ctx: ExperimentContext): Promise<Proposal> {
    this.contexts.push(ctx);
    const step = this.plan.shift();
    if (!step) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), STAND_IN_TRAINER(step.value));
    return { kind: 'submitted', description: step.description, usage: ZERO_USAGE, ...(step.notes ? { notes: step.notes } : {}) };
  }
}

async function run(dir: string, agent: Agent, over: Partial<EngineConfig> = {}) {
  const events: EngineEvent[] = [];
  const config = makeEngineConfig(dir, 'mem', { runCmd: 'python3 train.py', timeoutSec: 120, fixAttempts: 0, lookahead: 0, baselineRuns: 1, confirmRuns: 0, ...over });
  const result = await runLoop(config, agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal });
  return { result, events, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
}

const trainings = (events: EngineEvent[], experiment: number) => events.filter((e) => e.type === 'phase' && e.phase === 'training' && e.experiment === experiment).length;
const duplicates = (dir: string) =>
  fs.existsSync(path.join(dir, '.autoresearch/mem/duplicates.jsonl'))
    ? fs.readFileSync(path.join(dir, '.autoresearch/mem/duplicates.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { experiment: number; of: number })
    : [];

describe('no code trained twice', () => {
  it('a submission identical to a measured experiment is not trained, and the skip names it; notes persist in results.tsv, the journal and every later prompt', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    const agent = new NoteAgent([
      { value: 0.95, description: 'lower lr', notes: 'the learning rate was too high' },
      { value: 0.97, description: 'wider mlp' },
      { value: 0.97, description: 'wider mlp, proposed again' }, // the same code as #2
      { value: 1.0, description: 'back to the start' }, // the baseline's code
      { value: 0.9, description: 'rope base 50k' },
    ]);
    const { result, rows, events } = await run(dir, agent, { maxExperiments: 5 });
    expect(result.exitCode).toBe(0);
    expect(rows.map((r) => [r.experiment, r.status, r.description])).toEqual([
      [0, 'keep', 'baseline'],
      [1, 'keep', 'lower lr'],
      [2, 'discard', 'wider mlp'],
      [5, 'keep', 'rope base 50k'],
    ]);
    const skips = events.flatMap((e) => (e.type === 'skipped' ? [[e.experiment, e.reason]] : []));
    expect(skips).toEqual([
      [3, 'its code is identical to experiment #2 ("wider mlp"): not trained again'],
      [4, 'its code is identical to experiment #0 ("baseline"): not trained again'],
    ]);
    expect(trainings(events, 3) + trainings(events, 4)).toBe(0);
    expect(duplicates(dir).map((d) => [d.experiment, d.of])).toEqual([
      [3, 2],
      [4, 0],
    ]);
    // The dashboard and the log hear of each refusal.
    expect(events.filter((e) => e.type === 'agent' && e.activity.kind === 'duplicate').map((e) => e.type === 'agent' && e.activity.kind === 'duplicate' && e.activity.of)).toEqual([2, 0]);
    // Every row knows its code; the note is in its row and reaches every later prompt.
    expect(rows.every((r) => /^[0-9a-f]{16}$/.test(r.code ?? ''))).toBe(true);
    expect(rows[1]!.notes).toBe('the learning rate was too high');
    for (const ctx of agent.contexts.slice(1)) expect(ctx.history.some((r) => r.notes === 'the learning rate was too high')).toBe(true);
    const journal = fs.readFileSync(path.join(dir, '.autoresearch/mem/journal.md'), 'utf8');
    expect(journal).toContain('- #1: the learning rate was too high');
    expect(journal).toContain('### #5 keep');
    // The model's copy in its worktree is where the prompt says.
    expect(agent.contexts[0]!.journal).toBe('.autoresearch/journal.md');
  }, 120_000);

  it('after a restart, the rows read back still refuse their code, and the notes are still shown', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    await run(dir, new NoteAgent([{ value: 0.95, description: 'lower lr', notes: 'lr matters most' }, { value: 0.97, description: 'wider mlp' }]), { maxExperiments: 2 });
    const again = new NoteAgent([{ value: 0.97, description: 'wider mlp once more' }, { value: 0.93, description: 'warmup' }]);
    const { rows, events } = await run(dir, again, { maxExperiments: 2 });
    expect(events.find((e) => e.type === 'skipped')).toMatchObject({ experiment: 3, reason: expect.stringContaining('identical to experiment #2') });
    expect(rows.map((r) => r.description)).toEqual(['baseline', 'lower lr', 'wider mlp', 'warmup']);
    expect(again.contexts[0]!.history.find((r) => r.experiment === 1)?.notes).toBe('lr matters most');
  }, 120_000);

  it('rows written before fingerprints were recorded get theirs from git on resume', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    await run(dir, new NoteAgent([{ value: 1.05, description: 'wider mlp' }]), { maxExperiments: 1 });
    // As an older version wrote it: no code column (cut the new columns off every line).
    const file = path.join(dir, 'results.tsv');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('\n').map((l) => l.split('\t').slice(0, 18).join('\t')).join('\n'));
    const { rows, events } = await run(dir, new NoteAgent([{ value: 1.05, description: 'wider mlp again' }]), { maxExperiments: 1 });
    expect(events.find((e) => e.type === 'skipped')).toMatchObject({ reason: expect.stringContaining('identical to experiment #1') });
    expect(events.find((e) => e.type === 'recovered')).toMatchObject({ message: expect.stringContaining('its header now has the columns experiment, verdict, files, code, notes') });
    expect(rows).toHaveLength(2);
  }, 120_000);

  it('two drafts of the same code at once: one trains, the other is refused naming it', async () => {
    const dir = makeWorkspace({ value: 1.0 });
    const agent = new NoteAgent([
      { value: 0.96, description: 'the idea' },
      { value: 0.96, description: 'the same idea, drafted at the same time' },
    ]);
    const { rows, events } = await run(dir, agent, { gpus: ['0', '1'], maxExperiments: 2 });
    expect(rows).toHaveLength(2);
    const skipped = events.filter((e) => e.type === 'skipped');
    expect(skipped).toHaveLength(1);
    const trained = rows[1]!.experiment!;
    expect(skipped[0]).toMatchObject({ reason: expect.stringContaining(`identical to experiment #${trained}`) });
  }, 120_000);
});
