// git on PATH through a wrapper, for the race tests: every git call of this process whose
// arguments hold one word (`worktree`, `for-each-ref`) notes when it starts and ends, and while the
// gate is closed it waits at it, once started, before it runs. The order of events is then the
// test's to choose, not the machine's speed. Everything else goes straight to the real git.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface GitGate {
  /** Matching calls started from now on wait until open(). */
  close(): void;
  open(): void;
  /** "start <pid>" and "end <pid>" of every matching call so far, in order. */
  events(): string[];
  /** Matching calls whose process exists now (started, waiting or running). */
  inFlight(): number;
  /** PATH as it was, the wrapper removed (calls still waiting at the gate go on). */
  remove(): void;
}

export function gateGit(word: string): GitGate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-git-gate-'));
  const wrapper = path.join(dir, 'git');
  const open = path.join(dir, 'open');
  const log = path.join(dir, 'events');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      'case " $* " in',
      `  *" ${word} "*)`,
      `    echo "start $$" >> '${log}'`,
      `    while [ ! -e '${open}' ] && [ -d '${dir}' ]; do sleep 0.02; done`, // a removed gate lets everyone through
      `    '${real}' "$@"`,
      '    code=$?',
      `    echo "end $$" >> '${log}'`,
      '    exit $code ;;',
      'esac',
      `exec '${real}' "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  fs.writeFileSync(open, '');
  const before = process.env['PATH'];
  process.env['PATH'] = `${dir}:${before ?? ''}`;
  return {
    close: () => fs.rmSync(open, { force: true }),
    open: () => fs.writeFileSync(open, ''),
    events: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []),
    inFlight: () => {
      // A wrapper's shell forks (for `sleep`, for the real git): a child not yet exec'd shows the
      // same command line, so only the shells whose parent is not one of them count.
      const parents = new Map<string, string>();
      for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const args = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
          if (!args.includes(wrapper) || !args.includes(word)) continue;
          const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
          parents.set(entry, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!);
        } catch {
          // gone while we looked
        }
      }
      return [...parents.values()].filter((ppid) => !parents.has(ppid)).length;
    },
    remove: () => {
      if (before === undefined) delete process.env['PATH'];
      else process.env['PATH'] = before;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Until `check` holds: a barrier on what the processes did, with a deadline only to report a hang. */
export async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
