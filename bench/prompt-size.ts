// Input tokens per experiment: this agent (one short, fresh conversation per experiment, bounded
// prompt, cached system prompt and tools) against a naive design that keeps one growing
// conversation for the whole night. Both run the same scripted model against the fake Messages
// API: each experiment views train.py, makes one str_replace, and submits.
//
// Token estimator (the fake server's, src/fakeapi/wire.ts): every part of a request (each tool,
// each system block, each content block of each message) counts ceil(JSON characters / 4), with
// cache_control left out; "input tokens" below = uncached + cache-read + cache-write tokens, i.e.
// everything the model reads. Cost uses the price table of the default model.
//
// "Ours" runs the real ClaudeAgent through HTTP for every experiment. "Naive" executes the same
// tool calls, but its requests (megabytes each by experiment 500) are counted in-process with the
// same estimator, incrementally; the first experiments are also sent over HTTP and must agree. The
// naive design runs only as far as the comparison's last checkpoint (500).
//
// The research memory: the first message lists every experiment of the tag, one bounded line each
// (the oldest folded past 300), the notes and a plateau's near misses, so it grows with the night.
// A second table follows it to experiment 1,000: per experiment, the input tokens split as the fake
// server's prompt cache splits them (uncached, cache read, cache write), the cost as charged and
// the cost had nothing been cached (every input token at the base price), each the mean over the
// 50 experiments ending at the checkpoint (a new settled block of the history is written to the
// cache once every 50 experiments, so one experiment alone is not typical).
//
// The history the agent is given is synthetic and on the heavy side of a real night: a baseline
// row, then 1 experiment in 15 kept, 1 in 13 crashed, 1 in 3 a discard within the noise (a near
// miss, with 3 runs), the rest "not better"; every description 150 characters (the line shows 110);
// notes of 300 characters or more on every other row; with --plateau 10.
//
//   npm run bench:build && node dist-bench/bench/prompt-size.js [--experiments 1000]

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { ClaudeAgent } from '../src/agent/claude/agent.js';
import { DEFAULT_MODEL } from '../src/agent/claude/model.js';
import { costOfCall } from '../src/agent/claude/pricing.js';
import { buildPromptParts, buildUserPrompt } from '../src/agent/shared/prompt.js';
import { historyLine } from '../src/engine/history.js';
import { toolDefinitions } from '../src/agent/claude/tools.js';
import { ToolRunner } from '../src/agent/shared/tools.js';
import { ZERO_USAGE, type ExperimentContext, type ResultRow } from '../src/engine/types.js';
import { firstUserText, say, startFakeApi, turn, useTool, type AssistantTurn, type MessagesRequest } from '../src/fakeapi/index.js';
import { estimateTokens, toWireBlocks } from '../src/fakeapi/wire.js';

const { values } = parseArgs({ options: { experiments: { type: 'string', default: '1000' }, validate: { type: 'string', default: '10' } } });
const EXPERIMENTS = Number(values.experiments);
const VALIDATE = Number(values.validate);
const CHECKPOINTS = [10, 100, 500].filter((n) => n <= EXPERIMENTS);
/** The naive design runs as far as the comparison needs: past 500 its requests exceed any context window anyway. */
const NAIVE_EXPERIMENTS = Math.min(EXPERIMENTS, CHECKPOINTS.at(-1) ?? EXPERIMENTS);
/** Where the research memory's table reads: each the mean of the SPAN experiments ending there. */
const MEMORY_CHECKPOINTS = [50, 300, 1000].filter((n) => n <= EXPERIMENTS);
const SPAN = 50;
const KEY = 'sk-ant-bench-not-a-real-key';
const MARKER = '# bench marker';

// ---------- the workspace: the real train.py and program.md when present, stand-ins otherwise ----------

function readOr(file: string, fallback: () => string): { text: string; source: string } {
  try {
    return { text: fs.readFileSync(file, 'utf8'), source: path.relative(process.cwd(), file) };
  } catch {
    return { text: fallback(), source: 'synthetic' };
  }
}

const root = process.cwd();
const trainPy = readOr(path.join(root, 'train.py'), () =>
  Array.from({ length: 600 }, (_, i) => `    x_${i} = layer_${i % 12}(x_${Math.max(0, i - 1)}) * 0.5  # a line of a GPT training script`).join('\n'),
);
const programMd = readOr(path.join(root, 'program.md'), () => 'You are an autonomous ML researcher. '.repeat(250));

function workspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-bench-prompt-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'bench');
  git('config', 'user.email', 'bench@localhost');
  fs.writeFileSync(path.join(dir, 'train.py'), `${trainPy.text.trimEnd()}\n${MARKER} 0\n`);
  fs.writeFileSync(path.join(dir, 'program.md'), programMd.text);
  fs.writeFileSync(path.join(dir, '.gitignore'), '.autoresearch/\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

// ---------- the scripted model, the same for both designs ----------

/** Step `step` of experiment `n`: view train.py, change the marker line, submit. */
function reply(n: number, step: number): AssistantTurn {
  if (step === 0) return turn(say('Let me read the training script first.'), useTool('str_replace_based_edit_tool', { command: 'view', path: 'train.py' }));
  if (step === 1) return turn(say(`Trying idea ${n}.`), useTool('str_replace_based_edit_tool', { command: 'str_replace', path: 'train.py', old_str: `${MARKER} 0`, new_str: `${MARKER} ${n}` }));
  return turn(say('Submitting.'), useTool('submit_experiment', { description: `idea ${n}: adjust the schedule slightly` }));
}

const NOTE = 'Warmup longer than 5% of the budget hurts at this depth; the gain of the last keep came from the embedding LR, not the schedule, so try the schedule again on top of it. ';

/** Row `n` of the synthetic night (0: the baseline), as the loop writes it: see the header for the mix. */
function rowFor(n: number): ResultRow {
  const status = n === 0 || n % 15 === 0 ? 'keep' : n % 13 === 0 ? 'crash' : 'discard';
  const within = status === 'discard' && n % 3 === 0;
  const value = status === 'crash' ? 0 : 0.99 - n * 1e-5;
  const runs = status === 'keep' || within ? [value + 0.0031, value - 0.0027, value - 0.0004] : undefined;
  const verdict =
    n === 0
      ? undefined
      : status === 'keep'
        ? 'better by 0.004210, noise allows 0.003120 (σ 0.005012, 85 degrees of freedom)'
        : status === 'crash'
          ? 'CUDA out of memory'
          : within
            ? 'within noise: better by 0.001210, noise allows 0.003120 (σ 0.005012, 85 degrees of freedom)'
            : 'not better';
  return {
    commit: (0x2000000 + n).toString(16).slice(0, 7),
    value,
    memoryGb: status === 'crash' ? 0 : 44,
    status,
    description: n === 0 ? 'baseline' : `idea ${n}: adjust the schedule slightly (and a longer justification of why that could help, with the numbers it rests on, ${n})`.padEnd(150, '.'),
    tag: 'bench',
    startedAt: new Date(1_750_000_000_000 + n * 400_000).toISOString(),
    seconds: 330,
    usage: ZERO_USAGE,
    experiment: n,
    ...(n > 0 ? { base: (0x2000000 + n - 1).toString(16).slice(0, 7) } : {}),
    ...(runs ? { values: runs } : {}),
    ...(verdict ? { verdict } : {}),
    files: ['train.py'],
    code: (0x10000000000 + n).toString(16),
    ...(n > 0 && n % 2 === 0 ? { notes: `#${n}: ${NOTE}${NOTE}` } : {}),
  };
}

function contextFor(dir: string, n: number, history: ResultRow[]): ExperimentContext {
  const best = history.filter((r) => r.status === 'keep').at(-1);
  return {
    repoDir: dir,
    tag: 'bench',
    experiment: n,
    metric: 'val_bpb',
    direction: 'min',
    editable: ['train.py'],
    programText: programMd.text,
    standing: { baseline: { commit: 'abc1234', value: 0.9979 }, best: best ? { commit: best.commit, value: best.value, description: best.description } : { commit: 'abc1234', value: 0.9979, description: 'baseline' } },
    history,
    plateau: 10,
  };
}

interface Measure {
  inputTokens: number; // uncached + cache read + cache write
  cacheReadTokens: number;
  costUsd: number;
  firstMessageChars: number;
}

/** What the research memory's table needs of one experiment of ours, beyond Measure. */
interface MemoryMeasure extends Measure {
  uncachedTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  costNoCacheUsd: number; // the same requests with nothing cached: every input token at the base price
  firstMessageTokens: number; // the estimator on the two text blocks of the first message
  firstCachedTokens: number; // of which the block with its own breakpoint (rules and settled history)
}

// ---------- ours: the real ClaudeAgent, over HTTP ----------

async function runOurs(): Promise<Map<number, MemoryMeasure>> {
  const dir = workspace();
  const api = await startFakeApi((body: MessagesRequest) => {
    const messages = body.messages as Array<{ role: string; content: unknown }>;
    const n = Number(/Experiment (\d+)/.exec(firstUserText(body))?.[1]);
    return reply(n, messages.filter((m) => m.role === 'assistant').length);
  });
  const agent = new ClaudeAgent({ apiKey: KEY, baseURL: api.url, model: DEFAULT_MODEL });
  const out = new Map<number, MemoryMeasure>();
  const history: ResultRow[] = [rowFor(0)];
  try {
    for (let n = 1; n <= EXPERIMENTS; n++) {
      const ctx = contextFor(dir, n, [...history]);
      const p = await agent.propose(ctx, new AbortController().signal, () => {});
      if (p.kind !== 'submitted') throw new Error(`experiment ${n} was skipped: ${p.reason}`);
      execFileSync('git', ['checkout', '-q', '--', 'train.py'], { cwd: dir }); // discarded: back to the best
      history.push(rowFor(n));
      const parts = buildPromptParts(ctx, { maxTurns: 30 });
      const input = p.usage.inputTokens + p.usage.cacheReadTokens + p.usage.cacheWriteTokens;
      out.set(n, {
        inputTokens: input,
        cacheReadTokens: p.usage.cacheReadTokens,
        costUsd: p.usage.costUsd,
        firstMessageChars: buildUserPrompt(ctx, { maxTurns: 30 }).length,
        uncachedTokens: p.usage.inputTokens,
        cacheWriteTokens: p.usage.cacheWriteTokens,
        outputTokens: p.usage.outputTokens,
        costNoCacheUsd: costOfCall(DEFAULT_MODEL, { inputTokens: input, outputTokens: p.usage.outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 }),
        firstMessageTokens: estimateTokens({ type: 'text', text: parts.cached }) + estimateTokens({ type: 'text', text: parts.fresh }),
        firstCachedTokens: estimateTokens({ type: 'text', text: parts.cached }),
      });
    }
  } finally {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ---------- naive: one conversation for the whole night ----------

/**
 * The naive design: the first experiment gets the same first message; every later one is a short
 * user turn appended to the same conversation (the last submit's result plus "next experiment").
 * A cache breakpoint on the newest block (its best case): each call reads everything before.
 */
async function runNaive(): Promise<Map<number, Measure>> {
  const dir = workspace();
  const runner = new ToolRunner({ repoDir: dir, editable: ['train.py'], bashTimeoutMs: 120_000, redact: (t) => t });
  const tools = toolDefinitions();
  const system = [{ type: 'text' as const, text: programMd.text, cache_control: { type: 'ephemeral' as const } }];
  const prefixTokens = tools.reduce((s, t) => s + estimateTokens(t), 0) + system.reduce((s, b) => s + estimateTokens(b), 0);
  const messages: MessageParam[] = [];
  let conversationTokens = 0; // sum of the estimator over every content block so far
  let cachedUpTo = 0; // tokens up to the previous request's breakpoint
  let seenPrefix = false;
  const push = (m: MessageParam): void => {
    messages.push(m);
    conversationTokens += typeof m.content === 'string' ? estimateTokens(m.content) : m.content.reduce((s, b) => s + estimateTokens(b), 0);
  };

  // Validation: the same requests, sent to the fake server, must be counted the same.
  let current = { n: 1, step: 0 }; // what the local loop is about to send
  const api = await startFakeApi(() => reply(current.n, current.step));
  const client = new Anthropic({ apiKey: KEY, baseURL: api.url, maxRetries: 0, logLevel: 'off' });

  const out = new Map<number, Measure>();
  const history: ResultRow[] = [rowFor(0)];
  let lastSubmitId: string | null = null;
  let ids = 0;
  try {
    for (let n = 1; n <= NAIVE_EXPERIMENTS; n++) {
      const ctx = contextFor(dir, n, [...history]);
      const firstText = n === 1 ? buildUserPrompt(ctx, { maxTurns: 30 }) : `The last experiment was ${history.at(-1)!.status} (${history.at(-1)!.value.toFixed(6)}). Experiment ${n}: make exactly one change and call submit_experiment.`;
      if (lastSubmitId === null) push({ role: 'user', content: [{ type: 'text', text: firstText }] });
      else push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: lastSubmitId, content: 'Submitted.' }, { type: 'text', text: firstText }] });
      const m: Measure = { inputTokens: 0, cacheReadTokens: 0, costUsd: 0, firstMessageChars: firstText.length };
      for (let step = 0; step < 3; step++) {
        // Count this request as the fake server would.
        const total = prefixTokens + conversationTokens;
        const read = seenPrefix ? cachedUpTo : 0;
        const write = total - read;
        seenPrefix = true;
        cachedUpTo = total;
        const scripted = reply(n, step);
        const content = toWireBlocks(scripted.content, () => `toolu_naive_${++ids}`);
        const output = Math.max(1, Math.ceil(content.reduce((s, b) => s + (b.type === 'text' ? b.text.length : b.type === 'tool_use' ? JSON.stringify(b.input).length + b.name.length : 0), 0) / 4));
        if (n <= VALIDATE) {
          current = { n, step };
          const last = messages.at(-1)!;
          const withBreakpoint: MessageParam[] = [
            ...messages.slice(0, -1),
            { role: last.role, content: (last.content as unknown as Array<Record<string, unknown>>).map((b, i, all) => (i === all.length - 1 ? { ...b, cache_control: { type: 'ephemeral' } } : b)) as never },
          ];
          const res = await client.messages.create({ model: DEFAULT_MODEL, max_tokens: 1024, system, tools, messages: withBreakpoint });
          const served = res.usage.input_tokens + (res.usage.cache_read_input_tokens ?? 0) + (res.usage.cache_creation_input_tokens ?? 0);
          if (served !== total || (res.usage.cache_read_input_tokens ?? 0) !== read) {
            throw new Error(`naive count disagrees with the fake server at experiment ${n} step ${step}: local ${total}/${read}, server ${served}/${res.usage.cache_read_input_tokens}`);
          }
        }
        m.inputTokens += total;
        m.cacheReadTokens += read;
        m.costUsd += costOfCall(DEFAULT_MODEL, { inputTokens: 0, cacheReadTokens: read, cacheWriteTokens: write, outputTokens: output });
        const assistant = content.map((b) => (b.type === 'text' ? { type: 'text' as const, text: b.text } : b.type === 'tool_use' ? { type: 'tool_use' as const, id: b.id, name: b.name, input: b.input } : { type: 'thinking' as const, thinking: b.thinking, signature: b.signature }));
        push({ role: 'assistant', content: assistant });
        const use = content.find((b) => b.type === 'tool_use');
        if (!use || use.type !== 'tool_use') throw new Error('script without a tool call');
        if (use.name === 'submit_experiment') {
          lastSubmitId = use.id;
          break;
        }
        const run = await runner.run(use.name, use.input, new AbortController().signal);
        const result: ToolResultBlockParam = { type: 'tool_result', tool_use_id: use.id, content: run.text };
        push({ role: 'user', content: [result] });
      }
      execFileSync('git', ['checkout', '-q', '--', 'train.py'], { cwd: dir });
      history.push(rowFor(n));
      out.set(n, m);
    }
  } finally {
    await api.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// ---------- report ----------

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const t0 = Date.now();
const ours = await runOurs();
const tOurs = Date.now() - t0;
const naive = await runNaive();
const tNaive = Date.now() - t0 - tOurs;

console.log(`Input tokens per experiment — ours vs one growing conversation (${DEFAULT_MODEL} prices)`);
console.log(`train.py: ${trainPy.source} (${trainPy.text.length} chars), program.md: ${programMd.source} (${programMd.text.length} chars)`);
console.log('estimator: ceil(JSON chars / 4) per request part (fake server); input = uncached + cache read + cache write\n');
const header = ['experiment', 'ours: 1st msg chars', 'ours: input tok', 'ours: cache read', 'ours: $', 'naive: input tok', 'naive: $', 'naive/ours tok', 'naive/ours $'];
const rows = CHECKPOINTS.map((n) => {
  const o = ours.get(n)!;
  const v = naive.get(n)!;
  return [String(n), fmtInt(o.firstMessageChars), fmtInt(o.inputTokens), fmtInt(o.cacheReadTokens), o.costUsd.toFixed(4), fmtInt(v.inputTokens), v.costUsd.toFixed(4), `${(v.inputTokens / o.inputTokens).toFixed(1)}x`, `${(v.costUsd / o.costUsd).toFixed(1)}x`];
});
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));

const first = ours.get(CHECKPOINTS[0]!)!.inputTokens;
const lastN = CHECKPOINTS.at(-1)!;
const flat = ours.get(lastN)!.inputTokens / first;
const at100 = ours.has(100) ? naive.get(100)!.inputTokens / ours.get(100)!.inputTokens : NaN;
// The research memory lists every experiment, so "flat" is no longer the design (it was before
// the memory): printed for comparison with the earlier figures, not checked.
console.log(`\nours at ${lastN} / ours at ${CHECKPOINTS[0]}: ${flat.toFixed(2)} (the goal before the research memory was flat; now: bounded, below)`);
if (!Number.isNaN(at100)) console.log(`naive / ours at 100: ${at100.toFixed(1)}x fewer tokens (goal: >= 10x)`);
const naiveLast = naive.get(lastN)!.inputTokens / 3;
if (naiveLast > 1_000_000) console.log(`note: by experiment ${lastN} the naive conversation (~${fmtInt(naiveLast)} tokens per request) no longer fits a 1M-token context window`);
console.log(`naive counts validated against the fake server over HTTP for experiments 1-${Math.min(VALIDATE, EXPERIMENTS)}; run time ${(tOurs / 1000).toFixed(1)} s ours (${EXPERIMENTS} experiments), ${(tNaive / 1000).toFixed(1)} s naive (${NAIVE_EXPERIMENTS})`);

// ---------- the research memory: the first message and the cost per experiment to 1,000 ----------

const meanOf = (n: number, f: (m: MemoryMeasure) => number): number => {
  const span = Array.from({ length: Math.min(SPAN, n) }, (_, i) => ours.get(n - i)!);
  return span.reduce((a, m) => a + f(m), 0) / span.length;
};
// One experiment adds at most one history line: the longest a line can be, in tokens.
const longestLine = Math.max(...Array.from({ length: 60 }, (_, i) => historyLine(rowFor(i + 1), i + 1).length));
const lineTokens = Math.ceil(longestLine / 4);
console.log(`\nThe research memory: the first message and the cost per experiment (${DEFAULT_MODEL} prices; ClaudeAgent over HTTP; the mean of the ${SPAN} experiments ending at each)`);
const mHeader = ['experiment', '1st msg tok at n', 'of it cached block', 'input tok', 'uncached', 'cache read', 'cache write', '$ with cache', '$ nothing cached', 'cache saves'];
const mRows = MEMORY_CHECKPOINTS.map((n) => {
  const m = ours.get(n)!;
  const withCache = meanOf(n, (x) => x.costUsd);
  const without = meanOf(n, (x) => x.costNoCacheUsd);
  return [
    String(n),
    fmtInt(m.firstMessageTokens),
    fmtInt(m.firstCachedTokens),
    fmtInt(meanOf(n, (x) => x.inputTokens)),
    fmtInt(meanOf(n, (x) => x.uncachedTokens)),
    fmtInt(meanOf(n, (x) => x.cacheReadTokens)),
    fmtInt(meanOf(n, (x) => x.cacheWriteTokens)),
    withCache.toFixed(4),
    without.toFixed(4),
    `${(100 * (1 - withCache / without)).toFixed(0)}%`,
  ];
});
const mWidths = mHeader.map((h, i) => Math.max(h.length, ...mRows.map((r) => r[i]!.length)));
console.log(mHeader.map((c, i) => c.padStart(mWidths[i]!)).join('  '));
for (const r of mRows) console.log(r.map((c, i) => c.padStart(mWidths[i]!)).join('  '));
// Bounded: between two checkpoints the first message grows by at most one history line per experiment.
let bounded = true;
for (let i = 1; i < MEMORY_CHECKPOINTS.length; i++) {
  const [a, b] = [MEMORY_CHECKPOINTS[i - 1]!, MEMORY_CHECKPOINTS[i]!];
  const growth = (ours.get(b)!.firstMessageTokens - ours.get(a)!.firstMessageTokens) / (b - a);
  if (growth > lineTokens) bounded = false;
  console.log(`first message from experiment ${a} to ${b}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} tokens per experiment (goal: at most one history line, <= ${lineTokens} tokens)`);
}

fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'bench', 'out', 'prompt-size.json'),
  JSON.stringify(
    {
      model: DEFAULT_MODEL,
      checkpoints: CHECKPOINTS.map((n) => ({ experiment: n, ours: ours.get(n), naive: naive.get(n) })),
      memory: MEMORY_CHECKPOINTS.map((n) => ({ experiment: n, at: ours.get(n), span: SPAN })),
    },
    null,
    2,
  ),
);
const ok = bounded && (Number.isNaN(at100) || at100 >= 10);
process.exitCode = ok ? 0 : 1;
