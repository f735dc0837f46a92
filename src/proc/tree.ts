// Stopping a whole process tree. Children are started in their own process group (detached), so
// one signal to the group reaches the shell, uv, python and every worker they forked.

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
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    if (!groupAlive(pid)) return;
  }
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 40 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
}
