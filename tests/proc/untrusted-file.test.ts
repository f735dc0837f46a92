// What the model's code can leave at the names the program reads and writes in a worktree (run.log,
// .autoresearch/verdict.json) — a symlink to a file of the user's, a FIFO, a hard link, a directory —
// is never followed, read through or written through. Real files, real FIFOs; and the guard's own
// writes when it puts a file back beyond a planted symlink.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreGitState, snapshotGitState } from '../../src/git/guard.js';
import { keepLog } from '../../src/ledger/logs.js';
import { readLogTail } from '../../src/proc/training.js';
import { appendRegular, openForWrite, readRegular, realDirectory } from '../../src/proc/untrusted-file.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A worktree-like directory and, outside it, a file of the user's the model would like to reach. */
function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-untrusted-'));
  temps.push(dir);
  fs.mkdirSync(path.join(dir, 'wt'));
  const secret = path.join(dir, 'bashrc');
  fs.writeFileSync(secret, 'export ANTHROPIC_API_KEY=sk-ant-from-bashrc\n');
  return { wt: path.join(dir, 'wt'), secret, log: path.join(dir, 'wt', 'run.log') };
}

const write = (fd: number, text: string) => {
  fs.writeSync(fd, text);
  fs.closeSync(fd);
};

describe('writing run.log', () => {
  it('a symlink at its name is replaced, its target untouched', () => {
    const { secret, log } = setup();
    fs.symlinkSync(secret, log);
    write(openForWrite(log), 'step 1\n');
    expect(fs.readFileSync(secret, 'utf8')).toContain('sk-ant-from-bashrc');
    expect(fs.lstatSync(log).isFile()).toBe(true);
    expect(fs.readFileSync(log, 'utf8')).toBe('step 1\n');
    appendRegular(log, 'note\n');
    expect(fs.readFileSync(log, 'utf8')).toBe('step 1\nnote\n');
  });

  it('a hard link to another file, a FIFO and a directory are replaced without blocking or writing through', () => {
    const { wt, log } = setup();
    const other = path.join(wt, 'train.py');
    fs.writeFileSync(other, 'VALUE = 1\n');
    fs.linkSync(other, log);
    write(openForWrite(log), 'a\n');
    expect(fs.readFileSync(other, 'utf8')).toBe('VALUE = 1\n');
    fs.rmSync(log);
    execFileSync('mkfifo', [log]);
    write(openForWrite(log), 'b\n'); // would block forever with fs.openSync(log, 'w')
    expect(fs.readFileSync(log, 'utf8')).toBe('b\n');
    fs.rmSync(log);
    fs.mkdirSync(path.join(log, 'sub'), { recursive: true });
    write(openForWrite(log), 'c\n');
    expect(fs.readFileSync(log, 'utf8')).toBe('c\n');
  });

  it('a regular file of its own is truncated in place (tail -f keeps following it)', () => {
    const { log } = setup();
    fs.writeFileSync(log, 'old run\n');
    const inode = fs.statSync(log).ino;
    write(openForWrite(log), 'new\n');
    expect(fs.statSync(log).ino).toBe(inode);
    expect(fs.readFileSync(log, 'utf8')).toBe('new\n');
  });
});

describe('reading run.log and the verdict', () => {
  it('a symlink (to ~/.bashrc) or a FIFO reads as nothing, and a kept copy says why', () => {
    const { wt, secret, log } = setup();
    fs.symlinkSync(secret, log);
    expect(readRegular(log)).toBeNull();
    expect(readLogTail(log)).toBe('');
    const kept = path.join(wt, '..', 'kept.log');
    keepLog(log, kept);
    expect(fs.readFileSync(kept, 'utf8')).toMatch(/^\[autoresearch: .*run\.log was not a regular file/);
    fs.rmSync(log);
    execFileSync('mkfifo', [log]);
    expect(readRegular(log)).toBeNull(); // and returns at once
    fs.rmSync(log);
    fs.writeFileSync(log, 'val_bpb: 1.0\n');
    expect(readRegular(log)).toBe('val_bpb: 1.0\n');
  });

  it('.autoresearch/ made a symlink to a directory of the user\'s is replaced by a real directory', () => {
    const { wt, secret } = setup();
    fs.symlinkSync(path.dirname(secret), path.join(wt, '.autoresearch'));
    realDirectory(path.join(wt, '.autoresearch'));
    expect(fs.lstatSync(path.join(wt, '.autoresearch')).isDirectory()).toBe(true);
    expect(fs.readdirSync(path.join(wt, '.autoresearch'))).toEqual([]);
    expect(fs.existsSync(secret)).toBe(true);
  });
});

describe('the guard putting a file back', () => {
  it('never writes through a directory the command replaced by a symlink to outside the repository', async () => {
    const dir = makeWorkspace();
    temps.push(dir);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-outside-'));
    temps.push(outside);
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'notes.txt'), 'tracked\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'notes');
    fs.writeFileSync(path.join(dir, 'sub', 'notes.txt'), 'dirty before\n'); // the user's uncommitted edit
    const snap = await snapshotGitState(dir);
    // The command: the directory becomes a symlink to a directory outside.
    fs.rmSync(path.join(dir, 'sub'), { recursive: true });
    fs.symlinkSync(outside, path.join(dir, 'sub'));
    await restoreGitState(dir, snap, ['train.py']);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.lstatSync(path.join(dir, 'sub')).isDirectory()).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'sub', 'notes.txt'), 'utf8')).toBe('dirty before\n');
  });
});
