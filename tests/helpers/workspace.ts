// A real git repository in a temp dir with a tiny stand-in trainer (python3, standard library)
// that prints the real summary block, and an agent that edits train.py directly: enough to drive
// the real loop end to end without a GPU or a model.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Agent, AgentActivity, ExperimentContext, Proposal } from '../../src/engine/types.js';
import { ZERO_USAGE } from '../../src/engine/types.js';

/** Modes of the stand-in trainer, chosen by a constant in train.py like any hyperparameter. */
export type TrainMode = 'ok' | 'crash' | 'nan' | 'oom' | 'hang' | 'nometric' | 'orphan';

/**
 * Where a stand-in trainer leaves a file for the test to read: runs happen in a worktree under
 * .autoresearch/ (removed afterwards), and a sandboxed run may write only there and in /tmp. So the
 * file goes to /tmp, named after the repository (the part of the run's directory before
 * /.autoresearch/), where pidFile() finds it.
 */
export const PID_FILE_PY = (name: string) =>
  `os.path.join(tempfile.gettempdir(), "ar-" + hashlib.sha1(os.path.realpath(os.getcwd().split("/.autoresearch/")[0]).encode()).hexdigest()[:12] + "-${name}")`;

/** The file PID_FILE_PY(name) names, for the repository at `dir`. */
export function pidFile(dir: string, name: string): string {
  return path.join(os.tmpdir(), `ar-${createHash('sha1').update(fs.realpathSync(dir)).digest('hex').slice(0, 12)}-${name}`);
}

export const STAND_IN_TRAINER = (value: number, mode: TrainMode = 'ok', sleep = 0) => `# stand-in trainer: prints the summary block train.py prints
import hashlib, os, subprocess, sys, tempfile, time
VALUE = ${value}
MODE = "${mode}"
SLEEP = ${sleep}

print("step 00001 | loss 3.2100", flush=True)
if MODE == "hang":
    time.sleep(1000)
if MODE == "orphan":
    child = subprocess.Popen(["sleep", "1000"])
    open(${PID_FILE_PY('orphan.pid')}, "w").write(f"{child.pid} {os.readlink('/proc/self/ns/pid')} {os.environ.get('AUTORESEARCH_RUN', '')}")
    time.sleep(1000)
if SLEEP:
    time.sleep(SLEEP)
if MODE == "crash":
    raise RuntimeError("boom")
if MODE == "oom":
    print("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", file=sys.stderr)
    sys.exit(1)
if MODE == "nan":
    print("loss is nan, stopping", flush=True)
    sys.exit(1)
print("---")
if MODE != "nometric":
    print(f"val_bpb:          {VALUE:.6f}")
print("training_seconds: 0.1")
print("peak_vram_mb:     45060.2")
print("env_key_seen:     " + ("yes" if any(k.startswith("ANTHROPIC") for k in os.environ) else "no"))
`;

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

/** `parent`: where the repository goes (a test's home directory, say); the system's temp dir by default. */
export function makeWorkspace(opts: { value?: number; mode?: TrainMode; parent?: string } = {}): string {
  const dir = fs.mkdtempSync(path.join(opts.parent ?? os.tmpdir(), 'autoresearch-test-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test');
  git(dir, 'config', 'user.email', 'test@example.com');
  fs.writeFileSync(path.join(dir, 'program.md'), '# protocol\nMake one change to train.py.\n');
  fs.writeFileSync(path.join(dir, 'prepare.py'), '# fixed evaluation\n');
  fs.writeFileSync(path.join(dir, 'train.py'), STAND_IN_TRAINER(opts.value ?? 1.0, opts.mode ?? 'ok'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

export interface Edit {
  value: number;
  mode?: TrainMode;
  sleep?: number;
  description: string;
}

/** An agent that rewrites train.py from a list of planned edits; fix attempts take the next edit too. */
export class PlannedAgent implements Agent {
  readonly name = 'planned-test-agent';
  readonly contexts: ExperimentContext[] = [];
  constructor(private readonly plan: Edit[], private readonly beforeEdit?: (ctx: ExperimentContext) => void) {}

  async propose(ctx: ExperimentContext, _signal: AbortSignal, onActivity: (a: AgentActivity) => void): Promise<Proposal> {
    this.contexts.push(ctx);
    this.beforeEdit?.(ctx);
    const edit = this.plan.shift();
    if (!edit) return { kind: 'skipped', reason: 'plan exhausted', usage: ZERO_USAGE };
    onActivity({ kind: 'text', text: `trying ${edit.description}` });
    fs.writeFileSync(path.join(ctx.repoDir, 'train.py'), STAND_IN_TRAINER(edit.value, edit.mode ?? 'ok', edit.sleep ?? 0));
    return { kind: 'submitted', description: edit.description, usage: { ...ZERO_USAGE, inputTokens: 100, outputTokens: 10, costUsd: 0.01 } };
  }
}

/** Whether the process can still run: a zombie (killed, not yet reaped by init) counts as gone. */
export function pidAlive(pid: number | null): boolean {
  return pid !== null && running(pid);
}

/** Alive and not a zombie (a dead child not yet reaped by whoever inherited it). */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state is the field after the parenthesised command name, which may itself hold spaces.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone while we looked
  }
}

/**
 * The pid, as seen from here, of a process that a run recorded as "<pid> <pid namespace>" (python:
 * f"{pid} {os.readlink('/proc/self/ns/pid')}"), or null once no such process exists. In the sandbox
 * a run sees its own PID namespace's numbers; the NSpid line of /proc/<pid>/status maps them to ours.
 * A record without a namespace is a pid of ours. A third field, the run's AUTORESEARCH_RUN marker, tells
 * that run apart from a later one whose namespace got the same number.
 */
export function hostPid(record: string): number | null {
  const [pidText, ns, runId] = record.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!ns) return pid;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      const nspid = /^NSpid:\s+(.*)$/m.exec(fs.readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]?.trim().split(/\s+/);
      if (!nspid || Number(nspid.at(-1)) !== pid) continue;
      // A dead namespace's number is given to a new one: with the run's marker, make sure it is the same run.
      if (runId && !fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`AUTORESEARCH_RUN=${runId}`)) continue;
      return Number(entry);
    } catch {
      // gone while we looked
    }
  }
  return null;
}