// One run per repository: two loops resetting the same working tree would destroy each other's
// experiments. The lock holds the owner's pid so a lock left by a dead process can be taken over.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class LockError extends Error {
  override name = 'LockError';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

interface LockInfo {
  pid: number;
  host: string;
  tag: string;
  since: string;
}

export interface Lock {
  path: string;
  release(): void;
}

export function acquireLock(lockPath: string, tag: string): Lock {
  fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), tag, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(info) + '\n', { flag: 'wx' });
      return {
        path: lockPath,
        release: () => {
          try {
            const current = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockInfo;
            if (current.pid === process.pid) fs.unlinkSync(lockPath);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: LockInfo | null = null;
    try {
      holder = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockInfo;
    } catch {
      holder = null; // unreadable: torn by a crash while being written
    }
    if (holder && holder.host === os.hostname() && holder.pid !== process.pid && processAlive(holder.pid)) {
      throw new LockError(
        `Another autoresearch run (pid ${holder.pid}, tag "${holder.tag}", since ${holder.since}) is using this repository. ` +
          `Stop it first, or wait for it to finish. (Lock file: ${lockPath})`,
      );
    }
    // The holder is dead (or the lock is unreadable): take it over.
    fs.rmSync(lockPath, { force: true });
  }
  throw new LockError(`Could not take the lock ${lockPath}: another process keeps re-creating it.`);
}
