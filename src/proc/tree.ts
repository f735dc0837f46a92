// Stopping a whole process tree. Children are started in their own process group (detached), so
// one signal to the group reaches the shell, uv, python and every worker they forked. A process
// that leaves the group (setsid, start_new_session=True) is found another way: the run's
// environment carries a marker, AUTORESEARCH_RUN=<run id>, which every descendant inherits unless
// it clears its environment on purpose, and /proc/<pid>/environ shows it.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

export const RUN_MARKER = 'AUTORESEARCH_RUN';
/** How long to wait, after SIGKILL, for a tree to be gone before going on without it. */
const KILL_PATIENCE_MS = 10_000;

/** Unique per run: a marker shared by two runs would let one kill the other's processes. */
export function newRunId(): string {
  return `${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`;
}

// Groups we started and have not yet seen gone, with their run's marker: a forced exit (second
// Ctrl+C) kills them on the way out.
const liveGroups = new Map<number, string | undefined>();

export function trackGroup(pid: number, runId?: string): void {
  liveGroups.set(pid, runId);
}

/** Synchronous, for process exit paths: SIGKILL every group we started that may still run. */
export function killTrackedGroupsNow(): void {
  for (const [pid, runId] of liveGroups) {
    if (runId !== undefined) for (const p of markedPids(runId)) signalPid(p, 'SIGKILL');
    killGroupNow(pid);
  }
}

/** SIGKILL a process group at once, without waiting; a group that is already gone is fine. */
export function killGroupNow(pid: number | undefined): void {
  if (pid === undefined) return;
  signalGroup(pid, 'SIGKILL');
  liveGroups.delete(pid);
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function groupAlive(pid: number): boolean {
  return signalGroup(pid, 0);
}

/**
 * Live processes whose environment carries the marker of run `runId`. Empty where there is no
 * /proc. A zombie shows an empty environment, so only processes that can still run are listed.
 */
export function markedPids(runId: string): number[] {
  const wanted = `${RUN_MARKER}=${runId}`;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(wanted)) found.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * SIGTERM the group (and every process carrying the run's marker, when given), then SIGKILL
 * whatever is left after `graceMs`. Resolves when they are gone.
 */
export async function killTree(pid: number, graceMs = 3000, runId?: string): Promise<void> {
  const strays = (): number[] => (runId === undefined ? [] : markedPids(runId));
  const signalAll = (signal: NodeJS.Signals): boolean => {
    let any = signalGroup(pid, signal);
    for (const p of strays()) any = signalPid(p, signal) || any;
    return any;
  };
  const alive = (): boolean => groupAlive(pid) || strays().length > 0;
  if (signalAll('SIGTERM')) {
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && alive()) await new Promise((r) => setTimeout(r, 50));
    if (alive()) signalAll('SIGKILL');
    // A killed process still has to be scheduled to die; on a loaded machine that takes a while.
    const killDeadline = Date.now() + KILL_PATIENCE_MS;
    while (Date.now() < killDeadline && alive()) await new Promise((r) => setTimeout(r, 25));
  }
  // Forgotten only when nothing of it is left: a run whose group is gone may still have strays (a
  // process in a session of its own), and a forced exit must still find them by the marker.
  if (!alive()) liveGroups.delete(pid);
}
