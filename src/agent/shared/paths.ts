// Where the editor may look and where it may write. The decision is pure (`judgePath`); resolving
// what a path really points at (symlinks included) is the one piece of I/O (`resolveInRepo`).

import { realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * Longest path the editor accepts: Linux's PATH_MAX. Checked before any I/O, because a longer
 * one can never name a file, and walking it up component by component (realpathOfNearest) takes
 * seconds and, at a few hundred KB, overflows the stack in path.join.
 */
export const PATH_MAX_CHARS = 4096;

export type PathJudgement = { ok: true; rel: string } | { ok: false; why: string };

/** rel: repo-relative, '/'-separated, '' for the root; abs: the real absolute path to operate on. */
export type PathVerdict = { ok: true; abs: string; rel: string } | { ok: false; why: string };

/** Normalise a repo-relative path for comparison: forward slashes, no './', no trailing slash. */
export function normalizeRel(p: string): string {
  return path.posix.normalize(p.replaceAll('\\', '/')).replace(/^\.\/+/, '').replace(/\/+$/, '');
}

/**
 * Decide on an access. `realRel` is the repo-relative path of what the request really points at
 * after following symlinks, or null when that is outside the repository.
 */
export function judgePath(requested: string, realRel: string | null, write: boolean, editable: readonly string[]): PathJudgement {
  if (realRel === null) return { ok: false, why: `${requested} is outside the repository; only files inside it can be viewed or edited.` };
  const rel = normalizeRel(realRel);
  if (write && (rel === '.git' || rel.startsWith('.git/'))) {
    return { ok: false, why: `${requested} is inside .git; git's own files cannot be edited.` };
  }
  if (write) {
    const allowed = editable.map(normalizeRel);
    if (!allowed.includes(rel)) {
      return {
        ok: false,
        why: `${rel || requested} is not editable. Only ${allowed.join(', ')} may be changed in this experiment; everything else (prepare.py, program.md, results.tsv ...) is read-only.`,
      };
    }
  }
  return { ok: true, rel };
}

async function realpathOfNearest(abs: string): Promise<string> {
  // For a file that does not exist yet (create), resolve the deepest existing ancestor, so a
  // symlinked directory cannot smuggle a new file out of the repository.
  const rest: string[] = [];
  let current = abs;
  for (;;) {
    try {
      const real = await realpath(current);
      return rest.length ? path.join(real, ...rest.reverse()) : real;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(current);
      if (parent === current) return abs;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * Resolve a path the model gave (absolute, or relative to the repository root) and judge it.
 * On success `abs` is the real absolute path to operate on.
 */
export async function resolveInRepo(repoDir: string, requested: string, write: boolean, editable: readonly string[]): Promise<PathVerdict> {
  if (typeof requested !== 'string' || requested.trim() === '') return { ok: false, why: 'path is missing.' };
  if (requested.includes('\0')) return { ok: false, why: 'path contains a NUL byte.' };
  if (requested.length > PATH_MAX_CHARS) return { ok: false, why: `path is too long (${requested.length} characters; the limit is ${PATH_MAX_CHARS}).` };
  const root = await realpath(repoDir);
  const lexical = path.resolve(root, requested);
  const real = await realpathOfNearest(lexical);
  const relToRoot = path.relative(root, real);
  const inside = relToRoot === '' || (!relToRoot.startsWith('..') && !path.isAbsolute(relToRoot));
  const verdict = judgePath(requested, inside ? relToRoot.split(path.sep).join('/') : null, write, editable);
  if (!verdict.ok) return verdict;
  return { ok: true, abs: real, rel: verdict.rel };
}
