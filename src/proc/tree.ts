// Stopping a whole process tree. Children are started in their own process group (detached), so
// one signal to the group reaches the shell, uv, python and every worker they forked.

// Groups we started and have not yet seen gone: a forced exit (second Ctrl+C) kills them on the way out.
const liveGroups = new Set<number>();

export function trackGroup(pid: number): void {
  liveGroups.add(pid);
}

/** Synchronous, for process exit paths: SIGKILL every group we started that may still run. */
export function killTrackedGroupsNow(): void {
  for (const pid of liveGroups) killGroupNow(pid);
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

export function groupAlive(pid: number): boolean {
  return signalGroup(pid, 0);
}

/** SIGTERM the group, then SIGKILL whatever is left after `graceMs`. Resolves when the group is gone. */
export async function killTree(pid: number, graceMs = 3000): Promise<void> {
  if (signalGroup(pid, 'SIGTERM')) {
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && groupAlive(pid)) await new Promise((r) => setTimeout(r, 50));
    if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
    for (let i = 0; i < 40 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  }
  if (!groupAlive(pid)) liveGroups.delete(pid);
}
