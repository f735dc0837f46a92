// Each experiment's run.log is kept under .autoresearch/<tag>/logs/. A run that prints without
// end (a progress bar per step, a debug dump) would otherwise fill the disk over a night: past a
// size only the head (how the run started) and the tail (how it ended, the summary) are kept.

import fs from 'node:fs';
import { openForWrite, openRegular } from '../proc/untrusted-file.js';

/** The start of a long log that is kept: the command, the config, the first steps. */
export const KEEP_LOG_HEAD_BYTES = 1024 * 1024;
/** The end of a long log that is kept: the last steps, the error or the summary block. */
export const KEEP_LOG_TAIL_BYTES = 4 * 1024 * 1024;

const CHUNK = 64 * 1024;

function copyRange(from: number, to: number, start: number, end: number): void {
  const buf = Buffer.alloc(CHUNK);
  for (let at = start; at < end; ) {
    const n = fs.readSync(from, buf, 0, Math.min(CHUNK, end - at), at);
    if (n === 0) break;
    fs.writeSync(to, buf, 0, n);
    at += n;
  }
}

/** Copy `from` whole to `to` if it is a regular file, never following a name (untrusted-file.ts); otherwise `to` is left empty. */
export function copyWholeLog(from: string, to: string): void {
  const dst = openForWrite(to);
  try {
    const src = openRegular(from);
    if (src === null) return;
    try {
      copyRange(src, dst, 0, Infinity); // to its end, however far it has grown
    } finally {
      fs.closeSync(src);
    }
  } finally {
    fs.closeSync(dst);
  }
}

/** Where the kept head ends: after its last newline, so no line is cut in half (unless there is none). */
function headEnd(fd: number, limit: number): { end: number; atLineEnd: boolean } {
  const buf = Buffer.alloc(Math.min(limit, CHUNK));
  const n = fs.readSync(fd, buf, 0, buf.length, limit - buf.length);
  const nl = buf.subarray(0, n).lastIndexOf(0x0a);
  return nl >= 0 ? { end: limit - buf.length + nl + 1, atLineEnd: true } : { end: limit, atLineEnd: limit === 0 };
}

/** Where the kept tail starts: at the first line start at or past `from` (`from` itself if none). */
function tailStart(fd: number, from: number, size: number): number {
  const buf = Buffer.alloc(Math.min(CHUNK, size - from + 1));
  const n = fs.readSync(fd, buf, 0, buf.length, from - 1); // from - 1: a line may start exactly at `from`
  const nl = buf.subarray(0, n).indexOf(0x0a);
  return nl >= 0 ? from + nl : from;
}

/**
 * Copy a run's log to `to`, whole when it is short; otherwise its first `headBytes` and last
 * `tailBytes` (both at line ends), with one line where it was cut saying how much was dropped.
 * Returns the number of bytes dropped.
 */
export function keepLog(from: string, to: string, headBytes = KEEP_LOG_HEAD_BYTES, tailBytes = KEEP_LOG_TAIL_BYTES): number {
  // `from` is in a worktree the model's code writes: only a regular file is copied (untrusted-file.ts).
  const src = openRegular(from);
  if (src === null) {
    const dst = openForWrite(to);
    fs.writeSync(dst, `[autoresearch: ${from} was not a regular file (a symlink, a FIFO or a directory the run left there), so it was not read]\n`);
    fs.closeSync(dst);
    return 0;
  }
  try {
    const size = fs.fstatSync(src).size;
    const dst = openForWrite(to);
    try {
      if (size <= headBytes + tailBytes) {
        copyRange(src, dst, 0, size);
        return 0;
      }
      const { end: head, atLineEnd } = headEnd(src, headBytes);
      const tail = tailStart(src, size - tailBytes, size);
      const dropped = tail - head;
      copyRange(src, dst, 0, head);
      const note = `${atLineEnd ? '' : '\n'}[autoresearch: ${dropped} bytes of this log were cut here; the run printed ${size} bytes, of which the first ${head} and the last ${size - tail} are kept]\n`;
      fs.writeSync(dst, note);
      copyRange(src, dst, tail, size);
      return dropped;
    } finally {
      fs.closeSync(dst);
    }
  } finally {
    fs.closeSync(src);
  }
}
