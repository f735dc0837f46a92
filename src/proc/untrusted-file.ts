// Files the program reads or writes in a directory the model's code can also write: run.log and
// .autoresearch/verdict.json in an experiment's worktree, which the model's shell and train.py may
// have replaced by a symlink (to ~/.bashrc, to a file to overwrite), a FIFO (to make us block), a
// directory, or a hard link to another file of the worktree. We run outside the sandbox, so
// following any of these would read or write for the model what the sandbox keeps from it. No name
// is ever followed (O_NOFOLLOW), only regular files are read, and a file we write is one we made.

import fs from 'node:fs';
import path from 'node:path';

const { O_RDONLY, O_WRONLY, O_CREAT, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/**
 * A descriptor for reading `file` if it is a regular file, else null (absent, a symlink, a FIFO, a
 * device, a directory). O_NONBLOCK: opening a FIFO must not wait for a writer.
 */
export function openRegular(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  if (fs.fstatSync(fd).isFile()) return fd;
  fs.closeSync(fd);
  return null;
}

/** The text of `file` if it is a regular file (see openRegular), else null. */
export function readRegular(file: string): string | null {
  const fd = openRegular(file);
  if (fd === null) return null;
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A descriptor for writing `file` from empty, never through what stood there: a regular file of its
 * own (one link) is truncated in place, so `tail -f` on it goes on working; anything else (a
 * symlink, a FIFO, a directory, a hard link to another file) is removed and a new file made.
 */
export function openForWrite(file: string): number {
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644);
    } catch (err) {
      // ELOOP: a symlink; EISDIR: a directory; ENXIO: a FIFO nobody reads; ETXTBSY and friends: not a plain file.
      if (['ELOOP', 'EISDIR', 'ENXIO', 'EWOULDBLOCK', 'EAGAIN', 'ETXTBSY'].includes(code(err) ?? '')) {
        fs.rmSync(file, { recursive: true, force: true });
        continue;
      }
      throw err;
    }
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.nlink === 1) {
      fs.ftruncateSync(fd, 0);
      return fd;
    }
    fs.closeSync(fd);
    fs.rmSync(file, { recursive: true, force: true });
  }
  throw new Error(`${file} kept being replaced while it was opened for writing; is something else writing in ${path.dirname(file)}?`);
}

/** Append `text` to `file` if it is a regular file; otherwise nothing (a note is not worth following a link for). */
export function appendRegular(file: string, text: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return;
  }
  try {
    if (fs.fstatSync(fd).isFile()) fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Files as git would record them, read without following anything the model may have left: a
 * regular file's bytes, a symlink's target text; null where the path is absent or anything else.
 */
export function readAsGitSees(dir: string, paths: readonly string[]): Map<string, Buffer | null> {
  const files = new Map<string, Buffer | null>();
  for (const rel of paths) {
    const file = path.join(dir, rel);
    let data: Buffer | null = null;
    try {
      const st = fs.lstatSync(file);
      data = st.isFile() ? fs.readFileSync(file) : st.isSymbolicLink() ? Buffer.from(fs.readlinkSync(file)) : null;
    } catch {
      data = null;
    }
    files.set(rel, data);
  }
  return files;
}

/** Make `dir` a real directory: a symlink, file or anything else at its name is removed first. */
export function realDirectory(dir: string): void {
  try {
    if (fs.lstatSync(dir).isDirectory()) return;
    fs.rmSync(dir, { force: true });
  } catch (err) {
    if (code(err) !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dir, { recursive: true });
}
