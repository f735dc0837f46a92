// Several experiments at once: slots on different GPUs, drafts ahead of the runs, and the one rule
// that keeps the branch honest: a result counts only for the exact code that produced it. Real git
// worktrees, a real python trainer per run, the real scheduler; the agent is a scripted one that
// edits the worktree it is given.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEngineConfig } from '../../src/engine/config.js';
import { runLoop } from '../../src/engine/loop.js';
import { readResultsFile } from '../../src/ledger/results.js';
import { worktreePath, writeExperimentState } from '../../src/ledger/state.js';
import { ZERO_USAGE, type Agent, type EngineConfig, type EngineEvent, type ExperimentContext, type Proposal, type ResultRow } from '../../src/engine/types.js';
import { git, makeWorkspace, PID_FILE_PY, pidFile } from '../helpers/workspace.js';

/**
 * A trainer whose score follows from its own flags: each GOOD flag set takes 0.01 off, each BAD one
 * adds 0.05. Flags sit far apart, so changes to different flags never conflict when moved onto each
 * other. It records its GPU and when it ran. Every run waits at a gate (a file named after its
 * seed) until the test opens it: the order in which runs finish is the test's to force, never the
 * machine's speed.
 */
const FLAGS = ['GOOD_1', 'GOOD_2', 'GOOD_3', 'GOOD_4', 'BAD_1', 'BAD_2', 'CLASH'];
const TRAINER = `# flag trainer
import hashlib, os, re, tempfile, time
${FLAGS.map((f) => `${f} = 0\n#\n#\n#`).join('\n')}
start = time.time()
gates = ${PID_FILE_PY('gates')}
os.makedirs(gates, exist_ok=True)
seed = os.environ.get("AUTORESEARCH_SEED", "0")
open(os.path.join(gates, seed + ".waiting"), "w").close()
while not os.path.exists(os.path.join(gates, seed + ".go")):
    time.sleep(0.005)
value = 1.0 - 0.01 * sum([GOOD_1, GOOD_2, GOOD_3, GOOD_4]) + 0.05 * (BAD_1 + BAD_2)
if CLASH and GOOD_1:
    value += 0.1  # CLASH helps alone, but not together with GOOD_1
elif CLASH:
    value -= 0.015
with open(${PID_FILE_PY('runs.log')}, "a") as f:
    f.write(f"{os.environ.get('CUDA_VISIBLE_DEVICES', '-')} {start:.3f} {time.time():.3f}\\n")
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

/** What a gate may look at: the runs that reached a gate, the rows written, the commits made. */
interface GateView {
  /** Whether the change's `run`-th run (0-based, over all its re-runs) has reached its gate. */
  started(description: string, run?: number): boolean;
  /** The change's row, once written. */
  row(description: string): ResultRow | undefined;
  /** Whether experiment `n` has committed its draft. */
  committed(n: number): boolean;
}

/** When a change's `run`-th run may finish; absent: at once. */
type Gate = (run: number, view: GateView) => boolean;

interface Change {
  description: string;
  set: Record<string, string>; // flag → new value
  gate?: Gate;
}

/**
 * Experiment n drafts plan[n - 1] (the order drafts start in is not the order of the plan); a redo
 * applies the named change again. `inOrder`: a first draft is handed in only once every earlier
 * experiment waits for its GPU, so that drafts on one GPU queue for it in the order of the plan.
 */
class FlagAgent implements Agent {
  readonly name = 'flag-agent';
  readonly contexts: ExperimentContext[] = [];
  events: EngineEvent[] = [];
  constructor(
    readonly plan: Change[],
    private readonly inOrder = false,
  ) {}

  changeOf(experiment: number): Change | undefined {
    return this.plan[experiment - 1];
  }

  async propose(ctx: ExperimentContext, signal: AbortSignal): Promise<Proposal> {
    this.contexts.push(ctx);
    const change = ctx.redo ? this.plan.find((c) => c.description === ctx.redo!.description) : this.changeOf(ctx.experiment);
    if (!change) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    if (this.inOrder && !ctx.redo) {
      const queued = (k: number) => this.events.some((e) => e.type === 'phase' && e.phase === 'waiting' && e.experiment === k);
      while (!Array.from({ length: ctx.experiment - 1 }, (_, i) => i + 1).every(queued)) {
        if (signal.aborted) throw new Error('aborted');
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    if (signal.aborted) throw new Error('aborted');
    const file = path.join(ctx.repoDir, 'train.py');
    let text = fs.readFileSync(file, 'utf8');
    for (const [name, value] of Object.entries(change.set)) text = text.replace(new RegExp(`^${name} = .*$`, 'm'), `${name} = ${value}`);
    fs.writeFileSync(file, text);
    return { kind: 'submitted', description: change.description, usage: ZERO_USAGE };
  }
}

/**
 * Opens each run's gate when its change's Gate says so, looking only at what happened (runs at
 * their gates, rows, commits). Runs of the baseline, and of changes without a Gate, pass at once.
 */
class Gates {
  private readonly dir: string;
  private readonly opened = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(repo: string, private readonly agent: FlagAgent, private readonly events: EngineEvent[]) {
    this.dir = pidFile(repo, 'gates');
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.timer = setInterval(() => this.tick(), 5);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private waiting(): Set<string> {
    try {
      return new Set(fs.readdirSync(this.dir).filter((f) => f.endsWith('.waiting')).map((f) => f.slice(0, -'.waiting'.length)));
    } catch {
      return new Set();
    }
  }

  private tick(): void {
    const waiting = this.waiting();
    const seedOf = (description: string, run: number): string => {
      const n = this.agent.plan.findIndex((c) => c.description === description) + 1;
      return String(n * 1000 + run + 1); // lab.ts's seedOf
    };
    const view: GateView = {
      started: (description, run = 0) => waiting.has(seedOf(description, run)),
      row: (description) => {
        for (const e of this.events) if (e.type === 'result' && e.experiment > 0 && e.row.description.split(' (')[0] === description) return e.row;
        return undefined;
      },
      committed: (n) => this.events.some((e) => e.type === 'committed' && e.experiment === n),
    };
    for (const seed of waiting) {
      if (this.opened.has(seed)) continue;
      const n = Math.floor((Number(seed) - 1) / 1000);
      const run = (Number(seed) - 1) % 1000;
      const gate = n === 0 ? undefined : this.agent.changeOf(n)?.gate;
      if (gate && !gate(run, view)) continue;
      this.opened.add(seed);
      fs.writeFileSync(path.join(this.dir, `${seed}.go`), '');
    }
  }
}

function workspace(): string {
  const dir = makeWorkspace();
  fs.writeFileSync(path.join(dir, 'train.py'), TRAINER);
  git(dir, 'commit', '-qam', 'flag trainer');
  return dir;
}

async function run(dir: string, agent: FlagAgent | Agent, over: Partial<EngineConfig>, env?: NodeJS.ProcessEnv) {
  const events: EngineEvent[] = [];
  const config = makeEngineConfig(dir, 'par', { runCmd: 'python3 train.py', timeoutSec: 120, fixAttempts: 0, ...over });
  // The plan whose gates open the runs: the agent's, or the one a wrapping agent names.
  const flags = agent instanceof FlagAgent ? agent : 'flags' in agent && agent.flags instanceof FlagAgent ? agent.flags : new FlagAgent([]);
  flags.events = events;
  const gates = new Gates(dir, flags, events);
  try {
    const result = await runLoop(config, agent, { onEvent: (e) => events.push(e), signal: new AbortController().signal, ...(env ? { env } : {}) });
    return { result, events, rows: readResultsFile(path.join(dir, 'results.tsv')).rows };
  } finally {
    gates.stop();
  }
}

const flagsAt = (dir: string, rev: string): Record<string, number> =>
  Object.fromEntries([...git(dir, 'show', `${rev}:train.py`).matchAll(/^(\w+) = ([\d.]+)$/gm)].map((m) => [m[1]!, Number(m[2])]));

const scoreOf = (f: Record<string, number>) => {
  const good = (f.GOOD_1 ?? 0) + (f.GOOD_2 ?? 0) + (f.GOOD_3 ?? 0) + (f.GOOD_4 ?? 0);
  let v = 1.0 - 0.01 * good + 0.05 * ((f.BAD_1 ?? 0) + (f.BAD_2 ?? 0));
  if (f.CLASH && f.GOOD_1) v += 0.1;
  else if (f.CLASH) v -= 0.015;
  return Number(v.toFixed(6));
};

/** Nothing of ours is left: no worktree but the main one, no state file, no lock. */
function expectTidy(dir: string, tag = 'par'): void {
  expect(git(dir, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
  const inflight = path.join(dir, '.autoresearch', tag, 'inflight');
  expect(fs.existsSync(inflight) ? fs.readdirSync(inflight) : []).toEqual([]);
  expect(fs.existsSync(path.join(dir, '.autoresearch', 'lock'))).toBe(false);
  expect(git(dir, 'status', '--porcelain')).toBe('');
}

/** Opens a change's first run once all the named changes' first runs wait at their gates (they overlap), and its later runs at once. */
const together = (...descriptions: string[]): Gate => (run, v) => run > 0 || descriptions.every((d) => v.started(d));
/** Opens a change's first run once `description`'s row is written, and its later runs at once. */
const after = (description: string): Gate => (run, v) => run > 0 || v.row(description) !== undefined;

describe('three GPUs', () => {
  // The runs finish in another order than they started; two such orders, each forced by the gates.
  const orders: { name: string; plan: Change[]; finished: string[] }[] = [
    {
      // Experiments 1–6 go to GPUs 0, 1, 2, 0, 1, 2. "good 1" beats the best it ran on three times
      // while GPUs 1 and 2 keep good 2, good 3 and good 4 in turn: it is re-measured each time, and
      // kept on the code it would become. (With a bound of two re-runs it used to be discarded.)
      name: 'a worse one first',
      plan: [
        { description: 'good 1', set: { GOOD_1: '1' }, gate: (run, v) => [v.row('good 2'), v.row('good 3'), v.row('good 4'), true][run] !== undefined },
        { description: 'bad 1', set: { BAD_1: '1' }, gate: together('good 1', 'bad 1', 'good 2') },
        { description: 'good 2', set: { GOOD_2: '1' }, gate: after('bad 1') },
        { description: 'bad 2', set: { BAD_2: '1' } },
        { description: 'good 3', set: { GOOD_3: '1' }, gate: (run, v) => run > 0 || v.started('good 1', 1) },
        { description: 'good 4', set: { GOOD_4: '1' }, gate: (run, v) => run > 0 || v.started('good 1', 2) },
      ],
      finished: ['bad 1', 'good 2', 'good 3', 'good 4', 'good 1', 'bad 2'],
    },
    {
      // The worse ones in the first round, a better one drafted last and trained last.
      name: 'a better one last',
      plan: [
        { description: 'bad 2', set: { BAD_2: '1' }, gate: after('good 3') },
        { description: 'good 3', set: { GOOD_3: '1' }, gate: after('bad 1') },
        { description: 'bad 1', set: { BAD_1: '1' }, gate: together('bad 2', 'good 3', 'bad 1') },
        { description: 'good 4', set: { GOOD_4: '1' }, gate: after('bad 2') },
        { description: 'good 2', set: { GOOD_2: '1' }, gate: after('good 4') },
        { description: 'good 1', set: { GOOD_1: '1' }, gate: after('good 2') },
      ],
      finished: ['bad 1', 'good 3', 'bad 2', 'good 4', 'good 2', 'good 1'],
    },
  ];
  it.each(orders)('train three experiments at once, each on its own GPU, and keep exactly the four better of six changes ($name)', async ({ plan, finished: order }) => {
    const dir = workspace();
    const start = git(dir, 'rev-parse', 'HEAD');
    // Two drafts per GPU: the first of each pair trains first.
    const { result, rows, events } = await run(dir, new FlagAgent(plan, true), { gpus: ['0', '1', '2'], lookahead: 1, maxExperiments: 6 });
    expect(result.exitCode).toBe(0);
    // The results came in the forced order, not the order the changes were drafted in.
    const finished = events.flatMap((e) => (e.type === 'result' && e.experiment > 0 ? [e.row.description.split(' (')[0]!] : []));
    expect(finished).toEqual(order);

    // Three runs at the same time, on three different GPUs.
    const runs = fs.readFileSync(pidFile(dir, 'runs.log'), 'utf8').trim().split('\n').map((l) => l.split(' '));
    const gpusSeen = new Set(runs.map((r) => r[0]));
    expect(gpusSeen).toEqual(new Set(['0', '1', '2']));
    const spans = runs.map((r) => [Number(r[1]), Number(r[2])] as const);
    const most = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s && s < b).length));
    expect(most).toBe(3);

    // One row per experiment; the four better changes kept, the two worse discarded.
    const experiments = rows.slice(1);
    expect(experiments).toHaveLength(6);
    expect(experiments.filter((r) => r.status === 'keep').map((r) => r.description.split(' (')[0]).sort()).toEqual(['good 1', 'good 2', 'good 3', 'good 4']);
    expect(experiments.filter((r) => r.status === 'discard').map((r) => r.description.split(' (')[0]).sort()).toEqual(['bad 1', 'bad 2']);
    expect(experiments.every((r) => r.slot !== undefined && ['0', '1', '2'].includes(r.slot))).toBe(true);

    // The branch: exactly the four kept commits, each measured on exactly its own code, each better than the one before.
    const branch = git(dir, 'rev-list', '--reverse', `${start}..HEAD`).split('\n').map((c) => c.slice(0, 7));
    const keeps = rows.filter((r) => r.status === 'keep');
    expect(branch).toEqual(keeps.slice(1).map((r) => r.commit));
    for (const row of keeps) expect(row.value, row.description).toBe(scoreOf(flagsAt(dir, row.commit)));
    for (let i = 1; i < keeps.length; i++) expect(keeps[i]!.value).toBeLessThan(keeps[i - 1]!.value);
    for (const row of keeps.slice(1)) expect(git(dir, 'rev-parse', '--short=7', `${row.commit}~1`)).toBe(row.base);
    expect(flagsAt(dir, 'HEAD')).toMatchObject({ GOOD_1: 1, GOOD_2: 1, GOOD_3: 1, GOOD_4: 1, BAD_1: 0, BAD_2: 0 });
    expectTidy(dir);
  }, 60_000);
});

describe('a change that beat the best it ran on is never let go by scheduling alone', () => {
  it('four GPUs: while the other three keep in turn, the fourth re-measures its change on each new best and keeps it on the last', async () => {
    const dir = workspace();
    const baseline = git(dir, 'rev-parse', '--short=7', 'HEAD');
    // Each run of "good 1" finishes just after another GPU kept a change, so the best has moved
    // under it every time: three moves, then a run on the best as it stands.
    const plan: Change[] = [
      { description: 'good 1', set: { GOOD_1: '1' }, gate: (run, v) => [v.row('good 2'), v.row('good 3'), v.row('good 4'), true][run] !== undefined },
      { description: 'good 2', set: { GOOD_2: '1' }, gate: together('good 1', 'good 2', 'good 3', 'good 4') },
      { description: 'good 3', set: { GOOD_3: '1' }, gate: (run, v) => run > 0 || v.started('good 1', 1) },
      { description: 'good 4', set: { GOOD_4: '1' }, gate: (run, v) => run > 0 || v.started('good 1', 2) },
    ];
    const { result, rows, events } = await run(dir, new FlagAgent(plan), { gpus: ['0', '1', '2', '3'], lookahead: 0, maxExperiments: 4 });
    expect(result.exitCode).toBe(0);
    expect(rows.slice(1).map((r) => [r.description.split(' (')[0], r.status, r.value, r.slot])).toEqual([
      ['good 2', 'keep', 0.99, '1'],
      ['good 3', 'keep', 0.98, '2'],
      ['good 4', 'keep', 0.97, '3'],
      ['good 1', 'keep', 0.96, '0'],
    ]);
    // Kept on exactly the code it became: all four flags, on top of good 4's commit.
    const [good2, good3, good4, good1] = rows.slice(1);
    expect(good1!.base).toBe(good4!.commit);
    expect(git(dir, 'rev-parse', '--short=7', 'HEAD')).toBe(good1!.commit);
    expect(flagsAt(dir, good1!.commit)).toMatchObject({ GOOD_1: 1, GOOD_2: 1, GOOD_3: 1, GOOD_4: 1 });
    // The row names every base it was measured on.
    expect(good1!.description).toBe(`good 1 (beat ${baseline}, then ${good2!.commit}, then ${good3!.commit}; re-measured on the new best ${good4!.commit})`);
    // Four runs of good 1, each a re-run on the best of the moment, all on its own GPU.
    const reruns = events.filter((e) => e.type === 'phase' && e.phase === 'training' && e.experiment === 1 && e.detail?.startsWith('re-run'));
    expect(reruns).toHaveLength(3);
    expectTidy(dir);
  }, 90_000);
});

describe('what each run and each draft is told', () => {
  /** The CUDA_VISIBLE_DEVICES each run saw. */
  const gpusOfRuns = (dir: string) => fs.readFileSync(pidFile(dir, 'runs.log'), 'utf8').trim().split('\n').map((l) => l.split(' ')[0]);

  it("without --gpus the environment's CUDA_VISIBLE_DEVICES reaches every run untouched; with --gpus each run gets its slot's", async () => {
    const env = { ...process.env, CUDA_VISIBLE_DEVICES: '5,7' };
    const plan = (): Change[] => [
      { description: 'good 1', set: { GOOD_1: '1' } },
      { description: 'good 2', set: { GOOD_2: '1' } },
    ];
    const plain = workspace();
    const a = await run(plain, new FlagAgent(plan()), { lookahead: 1, maxExperiments: 2 }, env);
    expect(a.result.exitCode).toBe(0);
    const inherited = gpusOfRuns(plain);
    expect(inherited.length).toBeGreaterThanOrEqual(3); // the baseline's runs and both experiments'
    expect(new Set(inherited)).toEqual(new Set(['5,7']));
    expect(a.rows.every((r) => r.slot === undefined)).toBe(true);

    const slotted = workspace();
    const b = await run(slotted, new FlagAgent(plan()), { gpus: ['0', '1'], lookahead: 0, maxExperiments: 2 }, env);
    expect(b.result.exitCode).toBe(0);
    // Every run, the baseline's included, sees one GPU of its slot, never the inherited pair.
    expect(new Set(gpusOfRuns(slotted))).toEqual(new Set(['0', '1']));
    // Each row names the GPU its run saw.
    expect(b.rows.slice(1).map((r) => r.slot).sort()).toEqual(['0', '1']);
    expectTidy(plain);
    expectTidy(slotted);
  }, 60_000);

  it('a draft made while others are in flight is told their descriptions and the slot it drafts for', async () => {
    const dir = workspace();
    // Two GPUs, no drafts ahead: the third experiment is drafted when "quick" ends, on quick's
    // GPU, while "long" still trains on the other one.
    const plan: Change[] = [
      { description: 'long', set: { GOOD_1: '1' }, gate: after('third') },
      { description: 'quick', set: { GOOD_2: '1' } },
      { description: 'third', set: { GOOD_3: '1' } },
    ];
    const agent = new FlagAgent(plan);
    const { result, rows } = await run(dir, agent, { gpus: ['0', '1'], lookahead: 0, maxExperiments: 3 });
    expect(result.exitCode).toBe(0);
    // Experiment i made change i (the drafts may start in either order).
    expect(agent.contexts).toHaveLength(3);
    const slotOf = (description: string) => rows.find((r) => r.description.split(' (')[0] === description)?.slot;
    const [long, quick, third] = [1, 2, 3].map((n) => agent.contexts.find((c) => c.experiment === n));
    // Every draft is told its own slot: the GPU its run then trained on.
    expect([long!.slot, quick!.slot, third!.slot]).toEqual([slotOf('long'), slotOf('quick'), slotOf('third')]);
    expect(long!.slot).not.toBe(quick!.slot);
    expect(third!.slot).toBe(quick!.slot);
    // The third is told what is in flight: "long" (still training), not "quick" (done), not itself.
    expect(third!.inFlight?.map((f) => f.description)).toEqual(['long']);
    expect(third!.inFlight?.[0]?.experiment).not.toBe(third!.experiment);
    expectTidy(dir);
  }, 60_000);
});

describe('kill -9 with runs in flight', () => {
  it("the restart logs each interrupted experiment with the slot its state file names", async () => {
    const dir = workspace();
    const first = await run(dir, new FlagAgent([]), { gpus: ['0', '1', '2'], maxExperiments: 0 });
    expect(first.rows.map((r) => r.description)).toEqual(['baseline']);
    // What a killed loop leaves: two experiments committed in their worktrees, training on GPUs 2 and 0.
    const base = git(dir, 'rev-parse', 'HEAD');
    const commits: string[] = [];
    for (const [n, gpu, flag] of [[1, '2', 'GOOD_1'], [2, '0', 'GOOD_2']] as const) {
      const tree = worktreePath(dir, 'par', n);
      git(dir, 'worktree', 'add', '-q', '--detach', tree, base);
      const file = path.join(tree, 'train.py');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(new RegExp(`^${flag} = 0$`, 'm'), `${flag} = 1`));
      git(tree, 'commit', '-qam', `set ${flag}`);
      const commit = git(tree, 'rev-parse', 'HEAD');
      commits.push(commit);
      writeExperimentState(dir, 'par', { experiment: n, phase: 'training', base, commit, description: `set ${flag}`, startedAt: new Date().toISOString(), worktree: tree, slot: gpu });
    }
    const { result, rows, events } = await run(dir, new FlagAgent([]), { gpus: ['0', '1', '2'], maxExperiments: 0 });
    expect(result.exitCode).toBe(0);
    expect(events.some((e) => e.type === 'recovered')).toBe(true);
    expect(rows.slice(1).map((r) => [r.commit, r.status, r.description, r.slot])).toEqual([
      [commits[0]!.slice(0, 7), 'crash', 'set GOOD_1 (interrupted)', '2'],
      [commits[1]!.slice(0, 7), 'crash', 'set GOOD_2 (interrupted)', '0'],
    ]);
    expectTidy(dir);
  }, 60_000);
});

describe('a result counts only for the code that produced it', () => {
  it('a run that beat its base while the best moved is moved onto the new best and trained again', async () => {
    const dir = workspace();
    const plan: Change[] = [
      { description: 'slow good 1', set: { GOOD_1: '1' }, gate: after('quick good 2') },
      { description: 'quick good 2', set: { GOOD_2: '1' } },
    ];
    const { rows } = await run(dir, new FlagAgent(plan), { gpus: ['0', '1'], lookahead: 0, maxExperiments: 2 });
    const quick = rows.find((r) => r.description.startsWith('quick'))!;
    const slow = rows.find((r) => r.description.startsWith('slow'))!;
    expect(quick).toMatchObject({ status: 'keep', value: 0.99 });
    // Measured first on the baseline (0.99), then again on top of quick good 2: only that second number counts.
    expect(slow).toMatchObject({ status: 'keep', value: 0.98, base: quick.commit });
    expect(slow.description).toBe(`slow good 1 (beat ${rows[0]!.commit}; re-measured on the new best ${quick.commit})`);
    expect(flagsAt(dir, slow.commit)).toMatchObject({ GOOD_1: 1, GOOD_2: 1 });
    // Its first commit (on the baseline) stays reachable; both runs' logs are kept.
    expect(git(dir, 'for-each-ref', '--format=%(refname)', 'refs/autoresearch/par/moved/').split('\n').filter(Boolean)).toHaveLength(1);
    const logs = fs.readdirSync(path.join(dir, '.autoresearch/par/logs')).filter((f) => !f.startsWith('0000-')); // the baseline's aside
    expect(logs.filter((f) => f.endsWith('-run1.log'))).toHaveLength(1);
    expectTidy(dir);
  }, 60_000);

  it('is discarded when, trained again on the new best, it no longer beats it', async () => {
    const dir = workspace();
    const plan: Change[] = [
      { description: 'clash', set: { CLASH: '1' }, gate: after('good 1') }, // 0.985 on the baseline: better
      { description: 'good 1', set: { GOOD_1: '1' } }, // 0.99, kept first
    ];
    const { rows } = await run(dir, new FlagAgent(plan), { gpus: ['0', '1'], lookahead: 0, maxExperiments: 2 });
    expect(rows.map((r) => [r.status, r.value, r.description.split(' (')[0]])).toEqual([
      ['keep', 1, 'baseline'],
      ['keep', 0.99, 'good 1'],
      ['discard', 1.09, 'clash'], // together with good 1 it is worse: never kept, though it beat the baseline alone
    ]);
    expect(flagsAt(dir, 'HEAD')).toMatchObject({ GOOD_1: 1, CLASH: 0 });
    expectTidy(dir);
  }, 60_000);

  it('a draft that no longer applies on the new best is redone by the model, once, before it trains', async () => {
    const dir = workspace();
    // One GPU, one draft ahead: both drafts are made on the baseline; the second changes the same
    // line as the first, so it cannot be moved onto the first once that is kept.
    const plan: Change[] = [
      // Its run ends only once the second draft is committed: both drafts are made on the baseline.
      { description: 'good 1 first', set: { GOOD_1: '1' }, gate: (run, v) => v.committed(2) },
      { description: 'good 1 and 2', set: { GOOD_1: '2', GOOD_2: '1' } }, // drafted second, so it trains second
    ];
    const agent = new FlagAgent(plan, true); // the first draft queues for the GPU first
    const { rows } = await run(dir, agent, { lookahead: 1, maxExperiments: 2 });
    const redo = agent.contexts.find((c) => c.redo);
    expect(redo?.redo).toEqual({ description: 'good 1 and 2', newBest: rows[1]!.commit });
    expect(rows.map((r) => [r.status, r.description])).toEqual([
      ['keep', 'baseline'],
      ['keep', 'good 1 first'],
      ['keep', 'good 1 and 2'],
    ]);
    expect(rows[2]!.base).toBe(rows[1]!.commit);
    expectTidy(dir);
  }, 60_000);

  it('is skipped, with the reason, when the redo fails too', async () => {
    const dir = workspace();
    const plan: Change[] = [
      { description: 'good 1 first', set: { GOOD_1: '1' }, gate: (run, v) => v.committed(2) },
      { description: 'clashes', set: { GOOD_1: '2' } },
    ];
    const agent = new FlagAgent(plan, true); // the first draft queues for the GPU first
    // The redo asks for a change the agent no longer knows: it skips, as a model that gives up would.
    const forgetful: Agent & { flags: FlagAgent } = {
      name: 'forgetful',
      flags: agent,
      propose: (ctx, signal) => (ctx.redo ? Promise.resolve({ kind: 'skipped', reason: 'cannot redo it', usage: ZERO_USAGE }) : agent.propose(ctx, signal)),
    };
    const { rows, events } = await run(dir, forgetful, { lookahead: 1, maxExperiments: 2 });
    expect(rows.map((r) => r.description)).toEqual(['baseline', 'good 1 first']);
    const skipped = events.find((e) => e.type === 'skipped');
    expect(skipped?.type === 'skipped' && skipped.reason).toBe(`its change no longer applies on the new best ${rows[1]!.commit}, and the redo failed: cannot redo it`);
    expectTidy(dir);
  }, 60_000);
});

describe('pipelining on one GPU', () => {
  it('drafts the next experiment while the current one trains, and ends where the strict sequence ends', async () => {
    // With drafts ahead, each run ends only once the next draft is committed; in the strict sequence, at once.
    const plan = (ahead: boolean): Change[] => [
      { description: 'good 1', set: { GOOD_1: '1' }, ...(ahead ? { gate: (_run: number, v: GateView) => v.committed(2) } : {}) },
      { description: 'good 2', set: { GOOD_2: '1' }, ...(ahead ? { gate: (_run: number, v: GateView) => v.committed(3) } : {}) },
      { description: 'bad 1', set: { BAD_1: '1' } },
    ];
    const piped = workspace();
    const a = await run(piped, new FlagAgent(plan(true), true), { lookahead: 1, maxExperiments: 3 });
    const strict = workspace();
    const b = await run(strict, new FlagAgent(plan(false)), { lookahead: 0, maxExperiments: 3 });

    // With lookahead 1 the model drafts experiment n+1 while experiment n trains; with 0, never.
    // (Spans in the order of the engine's events: drafting from 'agent' to 'committed', training from 'training' to 'result'.)
    const overlaps = (events: EngineEvent[]) => {
      const drafting = new Map<number, [number, number]>();
      const training = new Map<number, [number, number]>();
      events.forEach((e, i) => {
        if (e.type === 'phase' && e.phase === 'agent' && !drafting.has(e.experiment)) drafting.set(e.experiment, [i, Infinity]);
        if (e.type === 'committed' && drafting.get(e.experiment)?.[1] === Infinity) drafting.get(e.experiment)![1] = i;
        if (e.type === 'phase' && e.phase === 'training' && e.experiment > 0 && !training.has(e.experiment)) training.set(e.experiment, [i, Infinity]);
        if (e.type === 'result' && training.has(e.experiment)) training.get(e.experiment)![1] = i;
      });
      let seen = 0;
      for (const [n, [d0, d1]] of drafting) for (const [m, [t0, t1]] of training) if (n !== m && d0 < t1 && t0 < d1) seen++;
      return seen;
    };
    expect(overlaps(a.events)).toBeGreaterThan(0);
    expect(overlaps(b.events)).toBe(0);
    // The same end state: the same changes kept (drafted at once, they may train in either order), the same final code.
    const kept = (rows: typeof a.rows) => rows.filter((r) => r.status === 'keep').map((r) => r.description.split(' (')[0]).sort();
    expect(kept(a.rows)).toEqual(kept(b.rows));
    expect(flagsAt(piped, 'HEAD')).toEqual(flagsAt(strict, 'HEAD'));
    expectTidy(piped);
    expectTidy(strict);
  }, 60_000);
});

describe('stopping with several runs in flight', () => {
  it('Ctrl+C: every run is stopped and logged as interrupted, no worktree is left, exit 130', async () => {
    const dir = workspace();
    const plan: Change[] = [
      { description: 'long 1', set: { GOOD_1: '1' }, gate: () => false },
      { description: 'long 2', set: { GOOD_2: '1' }, gate: () => false },
      { description: 'long 3', set: { GOOD_3: '1' }, gate: () => false },
    ];
    const controller = new AbortController();
    const events: EngineEvent[] = [];
    const training = new Set<number>();
    const config = makeEngineConfig(dir, 'par', { runCmd: 'python3 train.py', timeoutSec: 60, fixAttempts: 0, gpus: ['0', '1', '2'], lookahead: 0, maxExperiments: 3 });
    const agent = new FlagAgent(plan);
    const gates = new Gates(dir, agent, events);
    const result = await runLoop(config, agent, {
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'training' && e.experiment > 0) training.add(e.experiment);
        if (training.size === 3 && !controller.signal.aborted) controller.abort('SIGINT');
      },
      signal: controller.signal,
    }).finally(() => gates.stop());
    expect(result.exitCode).toBe(130);
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.slice(1).map((r) => r.description).sort()).toEqual(['long 1 (interrupted)', 'long 2 (interrupted)', 'long 3 (interrupted)']);
    expect(rows.slice(1).every((r) => r.status === 'crash')).toBe(true);
    expect(git(dir, 'rev-parse', '--short=7', 'HEAD')).toBe(rows[0]!.commit);
    expectTidy(dir);
  }, 60_000);

  it('q: nothing new starts; what is in flight finishes and is logged', async () => {
    const dir = workspace();
    const plan: Change[] = [
      { description: 'good 1', set: { GOOD_1: '1' } },
      { description: 'good 2', set: { GOOD_2: '1' } },
      { description: 'never started', set: { GOOD_3: '1' } },
    ];
    let stop: string | null = null;
    const events: EngineEvent[] = [];
    const config = makeEngineConfig(dir, 'par', { runCmd: 'python3 train.py', timeoutSec: 120, fixAttempts: 0, gpus: ['0', '1'], lookahead: 0 });
    const agent = new FlagAgent(plan);
    const gates = new Gates(dir, agent, events);
    const result = await runLoop(config, agent, {
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'phase' && e.phase === 'training' && e.experiment > 0) stop = 'q pressed';
      },
      signal: new AbortController().signal,
      gracefulStop: () => stop,
    }).finally(() => gates.stop());
    expect(result).toEqual({ exitCode: 0, reason: 'q pressed' });
    const rows = readResultsFile(path.join(dir, 'results.tsv')).rows;
    expect(rows.slice(1).map((r) => [r.status, r.description.split(' (')[0]]).sort()).toEqual([
      ['keep', 'good 1'],
      ['keep', 'good 2'],
    ]);
    expectTidy(dir);
  }, 60_000);
});
