// Flags of the main command, parsed and validated as a pure function: a bad flag is reported
// before anything on disk is touched.

import { parseArgs } from 'node:util';
import { ENGINE_DEFAULTS } from '../engine/config.js';
import { tagProblem } from '../engine/preflight.js';
import type { Direction, SandboxMode } from '../engine/types.js';
import { splitShellWords } from '../exec/slurmjob.js';

export interface RunArgs {
  tag: string;
  maxExperiments: number | null;
  maxHours: number | null;
  maxCostUsd: number | null;
  runCmd: string;
  timeoutSec: number;
  metric: string;
  direction: Direction;
  editable: string[];
  fixAttempts: number;
  program: string;
  tui: boolean | null; // null: decide from whether stdout is a terminal
  model: string | null;
  maxTurns: number;
  apiPatienceSec: number;
  provider: Provider;
  baseUrl: string | null; // --base-url; null: the provider's environment variable or default
  priceIn: number | null; // USD per million input tokens (--provider openai)
  priceOut: number | null; // USD per million output tokens (--provider openai)
  sandbox: SandboxMode;
  trainNetwork: boolean;
  gpus: string[] | 'all' | null; // --gpus; 'all' is resolved from nvidia-smi -L at start; null: one slot
  lookahead: number;
  baselineRuns: number;
  confirmRuns: number;
  plateau: number; // experiments without a keep before the prompt shows near misses; 0: never
  executor: 'local' | 'slurm';
  jobs: number; // --executor slurm: jobs in flight at once
  slurmArgs: string[]; // --slurm-args, split as a shell would
}

export type Provider = 'anthropic' | 'openai';

export const DEFAULTS = {
  runCmd: ENGINE_DEFAULTS.runCmd,
  timeoutSec: ENGINE_DEFAULTS.timeoutSec,
  metric: ENGINE_DEFAULTS.metric,
  direction: ENGINE_DEFAULTS.direction as Direction,
  editable: [...ENGINE_DEFAULTS.editable],
  fixAttempts: ENGINE_DEFAULTS.fixAttempts,
  program: ENGINE_DEFAULTS.programPath,
  maxTurns: 30,
  apiPatienceSec: 3600,
  lookahead: ENGINE_DEFAULTS.lookahead,
  baselineRuns: ENGINE_DEFAULTS.baselineRuns,
  confirmRuns: ENGINE_DEFAULTS.confirmRuns,
  plateau: ENGINE_DEFAULTS.plateau,
  jobs: 1,
};

/** More runs of one experiment than this is a typo, not a plan (and seeds are numbered per experiment). */
const MAX_RUNS = 20;

export const RUN_HELP = `autoresearch — an autonomous research loop that runs all night on your GPU.

Usage:
  autoresearch --tag <tag> [options]     run (or resume) the loop on branch autoresearch/<tag>
  autoresearch results [--tag T] [--json] [--plot FILE] [--html FILE]
                                         summarise results.tsv; --html: the morning report, one
                                         self-contained page (see: autoresearch results --help)
  autoresearch demo [--dir D]            watch the whole loop work: toy trainer, scripted model,
                                         no GPU and no API key needed
  autoresearch init [DIR]                write program.md, train.py, prepare.py ... into DIR

Each experiment: the model (Claude by default) makes one change to the editable files → the
program commits it → runs the training command → takes the metric from prepare.py's verdict (or
run.log) → keeps the commit if it beat the best beyond the noise, otherwise resets the branch (the
idea stays under refs/autoresearch/<tag>/discarded/) → appends a row to results.tsv. While one experiment trains, the next is drafted (--lookahead); with --gpus,
every GPU trains one. Stop with q (no new experiment starts; those in flight finish) or Ctrl+C
(now); run the same command again to resume.

Options:
  --tag <tag>              name of this line of research; branch autoresearch/<tag> (required)
                           (letters, digits, '.', '_', '-'; at most 100 characters)
  --max-experiments <n>    stop after n experiments in this invocation (baseline not counted)
  --max-hours <h>          stop starting new experiments after h hours (e.g. 8 or 0.5)
  --max-cost <usd>         stop once this invocation has spent this many US dollars on the API
  --run-cmd <cmd>          training command, run from the repository root  [${DEFAULTS.runCmd}]
  --timeout <s>            a run taking longer is killed, with its whole process tree, and
                           logged as a crash  [${DEFAULTS.timeoutSec}]
  --metric <name>          value read from the log as "<name>: <number>" or "<name>=<number>"
                           (the last one wins)  [${DEFAULTS.metric}]
  --direction <min|max>    whether lower or higher is better  [${DEFAULTS.direction}]
  --editable <a,b>         files the model may change; anything else is put back  [${DEFAULTS.editable.join(',')}]
  --fix-attempts <n>       times the model may fix a crashed run within the same experiment  [${DEFAULTS.fixAttempts}]
  --gpus <ids|all>         one training slot per GPU, e.g. --gpus 0,1,2,3 or --gpus all (from
                           nvidia-smi -L); each run sees only its GPU (CUDA_VISIBLE_DEVICES).
                           The baseline's runs train at once, one per GPU; a candidate's
                           confirmation runs also take GPUs that are idle at that moment.
                           Without it: one slot, CUDA_VISIBLE_DEVICES left as it is
  --lookahead <n>          experiments the model drafts ahead per slot while it trains, so the
                           GPU never waits for the model; 0: each proposal sees the previous
                           result (strictly one at a time)  [${DEFAULTS.lookahead}]
  --baseline-runs <k>      times the unmodified code is trained (new seeds): the best's mean and
                           the first estimate of the run-to-run noise  [${DEFAULTS.baselineRuns}]
  --confirm-runs <n>       more runs (new seeds) a candidate may get: up to 1+n in all. A first
                           run no better than the best's mean is discarded; a better one is
                           run again, never kept alone. At its k-th run of K = 1+n it is kept
                           when its mean beats the best's mean by more than 0.7·√(K/k)
                           standard errors (a t value on the pooled σ; with K = 4: 0.99, 0.81,
                           0.7 at runs 2, 3, 4); from run 2 on, better by less than 0.5 is
                           discarded; short of the bound at run K, discarded as within noise.
                           --baseline-runs 1 --confirm-runs 0 is the classic single-run,
                           strictly-better rule  [${DEFAULTS.confirmRuns}]
  --plateau <n>            after n experiments in a row without a keep, each new prompt says so
                           and lists the near misses worth another look (discarded within the
                           noise, or better than an older best but never tried on the new one),
                           with the ref to read each diff; 0: never  [${DEFAULTS.plateau}]
  --executor <local|slurm>  where runs train: on this machine, or as SLURM batch jobs submitted
                           from here (a login node); the repository must then be on a filesystem
                           the compute nodes share  [local]
  --jobs <n>               --executor slurm: jobs in flight at once  [1]
  --slurm-args "<args>"    --executor slurm: sbatch options for every job, e.g.
                           "--partition=gpu --gres=gpu:1 --time=00:20:00" (nothing else is asked
                           for: no GPU unless you ask for one)
  --program <file>         research protocol given to the model as its instructions  [${DEFAULTS.program}]
  --model <id>             model id (also AUTORESEARCH_MODEL); Claude's default: claude-sonnet-5-5;
                           required with --provider openai
  --provider <name>        anthropic (Claude, the default) or openai (any OpenAI-compatible
                           endpoint: vLLM, Ollama, OpenRouter, OpenAI)  [anthropic]
  --base-url <url>         API endpoint, e.g. http://localhost:11434/v1 for Ollama (also
                           OPENAI_BASE_URL / ANTHROPIC_BASE_URL)
  --price-in <usd>         --provider openai: USD per million input tokens, for --max-cost and
                           the cost column (known OpenAI models are priced from a built-in table;
                           a localhost endpoint costs $0)
  --price-out <usd>        --provider openai: USD per million output tokens
  --max-turns <n>          tool calls allowed per experiment before it is skipped  [${DEFAULTS.maxTurns}]
  --api-patience <dur>     how long to keep retrying an unreachable/overloaded API before
                           stopping (resumable), e.g. 3600, 90m, 1h  [1h]
  --sandbox <auto|on|off>  run the model's shell and the training run in a bubblewrap sandbox
                           (Linux): auto uses it where it works and says so where it does not,
                           on refuses to start without it  [auto]
  --no-train-network       cut the sandboxed training run off the network too (uv run may
                           need it to sync the environment)
  --no-tui                 plain timestamped lines instead of the dashboard (automatic when
                           stdout is not a terminal, e.g. under nohup)
  -h, --help               show this help
  -v, --version            show the version

Environment:
  ANTHROPIC_API_KEY        required for real runs with Claude (never passed to training or to the
                           model's shell; neither is OPENAI_API_KEY)
  ANTHROPIC_BASE_URL       API endpoint (optional)
  OPENAI_API_KEY           required with --provider openai; a local server that needs no key
                           (Ollama, vLLM) works with any placeholder, e.g. OPENAI_API_KEY=none
  OPENAI_BASE_URL          endpoint for --provider openai  [https://api.openai.com/v1]
  AUTORESEARCH_MODEL       default for --model

Files (in the repository root): results.tsv (one row per experiment, git-ignored), run.log (the
latest run), .autoresearch/<tag>/ (per-experiment logs, transcripts, state).

Exit codes: 0 finished, 1 stopped on an error (resumable), 2 bad usage (nothing changed),
130/143 interrupted by Ctrl+C / SIGTERM (resumable).`;

export type ParseResult = { kind: 'run'; args: RunArgs } | { kind: 'help' } | { kind: 'version' } | { kind: 'error'; message: string };

/** Flags that take a number: a negative value after them is their value, not an option. */
const NUMERIC_FLAGS: ReadonlySet<string> = new Set(['--max-experiments', '--max-hours', '--max-cost', '--timeout', '--fix-attempts', '--max-turns', '--api-patience', '--lookahead', '--baseline-runs', '--confirm-runs', '--plateau', '--jobs', '--price-in', '--price-out', '--gpus']);

/**
 * `--timeout -5` → `--timeout=-5`. parseArgs reads `-5` as an option and reports the flag as
 * "ambiguous"; joined, the value reaches our validation, which says what values are allowed.
 */
export function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    // --slurm-args takes sbatch options, which start with a dash: its next word is always its value.
    // A --tag that starts with a dash reaches the tag rules, which say what a tag may be.
    const dashedTag = arg === '--tag' && next !== undefined && /^-[^-]/.test(next);
    if ((NUMERIC_FLAGS.has(arg) && next !== undefined && /^-[\d.$]/.test(next)) || (arg === '--slurm-args' && next !== undefined) || dashedTag) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function wholeNumber(name: string, raw: string, min: 0 | 1, what = ''): number | string {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min) return `${name} must be a whole number${what}, ${min} or more, got "${raw}"`;
  return n;
}

function runsWithin(name: string, raw: string, min: 0 | 1): number | string {
  const n = wholeNumber(name, raw, min, ' of runs');
  return typeof n === 'number' && n > MAX_RUNS ? `${name} must be at most ${MAX_RUNS} runs, got "${raw}"` : n;
}

/** `raw` as the user typed it, for the message; `value` what is parsed (`$3` → `3`). */
function positiveNumber(name: string, raw: string, what: string, value = raw): number | string {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) return `${name} must be a positive ${what}, got "${raw}"`;
  return n;
}

/** "3600", "90s", "90m", "1h", "1.5h" → seconds. */
export function parseDuration(raw: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(raw.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const seconds = unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : n;
  return seconds > 0 ? seconds : null;
}

export function parseRunArgs(argv: string[]): ParseResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      strict: true,
      options: {
        tag: { type: 'string' },
        'max-experiments': { type: 'string' },
        'max-hours': { type: 'string' },
        'max-cost': { type: 'string' },
        'run-cmd': { type: 'string' },
        timeout: { type: 'string' },
        metric: { type: 'string' },
        direction: { type: 'string' },
        editable: { type: 'string' },
        'fix-attempts': { type: 'string' },
        program: { type: 'string' },
        model: { type: 'string' },
        'max-turns': { type: 'string' },
        'api-patience': { type: 'string' },
        provider: { type: 'string' },
        'base-url': { type: 'string' },
        'price-in': { type: 'string' },
        'price-out': { type: 'string' },
        sandbox: { type: 'string' },
        'no-train-network': { type: 'boolean' },
        gpus: { type: 'string' },
        lookahead: { type: 'string' },
        'baseline-runs': { type: 'string' },
        'confirm-runs': { type: 'string' },
        plateau: { type: 'string' },
        executor: { type: 'string' },
        jobs: { type: 'string' },
        'slurm-args': { type: 'string' },
        tui: { type: 'boolean' },
        'no-tui': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    return { kind: 'error', message: `${(err as Error).message}. See autoresearch --help.` };
  }
  const v = parsed.values;
  if (v.help) return { kind: 'help' };
  if (v.version) return { kind: 'version' };
  if (parsed.positionals.length > 0) {
    return { kind: 'error', message: `Unexpected argument "${parsed.positionals[0]}". Commands are results, demo and init; the loop itself needs --tag. See autoresearch --help.` };
  }
  if (!v.tag) return { kind: 'error', message: 'Missing --tag. Name this line of research, e.g. autoresearch --tag rope-scaling (it becomes branch autoresearch/rope-scaling).' };
  const badTag = tagProblem(v.tag);
  if (badTag !== null) return { kind: 'error', message: badTag };

  const errors: string[] = [];
  const num = <T>(value: T | string): T | null => {
    if (typeof value === 'string') {
      errors.push(value);
      return null;
    }
    return value;
  };

  const maxExperiments = v['max-experiments'] === undefined ? null : num(wholeNumber('--max-experiments', v['max-experiments'], 0, ' of experiments'));
  const maxHours = v['max-hours'] === undefined ? null : num(positiveNumber('--max-hours', v['max-hours'], 'number of hours (e.g. 8 or 0.5)'));
  const rawCost = v['max-cost'];
  const maxCostUsd = rawCost === undefined ? null : num(positiveNumber('--max-cost', rawCost, 'amount of US dollars (e.g. 5 or 0.50)', rawCost.replace(/^\$/, '')));
  const timeoutSec = v.timeout === undefined ? DEFAULTS.timeoutSec : num(positiveNumber('--timeout', v.timeout, 'number of seconds'));
  const fixAttempts = v['fix-attempts'] === undefined ? DEFAULTS.fixAttempts : num(wholeNumber('--fix-attempts', v['fix-attempts'], 0));
  const maxTurns = v['max-turns'] === undefined ? DEFAULTS.maxTurns : num(wholeNumber('--max-turns', v['max-turns'], 1));
  const lookahead = v.lookahead === undefined ? DEFAULTS.lookahead : num(wholeNumber('--lookahead', v.lookahead, 0, ' of experiments'));
  const baselineRuns = v['baseline-runs'] === undefined ? DEFAULTS.baselineRuns : num(runsWithin('--baseline-runs', v['baseline-runs'], 1));
  const confirmRuns = v['confirm-runs'] === undefined ? DEFAULTS.confirmRuns : num(runsWithin('--confirm-runs', v['confirm-runs'], 0));
  const plateau = v.plateau === undefined ? DEFAULTS.plateau : num(wholeNumber('--plateau', v.plateau, 0, ' of experiments'));
  const parsedGpus = v.gpus === undefined ? null : parseGpus(v.gpus);
  const gpus = parsedGpus === 'all' || parsedGpus === null ? parsedGpus : num(parsedGpus);
  const executor = v.executor ?? 'local';
  if (executor !== 'local' && executor !== 'slurm') errors.push(`--executor must be local or slurm, got "${executor}"`);
  const jobs = v.jobs === undefined ? DEFAULTS.jobs : num(wholeNumber('--jobs', v.jobs, 1, ' of jobs'));
  let slurmArgs: string[] = [];
  if (v['slurm-args'] !== undefined) {
    const words = splitShellWords(v['slurm-args']);
    if ('error' in words) errors.push(`--slurm-args: ${words.error} in "${v['slurm-args']}"`);
    else slurmArgs = words;
  }
  if (executor !== 'slurm') {
    if (v.jobs !== undefined) errors.push('--jobs applies to --executor slurm; on this machine, give one slot per GPU with --gpus');
    if (v['slurm-args'] !== undefined) errors.push('--slurm-args applies to --executor slurm');
  } else {
    if (v.gpus !== undefined) errors.push('--gpus does not go with --executor slurm: SLURM assigns the GPUs; ask for them in --slurm-args (e.g. --gres=gpu:1) and set the number of jobs with --jobs');
    if (v['no-train-network']) errors.push('--no-train-network needs the sandbox, and SLURM jobs are not sandboxed (the cluster isolates them)');
  }
  let apiPatienceSec = DEFAULTS.apiPatienceSec;
  if (v['api-patience'] !== undefined) {
    const d = parseDuration(v['api-patience']);
    if (d === null) errors.push(`--api-patience must be a positive duration like 3600, 90m or 1h, got "${v['api-patience']}"`);
    else apiPatienceSec = d;
  }
  const direction = v.direction ?? DEFAULTS.direction;
  if (direction !== 'min' && direction !== 'max') errors.push(`--direction must be min or max, got "${direction}"`);
  const metric = v.metric ?? DEFAULTS.metric;
  if (!/^[A-Za-z_][\w.-]*$/.test(metric)) errors.push(`--metric must be a name like val_bpb, got "${metric}"`);
  const editable = (v.editable ?? DEFAULTS.editable.join(','))
    .split(',')
    .map((s) => s.trim().replace(/^\.\//, ''))
    .filter(Boolean);
  if (editable.length === 0) errors.push('--editable needs at least one file');
  for (const file of editable) {
    if (file.startsWith('/') || file.split('/').includes('..')) errors.push(`--editable paths must be inside the repository, got "${file}"`);
  }
  const runCmd = v['run-cmd'] ?? DEFAULTS.runCmd;
  if (runCmd.trim() === '') errors.push('--run-cmd must not be empty');
  const sandbox = v.sandbox ?? 'auto';
  if (sandbox !== 'auto' && sandbox !== 'on' && sandbox !== 'off') errors.push(`--sandbox must be auto, on or off, got "${sandbox}"`);
  if (v['no-train-network'] && sandbox === 'off') errors.push('--no-train-network needs the sandbox: it cannot cut the network with --sandbox off');
  if (v.tui && v['no-tui']) errors.push('--tui and --no-tui contradict each other');

  const provider = v.provider ?? 'anthropic';
  if (provider !== 'anthropic' && provider !== 'openai') errors.push(`--provider must be anthropic or openai, got "${provider}"`);
  const baseUrl = v['base-url'] ?? null;
  if (baseUrl !== null && !/^https?:\/\/[^\s/]+/i.test(baseUrl)) errors.push(`--base-url must be an http(s) URL such as http://localhost:11434/v1, got "${baseUrl}"`);
  const price = (name: string, raw: string | undefined): number | null => {
    if (raw === undefined) return null;
    const n = Number(raw.replace(/^\$/, ''));
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0) {
      errors.push(`${name} must be a price in US dollars per million tokens (0 or more), got "${raw}"`);
      return null;
    }
    return n;
  };
  const priceIn = price('--price-in', v['price-in']);
  const priceOut = price('--price-out', v['price-out']);
  if ((v['price-in'] === undefined) !== (v['price-out'] === undefined)) errors.push('--price-in and --price-out go together: give both (USD per million input and output tokens)');
  if (provider === 'anthropic' && (v['price-in'] !== undefined || v['price-out'] !== undefined)) {
    errors.push("--price-in/--price-out apply to --provider openai; Claude's prices come from the built-in table");
  }

  if (errors.length > 0) return { kind: 'error', message: `${errors.join('\n')}\nSee autoresearch --help.` };
  return {
    kind: 'run',
    args: {
      tag: v.tag,
      maxExperiments,
      maxHours,
      maxCostUsd,
      runCmd,
      timeoutSec: timeoutSec ?? DEFAULTS.timeoutSec,
      metric,
      direction: direction as Direction,
      editable,
      fixAttempts: fixAttempts ?? DEFAULTS.fixAttempts,
      program: v.program ?? DEFAULTS.program,
      tui: v['no-tui'] ? false : v.tui ? true : null,
      model: v.model ?? null,
      maxTurns: maxTurns ?? DEFAULTS.maxTurns,
      apiPatienceSec,
      provider: provider as Provider,
      baseUrl,
      priceIn,
      priceOut,
      sandbox: sandbox as SandboxMode,
      trainNetwork: !v['no-train-network'],
      gpus,
      lookahead: lookahead ?? DEFAULTS.lookahead,
      baselineRuns: baselineRuns ?? DEFAULTS.baselineRuns,
      confirmRuns: confirmRuns ?? DEFAULTS.confirmRuns,
      plateau: plateau ?? DEFAULTS.plateau,
      executor: executor as 'local' | 'slurm',
      jobs: jobs ?? DEFAULTS.jobs,
      slurmArgs,
    },
  };
}

/** `--gpus 0,1,2` → ['0', '1', '2'] (ids or GPU UUIDs, as CUDA_VISIBLE_DEVICES takes them); 'all'; or what is wrong. */
export function parseGpus(raw: string): string[] | 'all' | string {
  if (raw.trim().toLowerCase() === 'all') return 'all';
  const ids = raw.split(',').map((s) => s.trim());
  const bad = ids.find((id) => !/^(\d+|(GPU|MIG)-[A-Za-z0-9/-]+)$/.test(id));
  if (ids.length === 0 || bad !== undefined) return `--gpus takes GPU numbers separated by commas (e.g. 0,1,2,3), GPU UUIDs, or all; got "${raw}"`;
  if (new Set(ids).size !== ids.length) return `--gpus names a GPU twice: "${raw}" (one training slot per GPU)`;
  return ids;
}
