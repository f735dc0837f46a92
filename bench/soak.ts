// Soak: a weekend of experiments (500 by default) in one process, with an instant agent and an
// instant trainer (`cat train.py`, where train.py is just the summary block), so all that runs is
// the program itself. Every 50 experiments it samples resident memory and open file descriptors;
// at the end it checks that they stayed flat after warm-up, that results.tsv holds exactly one row
// per experiment (plus the baseline), and that the branch holds exactly the kept commits.
//
//   npm run bench:soak                                  # plain log lines to a fake terminal
//   npm run bench:soak -- --ui dashboard                # the Ink dashboard on a fake 80x40 terminal
//   npm run bench:soak -- --agent claude                # the real ClaudeAgent against the fake Messages API
//   options: --experiments 500 --every 50 --reference 100 --keep (leave the repo for inspection)
//
// Exit code 1 when a check fails. Node runs with --expose-gc (see the npm script) so each sample
// is taken after a full collection: what remains is what the program holds on to, not garbage
// that happens not to be collected yet. The npm script sets NODE_ENV=production, as src/cli.ts
// does; run node directly without it to see React's development build leak (docs/benchmarks.md).

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ClaudeAgent } from '../src/agent/claude/agent.js';
import { DEFAULT_MODEL } from '../src/agent/claude/model.js';
import { runLoop } from '../src/engine/loop.js';
import type { Agent, EngineEvent, ResultRow } from '../src/engine/types.js';
import { startFakeApi, turn, useTool, type FakeApi, type MessagesRequest } from '../src/fakeapi/index.js';
import { readResultsFile, rowsOfTag } from '../src/ledger/results.js';
import { attachUi, git, InstantAgent, loopConfig, machineLine, median, mib, openFds, plannedValue, summary, workspace, type UiMode } from './harness.js';

const { values } = parseArgs({
  options: {
    experiments: { type: 'string', default: '500' },
    every: { type: 'string', default: '50' },
    reference: { type: 'string', default: '100' },
    ui: { type: 'string', default: 'plain' },
    agent: { type: 'string', default: 'instant' },
    keep: { type: 'boolean', default: false },
  },
});
const EXPERIMENTS = Number(values.experiments);
const EVERY = Number(values.every);
// The first experiments warm up the JIT, git's object store, Ink's first frames and the heap's
// generations; growth is judged from this sample on.
const REFERENCE = Number(values.reference);
const UI = values.ui as UiMode;
const AGENT = values.agent;
const TAG = 'soak';
const LIMIT = 0.1; // growth under 10%
if (!['none', 'plain', 'dashboard'].includes(UI)) throw new Error('--ui is none, plain or dashboard');
if (!['instant', 'claude'].includes(AGENT)) throw new Error('--agent is instant or claude');
if (REFERENCE % EVERY !== 0 || REFERENCE >= EXPERIMENTS) throw new Error('--reference must be a multiple of --every below --experiments');

const gc = (globalThis as { gc?: () => void }).gc;

interface Sample {
  experiment: number;
  seconds: number;
  rssMiB: number;
  heapMiB: number;
  fds: number;
  inputTokens: number | null; // what the model read in this experiment (claude agent only)
}

/** Child processes of ours still running (each experiment's trainer and git calls must be gone). */
function childProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

/**
 * The "overnight" shape: the real ClaudeAgent over HTTP, against a fake Messages API whose
 * scripted model makes one str_replace of the summary line and then submits.
 */
async function claudeAgent(dir: string): Promise<{ agent: Agent; api: FakeApi }> {
  let i = 0;
  const api = await startFakeApi((body: MessagesRequest) => {
    if (body.messages.length > 1) return turn(useTool('submit_experiment', { description: `scripted change ${i}` }));
    i++;
    const current = /^val_bpb:.*$/m.exec(fs.readFileSync(path.join(dir, 'train.py'), 'utf8'))?.[0] ?? 'val_bpb:';
    const next = /^val_bpb:.*$/m.exec(summary(plannedValue(i)))![0];
    return turn(useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: current, new_str: next }));
  });
  return { agent: new ClaudeAgent({ apiKey: 'sk-ant-soak-not-a-real-key', baseURL: api.url, model: DEFAULT_MODEL }), api };
}

const { dir, initial } = workspace('soak');
const { ui, bytes } = attachUi(UI);
const fake = AGENT === 'claude' ? await claudeAgent(dir) : null;
const agent = fake?.agent ?? new InstantAgent();

const samples: Sample[] = [];
const perExperimentMs: number[] = [];
const t0 = performance.now();
let last = t0;
const onEvent = (e: EngineEvent): void => {
  ui.onEvent(e);
  if (e.type !== 'result') return;
  const now = performance.now();
  if (e.experiment > 0) perExperimentMs.push(now - last);
  last = now;
  if (e.experiment % EVERY !== 0) return;
  gc?.();
  const mem = process.memoryUsage();
  const u = e.row.usage;
  samples.push({
    experiment: e.experiment,
    seconds: (now - t0) / 1000,
    rssMiB: mib(mem.rss),
    heapMiB: mib(mem.heapUsed),
    fds: openFds(),
    inputTokens: fake ? u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens : null,
  });
  // The fake server records every request for tests; that is its memory, not the program's.
  if (fake) fake.api.requests.length = 0;
};

const result = await runLoop(loopConfig(dir, TAG, { maxExperiments: EXPERIMENTS }), agent, { onEvent, signal: new AbortController().signal });
await ui.close();
await fake?.api.close();
const wallSec = (performance.now() - t0) / 1000;

// ---------- the table ----------

console.log(`Soak: ${EXPERIMENTS} experiments in one process, agent ${AGENT}, UI ${UI}, trainer \`cat train.py\``);
console.log(`Machine: ${machineLine()}`);
// React's development build (NODE_ENV unset) keeps a performance.measure entry per render; production does not.
console.log(`NODE_ENV=${process.env['NODE_ENV'] ?? '(unset)'}`);
console.log(`Samples after a forced GC: ${gc ? 'yes' : 'no (run node with --expose-gc)'}; reference sample: experiment ${REFERENCE}`);
console.log('');
const tokensCol = fake !== null;
console.log(`| experiment | elapsed s | RSS MiB | heap used MiB | open fds |${tokensCol ? ' input tokens of that experiment |' : ''}`);
console.log(`|-----------:|----------:|--------:|--------------:|---------:|${tokensCol ? '--------------------------------:|' : ''}`);
for (const s of samples) {
  const ref = s.experiment === REFERENCE ? ' (ref)' : '';
  console.log(
    `| ${`${s.experiment}${ref}`.padStart(10)} | ${s.seconds.toFixed(1).padStart(9)} | ${s.rssMiB.toFixed(1).padStart(7)} | ${s.heapMiB.toFixed(1).padStart(13)} | ${String(s.fds).padStart(8)} |${tokensCol ? ` ${String(s.inputTokens).padStart(31)} |` : ''}`,
  );
}
console.log('');

// ---------- the checks ----------

const checks: Array<{ ok: boolean; text: string }> = [];
const check = (ok: boolean, text: string) => checks.push({ ok, text });

check(result.exitCode === 0, `the loop ended normally (exit ${result.exitCode}: ${result.reason})`);

const ref = samples.find((s) => s.experiment === REFERENCE);
const after = samples.filter((s) => s.experiment > REFERENCE);
if (!ref || after.length === 0) {
  check(false, `samples at and after experiment ${REFERENCE} exist`);
} else {
  const growth = (pick: (s: Sample) => number) => Math.max(...after.map(pick)) / pick(ref) - 1;
  const final = samples.at(-1)!;
  const rssGrowth = growth((s) => s.rssMiB);
  const heapGrowth = growth((s) => s.heapMiB);
  const fdGrowth = growth((s) => s.fds);
  check(rssGrowth < LIMIT, `RSS: highest later sample ${(100 * rssGrowth).toFixed(1)}% over experiment ${REFERENCE}'s ${ref.rssMiB.toFixed(1)} MiB (final ${final.rssMiB.toFixed(1)} MiB); limit ${LIMIT * 100}%`);
  check(heapGrowth < LIMIT, `heap used: highest later sample ${(100 * heapGrowth).toFixed(1)}% over experiment ${REFERENCE}'s ${ref.heapMiB.toFixed(1)} MiB; limit ${LIMIT * 100}%`);
  check(fdGrowth < LIMIT, `open fds: highest later sample ${(100 * fdGrowth).toFixed(1)}% over experiment ${REFERENCE}'s ${ref.fds}; limit ${LIMIT * 100}%`);
  if (tokensCol) {
    const tokens = samples.filter((s) => s.experiment >= EVERY).map((s) => s.inputTokens ?? 0);
    const spread = Math.max(...tokens) / Math.min(...tokens) - 1;
    check(spread < LIMIT, `prompt: input tokens per experiment between ${Math.min(...tokens)} and ${Math.max(...tokens)} from experiment ${EVERY} on (spread ${(100 * spread).toFixed(1)}%)`);
  }
}

const file = path.join(dir, 'results.tsv');
const rows: ResultRow[] = rowsOfTag(readResultsFile(file).rows, TAG);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
check(rows.length === EXPERIMENTS + 1, `results.tsv: ${rows.length} rows for tag ${TAG} (expected ${EXPERIMENTS + 1}: the baseline and ${EXPERIMENTS} experiments)`);
check(lines.length === rows.length + 1, `results.tsv: ${lines.length} lines = header + ${rows.length} parsed rows (no torn or unparsable line)`);
check(new Set(rows.map((r) => r.commit)).size === rows.length, `results.tsv: ${new Set(rows.map((r) => r.commit)).size} distinct commits (no duplicate row)`);

const keeps = rows.slice(1).filter((r) => r.status === 'keep');
const onBranch = git(dir, 'rev-list', '--reverse', `${initial}..autoresearch/${TAG}`).split('\n').filter(Boolean);
check(onBranch.length === keeps.length, `branch: ${onBranch.length} commits after the initial one = ${keeps.length} keep rows after the baseline`);
check(
  onBranch.every((c, i) => c.slice(0, 7) === keeps[i]?.commit),
  'branch: its commits are the keep rows, in order',
);
check(git(dir, 'rev-parse', '--short=7', 'HEAD') === (keeps.at(-1)?.commit ?? initial.slice(0, 7)), 'HEAD is the last kept commit');
check(git(dir, 'status', '--porcelain', '--untracked-files=no') === '', 'the working tree is clean');
const discardedRefs = git(dir, 'for-each-ref', '--format=%(refname)', `refs/autoresearch/${TAG}/discarded/`).split('\n').filter(Boolean).length;
const notKept = rows.slice(1).filter((r) => r.status !== 'keep').length;
check(discardedRefs === notKept, `refs: ${discardedRefs} discarded refs = ${notKept} discard/crash rows`);
const children = childProcesses();
check(children.length === 0, `child processes left running: ${children.length}${children.length ? ` (${children.join(' ')})` : ''}`);

for (const c of checks) console.log(`${c.ok ? 'PASS' : 'FAIL'}  ${c.text}`);
console.log('');
console.log(
  `Wall time ${wallSec.toFixed(1)} s; median ${median(perExperimentMs).toFixed(1)} ms per experiment (p90 ${[...perExperimentMs].sort((a, b) => a - b)[Math.floor(perExperimentMs.length * 0.9)]?.toFixed(1)} ms); ${(bytes() / 1024).toFixed(0)} KiB written to the fake terminal.`,
);
if (values.keep) console.log(`Repository kept at ${dir}`);
else fs.rmSync(dir, { recursive: true, force: true });
process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
