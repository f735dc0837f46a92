// Shared vocabulary of the engine. The agent, the UI and the CLI depend on this file;
// it depends on nothing, so every layer can import it without pulling in git, processes or Ink.

export type Direction = 'min' | 'max';
export type SandboxMode = 'auto' | 'on' | 'off';
export type Status = 'keep' | 'discard' | 'crash';

/** Token counts and price of one experiment's conversation with the model. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export const ZERO_USAGE: Usage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  costUsd: 0,
};

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}

/** One row of results.tsv, as the program reads and writes it. */
export interface ResultRow {
  commit: string; // 7-character short hash
  value: number; // the metric; 0 for crashes
  memoryGb: number; // 0 for crashes
  status: Status;
  description: string;
  tag: string;
  startedAt: string; // ISO 8601
  seconds: number; // wall time of the whole experiment (agent + commit + run)
  usage: Usage;
  base?: string; // short hash of the commit the measured run was built on; absent for the baseline
  slot?: string; // the GPU (or slot) that trained it; empty when the run had the machine to itself
  values?: number[]; // each run's value when the code was trained more than once (value is their mean); a crash's measured runs before it
  runs?: number; // training runs, where more than `values` holds: a crash after measured runs counts the crashed one too
  experiment?: number; // the experiment's number in its tag (0 for the baseline); absent in rows written before it was recorded
  /** Why it was kept, discarded or crashed: the noise test's margin ("better by …, noise allows …"), "within noise: …", "not better", a crash reason. */
  verdict?: string;
  files?: string[]; // the editable files its change touched
  code?: string; // fingerprint of its editable files (engine/duplicates.ts): the same code is never trained twice
  notes?: string; // what the model learned, for later experiments (submit_experiment's `notes`)
}

/** The reference points of a tag: where it started and where it stands. */
export interface Standing {
  baseline: { commit: string; value: number } | null;
  best: { commit: string; value: number; description: string } | null;
}

/** Everything an agent is told for one experiment. The agent remembers nothing between calls. */
export interface ExperimentContext {
  repoDir: string; // where the agent works: the experiment's own worktree
  /** The main checkout, where the program keeps its state (.autoresearch/); repoDir when absent. */
  stateRoot?: string;
  tag: string;
  experiment: number; // 1-based number of this experiment within the tag (baseline is 0)
  metric: string;
  direction: Direction;
  editable: string[]; // repo-relative paths the agent may change
  programText: string; // the research protocol (program.md)
  standing: Standing;
  history: ResultRow[]; // every row of this tag so far, oldest first; the agent bounds what it sends
  /** Run the agent's shell commands in the sandbox (src/proc/sandbox.ts): the engine decides, from --sandbox. */
  sandbox?: boolean;
  /** The project's Python environment the runs use (UV_PROJECT_ENVIRONMENT: the main checkout's .venv), for the shell's checks too. */
  projectEnv?: string;
  /** Present when the previous attempt of this experiment crashed and the agent may fix it. */
  fix?: { attempt: number; reason: string; logTail: string; description: string };
  /** Present when this experiment's first draft no longer applies on a newer best and must be redone. */
  redo?: { description: string; newBest: string };
  /** Other experiments drafted or training right now: not to be proposed twice (`code`: their fingerprint, once committed). */
  inFlight?: { experiment: number; description: string; code?: string }[];
  /** Experiments in a row without a keep after which the prompt shows near misses (--plateau); 0 or absent: never. */
  plateau?: number;
  /** Where the full journal of the tag is, relative to repoDir (readable with the model's own tools). */
  journal?: string;
  /** The GPU this draft will train on, when there are several. */
  slot?: string;
}

/** What an agent hands back: a change left in the working tree, or the reason there is none. */
export type Proposal =
  | { kind: 'submitted'; description: string; usage: Usage; notes?: string }
  | { kind: 'skipped'; reason: string; usage: Usage };

/** Streamed activity of an agent, for the dashboard. */
export type AgentActivity =
  | { kind: 'text'; text: string } // a chunk of the model's words
  | { kind: 'tool'; name: string; summary: string } // a tool call being made
  | { kind: 'tool-result'; name: string; isError: boolean; summary: string }
  | { kind: 'retry'; attempt: number; waitMs: number; reason: string }
  /** A submission refused without training: its code is identical to experiment `of`'s. */
  | { kind: 'duplicate'; of: number; description: string }
  | { kind: 'usage'; usage: Usage }; // running total of the current experiment

/**
 * Anything that edits files in the repository: the Claude agent, a scripted demo model,
 * or a test double that writes train.py directly. It must leave its change in the working tree
 * and must not commit; the engine verifies and commits.
 */
export interface Agent {
  readonly name: string; // e.g. the model id, shown in the header
  propose(ctx: ExperimentContext, signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal>;
}

/**
 * An error after which the run must stop (resumably), such as an API outage longer than the
 * patience or a rejected API key. The engine ends the run cleanly with this message.
 */
export class FatalAgentError extends Error {
  override name = 'FatalAgentError';
}

export type Phase = 'starting' | 'baseline' | 'agent' | 'committing' | 'waiting' | 'rebasing' | 'training' | 'deciding' | 'stopping' | 'done';

export interface EngineConfig {
  repoDir: string;
  tag: string;
  metric: string;
  direction: Direction;
  editable: string[];
  runCmd: string;
  timeoutSec: number;
  fixAttempts: number;
  programPath: string;
  maxExperiments: number | null; // experiments after the baseline, this invocation
  maxHours: number | null;
  maxCostUsd: number | null;
  /** One training slot per GPU id (CUDA_VISIBLE_DEVICES of its runs); null: one slot, the environment's GPUs. */
  gpus: string[] | null;
  /** Experiments drafted ahead per slot while it trains; 0 is the strict sequence. */
  lookahead: number;
  /** Times the unmodified code is trained: the best's mean and the first estimate of the noise. */
  baselineRuns: number;
  /** Extra runs (new seeds) every candidate whose first run is better gets before it is kept (see schedule.ts's settle). */
  confirmRuns: number;
  sandbox?: SandboxMode; // the model's shell and the training run in bubblewrap; 'auto' when absent
  trainNetwork?: boolean; // whether the sandboxed training run may reach the network; true when absent
  /** Where runs train: this machine ('local', the default) or SLURM jobs ('slurm', see exec/slurm.ts). */
  executor?: 'local' | 'slurm';
  /** With a cluster executor: jobs in flight at once (one slot each, the GPU left to the cluster); 1 when absent. */
  jobs?: number;
  /** Experiments in a row without a keep after which the prompt shows near misses; 0 turns it off. */
  plateau?: number;
}

/**
 * Everything the engine tells the outside world. The UI is a pure function of these events. With
 * several GPUs, events of an experiment carry its `slot` (the GPU id); with one slot it is absent.
 */
export type EngineEvent =
  | { type: 'started'; at: number; tag: string; branch: string; agent: string; config: EngineConfig; resumed: boolean; rows: ResultRow[]; sandboxed?: boolean }
  | { type: 'recovered'; at: number; message: string }
  | { type: 'phase'; at: number; phase: Phase; experiment: number; detail?: string; slot?: string }
  | { type: 'agent'; at: number; experiment: number; activity: AgentActivity; slot?: string }
  | { type: 'committed'; at: number; experiment: number; commit: string; description: string; restored: string[]; slot?: string }
  | { type: 'skipped'; at: number; experiment: number; reason: string; slot?: string }
  | {
      type: 'training';
      at: number;
      experiment: number;
      elapsedSec: number; // since the run started; 0 while its job waits in a queue
      timeoutSec: number;
      logTail: string[];
      slot?: string;
      state?: 'pending' | 'running'; // a cluster job: waiting in the queue, or running
      reason?: string; // why a pending job waits, as the cluster says (Resources, Priority)
      jobId?: string; // the cluster's job id
    }
  | {
      type: 'result';
      at: number;
      experiment: number;
      row: ResultRow;
      standing: Standing;
      slot?: string;
      /** Why it was kept or not, against the noise: "better by 0.004, noise allows 0.003 (σ …)". */
      verdict?: string;
      /** The noise σ per run pooled so far, with its degrees of freedom and how many runs it comes from; absent while unknown. */
      noise?: { sigma: number; df: number; runs?: number };
    }
  | { type: 'stopping'; at: number; reason: string }
  | { type: 'finished'; at: number; reason: string; exitCode: number };
