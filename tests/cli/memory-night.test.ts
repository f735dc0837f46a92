// The research memory through the built command, as a night runs it: a scripted model behind the
// fake Messages API (and the fake Chat Completions one) edits train.py with the editor tool, leaves
// a note at experiment 5, and at experiment 8 first submits code identical to experiment 3's. The
// stand-in trainer records every run it does, so "not trained" is counted, not inferred. Then
// kill -9 and a resume with the same command: the note and the duplicate check come back from disk.
//
// Needs `npm run build` first (npm test does it): it runs dist/cli.js.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fault, firstUserText, say, startFakeApi, startFakeOpenAi, turn, useTool, type FakeApi, type Reply } from '../../src/fakeapi/index.js';
import { drillWorkspace, running } from '../helpers/drill.js';
import { pidFile } from '../helpers/workspace.js';

const CLI = path.resolve('dist/cli.js');
if (!fs.existsSync(CLI)) throw new Error('Build first: npm run build (npm test does it).');
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANTHROPIC_') && !k.startsWith('OPENAI_')));

const TAG = 'memory';
/** The line every experiment adds its own line under: it stays, so every str_replace finds it whatever the best is. */
const ANCHOR = '# experiments: each adds its line below\n';
const NOTE = 'negative GAIN lines only ever hurt; only positive ones are worth a run';
const HELD_NOTE = 'this run was held on purpose: the kill -9 comes while it trains';

/**
 * The stand-in trainer: val_bpb is 1.0 minus the GAIN_<n> lines the experiments added. Each run
 * appends "<sha256 of train.py> <its GAIN names>" to /tmp/ar-<repo hash>-runs (pidFile(dir, 'runs')).
 * With a HOLD line it writes its pid to ...-holding and waits for ...-gate (2 minutes at most),
 * so a test can kill the command while a run is in flight.
 */
const TRAINER = `# memory-night trainer: val_bpb is 1.0 minus the GAIN_ lines below
import hashlib, os, tempfile, time
${ANCHOR}value = 1.0 - sum(v for k, v in list(globals().items()) if k.startswith("GAIN_"))
root = os.path.realpath(os.getcwd().split("/.autoresearch/")[0])
prefix = os.path.join(tempfile.gettempdir(), "ar-" + hashlib.sha1(root.encode()).hexdigest()[:12])
with open(__file__, "rb") as f:
    code = hashlib.sha256(f.read()).hexdigest()[:16]
with open(prefix + "-runs", "a") as f:
    f.write(code + " " + ",".join(sorted(k for k in list(globals()) if k.startswith("GAIN_"))) + "\\n")
if globals().get("HOLD"):
    with open(prefix + "-holding", "w") as f:
        f.write(str(os.getpid()))
    deadline = time.time() + 120
    while not os.path.exists(prefix + "-gate") and time.time() < deadline:
        time.sleep(0.05)
print("---")
print(f"val_bpb:          {value:.6f}")
print("peak_vram_mb:     1024.0", flush=True)
`;

/** Experiment 1 is kept; 2..7 are worse (discarded, so the best stays experiment 1's code); from 8 on, odd ones are kept. */
function gainOf(n: number): string {
  if (n === 1) return '0.01';
  if (n <= 7) return `-0.0${n}`;
  return n % 2 === 1 ? '0.001' : '-0.05';
}
const gainLine = (n: number): string => `GAIN_${n} = ${gainOf(n)}\n`;
const description = (n: number): string => `add GAIN_${n} = ${gainOf(n)}`;

/** What the scripted model does at experiment n, beyond adding its own GAIN line. */
interface Plan {
  notes?: string;
  /** First re-add this experiment's line (code identical to it, from the same best) and submit; then replace it with its own line. */
  duplicateOf?: number;
  /** The run holds until the test opens the gate. */
  hold?: boolean;
}

type Msg = { role?: string; content?: unknown };

/** The experiment a request belongs to, from the task line of its first user message. */
function experimentOf(body: { messages?: unknown }): number {
  const m = /^Experiment (\d+)\. Make exactly ONE change/m.exec(firstUserText(body));
  if (!m) throw new Error(`no task line in the first message:\n${firstUserText(body)}`);
  return Number(m[1]);
}

/** How many replies the model has given in this conversation (the same count in both wire formats). */
const stepOf = (body: { messages?: unknown }): number => (body.messages as Msg[]).filter((m) => m.role === 'assistant').length;

/** The answers to the model's last tool calls: tool_result blocks (Messages) or tool messages (Chat Completions). */
function lastToolAnswers(body: { messages?: unknown }): { text: string; isError?: boolean }[] {
  const messages = body.messages as Msg[];
  const last = messages.at(-1);
  if (Array.isArray(last?.content)) {
    return (last.content as Array<{ type?: string; content?: unknown; is_error?: boolean }>)
      .filter((b) => b.type === 'tool_result')
      .map((b) => ({ text: typeof b.content === 'string' ? b.content : JSON.stringify(b.content), ...(b.is_error !== undefined ? { isError: b.is_error } : {}) }));
  }
  const answers: { text: string }[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === 'tool'; i--) answers.unshift({ text: String(messages[i]!.content) });
  return answers;
}

const editor = (old_str: string, new_str: string) => useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str, new_str });
const submit = (desc: string, notes?: string) => useTool('submit_experiment', notes ? { description: desc, notes } : { description: desc });

/** The scripted researcher: one reply per request, from the experiment number and the step alone. */
function researcher(plan: (n: number) => Plan): (body: { messages?: unknown }) => Reply {
  return (body) => {
    const n = experimentOf(body);
    const step = stepOf(body);
    const p = plan(n);
    const own = gainLine(n) + (p.hold ? 'HOLD = 1\n' : '');
    if (p.duplicateOf !== undefined) {
      const d = p.duplicateOf;
      if (step === 0) return turn(say(`Experiment ${d} again, on the same best.`), editor(ANCHOR, ANCHOR + gainLine(d)));
      if (step === 1) return turn(submit(`${description(d)} again`));
      if (step === 2) return turn(say('Refused: a different change then.'), editor(gainLine(d), own));
      return turn(submit(description(n), p.notes));
    }
    if (step === 0) return turn(say(`Experiment ${n}: one more line.`), editor(ANCHOR, ANCHOR + own));
    return turn(submit(description(n), p.notes));
  };
}

/** results.tsv read as a person would: the header names the columns. */
function readRows(dir: string): Record<string, string>[] {
  const [header, ...lines] = fs.readFileSync(path.join(dir, 'results.tsv'), 'utf8').trimEnd().split('\n');
  const names = header!.split('\t');
  return lines.map((line) => Object.fromEntries(line.split('\t').map((cell, i) => [names[i]!, cell])));
}

/** Every run the stand-in trainer did: "<code hash> <GAIN names>". */
const runsOf = (dir: string): string[] => (fs.existsSync(pidFile(dir, 'runs')) ? fs.readFileSync(pidFile(dir, 'runs'), 'utf8').split('\n').filter(Boolean) : []);

const duplicatesOf = (dir: string): { experiment: number; of: number; description: string }[] => {
  const file = path.join(dir, '.autoresearch', TAG, 'duplicates.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { experiment: number; of: number; description: string }) : [];
};

type Provider = 'anthropic' | 'openai';

/** The body of every request the fake server got, in order (the one a kill cut short included). */
const bodiesOf = (api: FakeApi): { messages?: unknown }[] => api.requests.map((r) => r.body as { messages?: unknown }).filter((b) => b !== null);

/** The built command, as a user runs it against the fake server of `provider`. */
function startCli(provider: Provider, api: FakeApi, dir: string, maxExperiments: number): { child: ChildProcess; exited: Promise<number | string | null>; output: () => string } {
  const common = ['--tag', TAG, '--max-experiments', String(maxExperiments), '--run-cmd', 'python3 train.py', '--no-tui', '--sandbox', 'off', '--baseline-runs', '1', '--confirm-runs', '0', '--lookahead', '0'];
  const args = provider === 'openai' ? [...common, '--provider', 'openai', '--model', 'qwen2.5-coder', '--base-url', api.url] : common;
  const env = provider === 'openai' ? { ...clean, OPENAI_API_KEY: 'none' } : { ...clean, ANTHROPIC_API_KEY: 'sk-ant-test-memory', ANTHROPIC_BASE_URL: api.url };
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = new Promise<number | string | null>((resolve) => child.on('close', (code, signal) => resolve(signal ?? code)));
  return { child, exited, output: () => out };
}

const startServer = (provider: Provider, script: (body: { messages?: unknown }) => Reply): Promise<FakeApi> =>
  provider === 'openai' ? startFakeOpenAi((body) => script(body)) : startFakeApi((body) => script(body));

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) {
    for (const f of ['runs', 'holding', 'gate']) fs.rmSync(pidFile(d, f), { force: true });
    fs.rmSync(d, { recursive: true, force: true });
  }
});

/**
 * A night of `count` experiments: the note at 5, and at 8 a submission identical to 3 first. Checks
 * what the issue asks of it: the last experiment's first message names every earlier experiment
 * with its commit and the note; the duplicate was refused naming #3 and never trained; one row per
 * experiment, the note in experiment 5's row; the refusal in duplicates.jsonl.
 */
async function night(provider: Provider, count: number): Promise<void> {
  const plan = (n: number): Plan => (n === 5 ? { notes: NOTE } : n === 8 ? { duplicateOf: 3 } : {});
  const api = await startServer(provider, researcher(plan));
  try {
    const dir = drillWorkspace('autoresearch-memory-', TRAINER, dirs);
    const cli = startCli(provider, api, dir, count);
    const code = await cli.exited;
    const out = cli.output();
    expect(code, out).toBe(0);

    // One row per experiment, numbered 0 (the baseline) to count, each a distinct code.
    const rows = readRows(dir);
    expect(rows.map((r) => Number(r['experiment'])), out).toEqual(Array.from({ length: count + 1 }, (_, i) => i));
    expect(rows.map((r) => r['description'])).toEqual(['baseline', ...Array.from({ length: count }, (_, i) => description(i + 1))]);
    expect(new Set(rows.map((r) => r['code'])).size).toBe(count + 1);
    expect(rows.map((r) => r['status'])).toEqual(['keep', ...Array.from({ length: count }, (_, i) => (gainOf(i + 1).startsWith('-') ? 'discard' : 'keep'))]);
    // The note is kept in experiment 5's row, and only there.
    expect(rows.map((r) => r['notes'] ?? '')).toEqual(rows.map((r) => (r['experiment'] === '5' ? NOTE : '')));

    // Trained: the baseline and every experiment once, and never the code identical to experiment 3's
    // (the same GAIN lines as #3: GAIN_1 from the best, and GAIN_3).
    const runs = runsOf(dir);
    expect(runs).toHaveLength(count + 1);
    expect(new Set(runs.map((r) => r.split(' ')[0])).size).toBe(count + 1);
    expect(runs.filter((r) => r.endsWith(' GAIN_1,GAIN_3'))).toHaveLength(1);

    // Experiment 8: the first submission was answered with an error naming experiment #3, then
    // the model made a different change and submitted again, within the same experiment.
    const bodies = bodiesOf(api);
    const eight = bodies.filter((b) => experimentOf(b) === 8);
    expect(eight.map(stepOf)).toEqual([0, 1, 2, 3]);
    const refusal = lastToolAnswers(eight[2]!);
    expect(refusal).toHaveLength(1);
    expect(refusal[0]!.text).toMatch(/^Error: not submitted\. The editable files are identical to experiment #3 \("add GAIN_3 = -0\.03"\): it was measured: discard, val_bpb 1\.020000/);
    expect(refusal[0]!.text).toContain(`experiment #3 ("${rows[3]!['description']}")`);
    if (provider === 'anthropic') expect(refusal[0]!.isError).toBe(true);
    expect(lastToolAnswers(eight[3]!)[0]!.text).toMatch(/^The file train\.py has been edited\./);
    expect(duplicatesOf(dir).map(({ experiment, of, description: d }) => ({ experiment, of, description: d }))).toEqual([{ experiment: 8, of: 3, description: rows[3]!['description'] }]);

    // The first message of the last experiment names every earlier one with its commit, and the note.
    const last = bodies.find((b) => experimentOf(b) === count && stepOf(b) === 0)!;
    const first = firstUserText(last);
    for (const r of rows.slice(0, count)) expect(first).toContain(`#${r['experiment']} ${r['commit']} ${r['status']} `);
    expect(first).toContain(`(${count} experiments, all listed.)`);
    expect(first).toContain(`- #5: ${NOTE}`);
    expect(fs.readFileSync(path.join(dir, '.autoresearch', TAG, 'journal.md'), 'utf8')).toContain(NOTE);
  } finally {
    await api.close();
  }
}

describe('the research memory through a whole night (the built command, a fake API, a stand-in trainer)', () => {
  it('30 experiments with the Messages API: every experiment and the note in the last first message, the duplicate of #3 refused and never trained', async () => {
    await night('anthropic', 30);
  }, 300_000); // a limit for a hang: 88 s at a load of 10 on 2 cores

  it('9 experiments with --provider openai: the note, the refusal naming #3, one row per experiment', async () => {
    await night('openai', 9);
  }, 180_000);
});

/** The state file of experiment n that a killed command left (.autoresearch/<tag>/inflight/NNNN.json), or null. */
function stateOf(dir: string, n: number): { phase: string; commit?: string | null; notes?: string } | null {
  const file = path.join(dir, '.autoresearch', TAG, 'inflight', `${String(n).padStart(4, '0')}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { phase: string; commit?: string | null; notes?: string }) : null;
}

/** Wait, polling, until `ready` holds: a file the trainer writes, not a guess at how long it takes. */
async function until(what: string, ready: () => boolean, exited: Promise<unknown>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (!ready()) {
    if (gone) throw new Error(`the command exited before ${what}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Kill -9 and resume, with the same command both times (--max-experiments 3). The first command
 * measures experiments 1 (kept) and 2 (discarded, with the note); `killAt` picks the moment in
 * experiment 3 when it dies. The resumed command's first experiment first submits code identical
 * to experiment 2's (from the same best, experiment 1). Returns what the checks need.
 */
async function killAndResume(killAt: 'drafting' | 'training') {
  const dir = drillWorkspace('autoresearch-memory-kill-', TRAINER, dirs);
  let cli: ReturnType<typeof startCli> | null = null;
  let killed = false;
  let resumedAt: number | null = null;
  let requestsBeforeKill = 0;
  const before = researcher((n) => (n === 2 ? { notes: NOTE } : n === 3 ? { hold: true, notes: HELD_NOTE } : {}));
  const after = researcher((n) => (n === resumedAt ? { duplicateOf: 2 } : {}));
  const api = await startFakeApi((body, call) => {
    const n = experimentOf(body);
    if (!killed && killAt === 'drafting' && n === 3) {
      // The model is drafting experiment 3 (its request is in): the command dies before any answer.
      killed = true;
      requestsBeforeKill = call;
      cli!.child.kill('SIGKILL');
      return fault({ kind: 'stall' });
    }
    if (!killed) return before(body);
    resumedAt ??= n;
    return after(body);
  });
  try {
    cli = startCli('anthropic', api, dir, 3);
    if (killAt === 'training') {
      // Experiment 3's run has started (it wrote its pid) and holds: kill the command now.
      await until('experiment 3 trained', () => fs.existsSync(pidFile(dir, 'holding')), cli.exited, cli.output);
      expect(stateOf(dir, 3)).toMatchObject({ phase: 'training', notes: HELD_NOTE });
      killed = true;
      requestsBeforeKill = api.requests.length;
      cli.child.kill('SIGKILL');
    }
    const first = cli;
    expect(await first.exited, first.output()).toBe('SIGKILL');
    // Mid-experiment: experiment 3 is in flight on disk, the rows of 0..2 are written.
    expect(stateOf(dir, 3), first.output()).not.toBeNull();
    expect(readRows(dir).map((r) => r['experiment'])).toEqual(['0', '1', '2']);
    const measuredBefore = readRows(dir);

    cli = startCli('anthropic', api, dir, 3);
    const code = await cli.exited;
    expect(code, `${first.output()}\n--- resumed:\n${cli.output()}`).toBe(0);
    const bodies = bodiesOf(api).slice(requestsBeforeKill + (killAt === 'drafting' ? 1 : 0));
    return { dir, rows: readRows(dir), measuredBefore, resumed: bodies, resumedAt: resumedAt!, output: cli.output() };
  } finally {
    // On a failed check: no command left running into the next test, and a held run ends now.
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.exited;
    }
    fs.writeFileSync(pidFile(dir, 'gate'), '');
    await api.close();
  }
}

/** What every resume must show: the note in its first message, and the code of experiment 2 refused naming it, never trained again. */
function checkResumed(r: Awaited<ReturnType<typeof killAndResume>>): void {
  const { dir, rows, measuredBefore, resumed, resumedAt, output } = r;
  // The resumed night's first message: the note of experiment 2, and every experiment measured before the kill.
  const opening = firstUserText(resumed[0]!);
  expect(experimentOf(resumed[0]!), output).toBe(resumedAt);
  expect(opening).toContain(`- #2: ${NOTE}`);
  for (const row of measuredBefore) expect(opening).toContain(`#${row['experiment']} ${row['commit']} ${row['status']} `);

  // Its first submission, identical to experiment 2's code, is refused naming experiment 2; the next one trains.
  const dup = resumed.filter((b) => experimentOf(b) === resumedAt);
  expect(dup.map(stepOf)).toEqual([0, 1, 2, 3]);
  expect(lastToolAnswers(dup[2]!)[0]!.text).toMatch(/^Error: not submitted\. The editable files are identical to experiment #2 \("add GAIN_2 = -0\.02"\): it was measured: discard/);
  expect(duplicatesOf(dir).map(({ experiment, of }) => ({ experiment, of }))).toEqual([{ experiment: resumedAt, of: 2 }]);
  const runs = runsOf(dir);
  expect(runs.filter((line) => line.endsWith(' GAIN_1,GAIN_2')), 'the code of experiment 2 trained again').toHaveLength(1);
  expect(new Set(runs.map((line) => line.split(' ')[0])).size).toBe(runs.length);

  // One row per experiment, the note still in experiment 2's row, and the resumed experiment measured with its own change.
  expect(new Set(rows.map((row) => row['experiment'])).size).toBe(rows.length);
  expect(rows.find((row) => row['experiment'] === '2')!['notes']).toBe(NOTE);
  expect(rows.find((row) => row['experiment'] === String(resumedAt))!['description']).toBe(description(resumedAt));
}

describe('the research memory across kill -9 and a resume with the same command', () => {
  it('killed while the model drafts: the resumed night shows the note and refuses the code of an experiment measured before the kill', async () => {
    const r = await killAndResume('drafting');
    checkResumed(r);
    // Experiment 3 had nothing committed: it left no row; the resumed command measured three experiments.
    expect(r.rows.map((row) => row['experiment'])).toEqual(['0', '1', '2', ...[0, 1, 2].map((i) => String(r.resumedAt + i))]);
  }, 180_000);

  it('killed while the experiment that wrote a note trains: its row keeps the note, the resumed night shows both notes and still refuses a measured code', async () => {
    const r = await killAndResume('training');
    checkResumed(r);
    const three = r.rows.find((row) => row['experiment'] === '3')!;
    expect([three['status'], three['verdict'], three['notes']]).toEqual(['crash', 'interrupted', HELD_NOTE]);
    expect(firstUserText(r.resumed[0]!)).toContain(`- #3: ${HELD_NOTE}`);
    // The held run was stopped by the resume, not left waiting for its gate.
    expect(running(Number(fs.readFileSync(pidFile(r.dir, 'holding'), 'utf8')))).toBe(false);
  }, 180_000);
});
