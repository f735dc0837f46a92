// `autoresearch --tag <tag>`: wire the engine to the agent of --provider (Claude by default, or an
// OpenAI-compatible endpoint) and the dashboard, and turn signals into the engine's stop requests.

import { ClaudeAgent } from '../agent/claude/agent.js';
import { checkApiKey, resolveModel } from '../agent/claude/model.js';
import { OpenAiAgent } from '../agent/openai/agent.js';
import { checkOpenAiKey, MISSING_MODEL, resolveBaseUrl, resolveOpenAiModel } from '../agent/openai/model.js';
import { resolveOpenAiPrice } from '../agent/openai/pricing.js';
import { makeEngineConfig } from '../engine/config.js';
import { listGpus } from '../exec/gpus.js';
import { SlurmExecutor } from '../exec/slurm.js';
import type { Executor } from '../exec/types.js';
import { runLoop, UsageError } from '../engine/loop.js';
import type { Agent, EngineConfig } from '../engine/types.js';
import { decideSandbox } from '../proc/sandbox.js';
import { freeBytes } from '../proc/training.js';
import { LocalExecutor } from '../exec/local.js';
import { startUi } from '../ui/index.js';
import type { RunArgs } from './args.js';

export interface Io {
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** `gpus`: the slots' GPUs, `--gpus all` already resolved (see gpusOf). */
export function engineConfig(args: RunArgs, cwd: string, gpus: string[] | null = Array.isArray(args.gpus) ? args.gpus : null): EngineConfig {
  return makeEngineConfig(cwd, args.tag, {
    metric: args.metric,
    direction: args.direction,
    editable: args.editable,
    runCmd: args.runCmd,
    timeoutSec: args.timeoutSec,
    fixAttempts: args.fixAttempts,
    programPath: args.program,
    maxExperiments: args.maxExperiments,
    maxHours: args.maxHours,
    maxCostUsd: args.maxCostUsd,
    sandbox: args.sandbox,
    trainNetwork: args.trainNetwork,
    gpus,
    lookahead: args.lookahead,
    baselineRuns: args.baselineRuns,
    confirmRuns: args.confirmRuns,
    plateau: args.plateau,
    executor: args.executor,
    jobs: args.executor === 'slurm' ? args.jobs : 1,
  });
}

/** The executor --executor names; undefined: the engine's own local one (sandboxed as --sandbox says). */
export function executorOf(args: RunArgs, env: NodeJS.ProcessEnv): Executor | undefined {
  return args.executor === 'slurm' ? new SlurmExecutor({ args: args.slurmArgs, env }) : undefined;
}

/** The GPUs --gpus names, `all` read from nvidia-smi; or the message (exit 2) saying why they cannot be. */
export function gpusOf(args: RunArgs, env: NodeJS.ProcessEnv): string[] | null | { error: string } {
  if (args.gpus !== 'all') return args.gpus;
  const listed = listGpus(env);
  if ('problem' in listed) return { error: `--gpus all: ${listed.problem}. Name the GPUs instead, e.g. --gpus 0,1 (the numbers nvidia-smi shows).` };
  return listed;
}

/** Stops the local runs on a forced exit when no executor was given (the engine then uses a local one). */
const LOCAL = new LocalExecutor();

/**
 * Run the loop with any agent, a UI and signal handling: the first Ctrl+C / SIGTERM stops the
 * experiment in flight (logged, tree reset, resumable); a second one exits at once.
 */
export async function runWithUi(config: EngineConfig, agent: Agent, io: Io, opts: { tui: boolean | null; banner?: string }, executor?: Executor): Promise<number> {
  // Said once, before the dashboard takes the screen; --sandbox on without a sandbox is refused by the engine (exit 2).
  const sandboxNotice = decideSandbox(config.sandbox ?? 'auto').notice;
  // SLURM jobs are the cluster's to isolate: what is left unisolated here is the model's shell.
  const notice = sandboxNotice && config.executor === 'slurm' ? sandboxNotice.replace(/^runs are not isolated/, "the model's shell is not isolated (SLURM isolates the training jobs)") : sandboxNotice;
  if (notice) io.stderr.write(`autoresearch: ${notice}\n`);
  const controller = new AbortController();
  let gracefulReason: string | null = null;
  const ui = startUi({
    tui: opts.tui ?? Boolean(io.stdout.isTTY),
    stdout: io.stdout,
    stdin: process.stdin,
    onGracefulStop: () => {
      gracefulReason = 'q pressed: stopped after the experiment in flight';
    },
    ...(opts.banner ? { banner: opts.banner } : {}),
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      controller.abort(signal);
      return;
    }
    // Second signal: the user means it. Nothing is lost: the next start recovers from inflight.json.
    (executor ?? LOCAL).stopAllNow();
    io.stderr.write(`\nautoresearch: forced exit. Run the same command again to recover and resume.\n`);
    process.exit(signal === 'SIGTERM' ? 143 : 130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runLoop(config, agent, {
      onEvent: (e) => ui.onEvent(e),
      signal: controller.signal,
      gracefulStop: () => gracefulReason,
      env: io.env,
    }, executor);
    await ui.close();
    return result.exitCode;
  } catch (err) {
    await ui.close();
    if (err instanceof UsageError) {
      io.stderr.write(`autoresearch: ${err.message}\n`);
      return 2;
    }
    const free = freeBytes(config.repoDir);
    const diskFull = free !== null && free < 1024 * 1024 && !/disk is full/i.test((err as Error).message);
    io.stderr.write(
      `autoresearch: ${(err as Error).message}\n` +
        (diskFull ? `The disk is full (${Math.round(free / 1024)} KB free): free some space first.\n` : '') +
        `Run the same command again to resume; nothing recorded so far is lost.\n`,
    );
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The --provider openai agent, or the message (exit 2) that says what is missing. Nothing is touched before it. */
export function openAiAgent(args: RunArgs, env: NodeJS.ProcessEnv): { agent: OpenAiAgent; warning: string | null } | { error: string } {
  const keyProblem = checkOpenAiKey(env);
  if (keyProblem) return { error: keyProblem };
  const model = resolveOpenAiModel(args.model ?? undefined, env);
  if (model === null) return { error: MISSING_MODEL };
  const baseURL = resolveBaseUrl(args.baseUrl, env);
  const { price, source } = resolveOpenAiPrice(model, baseURL, { priceIn: args.priceIn, priceOut: args.priceOut });
  const unpriced = `no price is known for model "${model}" at ${baseURL}`;
  if (source === 'unknown' && args.maxCostUsd !== null) {
    return { error: `--max-cost needs a price, and ${unpriced}. Give --price-in and --price-out (US dollars per million input and output tokens). Nothing was changed in the repository.` };
  }
  const agent = new OpenAiAgent({ apiKey: env['OPENAI_API_KEY'], baseURL, model, price, maxTurns: args.maxTurns, apiPatienceMs: args.apiPatienceSec * 1000 });
  const warning = source === 'unknown' ? `${unpriced}, so costs show as $0; pass --price-in and --price-out to count them.` : null;
  return { agent, warning };
}

export async function runCommand(args: RunArgs, io: Io): Promise<number> {
  const gpus = gpusOf(args, io.env);
  if (gpus !== null && 'error' in gpus) {
    io.stderr.write(`autoresearch: ${gpus.error}\n`);
    return 2;
  }
  if (args.provider === 'openai') {
    const made = openAiAgent(args, io.env);
    if ('error' in made) {
      io.stderr.write(`autoresearch: ${made.error}\n`);
      return 2;
    }
    if (made.warning) io.stderr.write(`autoresearch: ${made.warning}\n`);
    return runWithUi(engineConfig(args, io.cwd, gpus), made.agent, io, { tui: args.tui }, executorOf(args, io.env));
  }
  const keyProblem = checkApiKey(io.env);
  if (keyProblem) {
    io.stderr.write(`autoresearch: ${keyProblem}\n`);
    return 2;
  }
  const agent = new ClaudeAgent({
    model: resolveModel(args.model ?? undefined, io.env),
    maxTurns: args.maxTurns,
    apiPatienceMs: args.apiPatienceSec * 1000,
    ...(args.baseUrl !== null ? { baseURL: args.baseUrl } : {}),
  });
  return runWithUi(engineConfig(args, io.cwd, gpus), agent, io, { tui: args.tui }, executorOf(args, io.env));
}
