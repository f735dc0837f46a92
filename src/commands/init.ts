// `autoresearch init [DIR]`: a research workspace to start from: the protocol, the trainer, the
// data preparation, the Python project and an example results file, in a git repository.
// It never overwrites a file: an existing one is kept and reported.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fallbackIdentity, runGit } from '../git/repo.js';
import type { CommandIO } from './results.js';

export const INIT_HELP = `Usage: autoresearch init [DIR]

Write a research workspace into DIR (default: the current directory): program.md (the research
protocol the agent follows), train.py (the file it edits), prepare.py (data and evaluation, left
alone), pyproject.toml and .python-version (the tested torch and Python), results.tsv.example and
a .gitignore. Makes DIR a git repository with a
first commit when it is not inside one already. Existing files are never overwritten.
`;

/** The research files at the package root (this repository is itself a workspace), copied as they are. */
export const WORKSPACE_FILES: readonly string[] = ['program.md', 'train.py', 'prepare.py', 'pyproject.toml', '.python-version', 'results.tsv.example'];

/**
 * The new workspace's .gitignore. Written from here rather than copied, because npm drops files named
 * .gitignore from published packages; the repository's own .gitignore holds these same rules.
 */
export const WORKSPACE_GITIGNORE = `# Written by autoresearch for every run: never committed
results.tsv
run.log
.autoresearch/

# Python
__pycache__/
*.pyc
.venv/

# Caches (prepare.py keeps its data in ~/.cache/autoresearch, or in $AUTORESEARCH_CACHE)
.cache/
`;

/** The package root, where the research files sit: two levels up from dist/commands/init.js (or src/commands/init.ts). */
export function workspaceSource(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

export interface InitResult {
  dir: string;
  copied: string[];
  skipped: string[]; // already there, left untouched
  missing: string[]; // not in this package (a broken install)
  gitInitialized: boolean;
  committed: boolean;
  /** Workspace files (written or adopted) that are in no commit yet: the loop refuses to start until they are. */
  uncommitted: string[];
}

/** A problem with how init was asked (exit 2): nothing has been written. */
export class InitUsageError extends Error {
  override name = 'InitUsageError';
}

/** Why `dir` cannot hold a workspace (it, or the nearest existing folder above it, is a file), or null. */
export function dirProblem(dir: string): string | null {
  const fix = 'Name a directory instead: autoresearch init <new or existing directory>.';
  for (let p = dir; ; p = path.dirname(p)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch {
      if (path.dirname(p) === p) return null;
      continue; // not there yet: mkdir makes it
    }
    if (stat.isDirectory()) return null;
    return p === dir ? `${dir} is a file, not a directory. ${fix}` : `cannot create ${dir}: ${p} is a file, not a directory. ${fix}`;
  }
}

export async function initWorkspace(dir: string, source = workspaceSource()): Promise<InitResult> {
  if (!fs.existsSync(path.join(source, 'train.py'))) {
    throw new Error(`The package's workspace files are missing (looked in ${source}). Reinstall autoresearch (npm install autoresearch).`);
  }
  const problem = dirProblem(dir);
  if (problem !== null) throw new InitUsageError(problem);
  fs.mkdirSync(dir, { recursive: true });
  const result: InitResult = { dir, copied: [], skipped: [], missing: [], gitInitialized: false, committed: false, uncommitted: [] };
  const write = (name: string, copy: (dest: string) => void) => {
    try {
      copy(path.join(dir, name));
      result.copied.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      result.skipped.push(name);
    }
  };
  for (const name of WORKSPACE_FILES) {
    const src = path.join(source, name);
    if (!fs.existsSync(src)) result.missing.push(name);
    // COPYFILE_EXCL / flag 'wx': refuse atomically, even if the file appeared since we looked.
    else write(name, (dest) => fs.copyFileSync(src, dest, fs.constants.COPYFILE_EXCL));
  }
  write('.gitignore', (dest) => fs.writeFileSync(dest, WORKSPACE_GITIGNORE, { flag: 'wx' }));

  // Files found already there are adopted: the loop edits train.py and refuses to start while it is
  // in no commit, since the user's original would otherwise be lost with the first experiment.
  const workspace = [...result.copied, ...result.skipped];
  if (!(await insideRepository(dir))) {
    await runGit(dir, ['init', '--quiet']);
    result.gitInitialized = true;
    // The loop branches from HEAD, so a new repository needs a first commit.
    if (workspace.length > 0) {
      try {
        await runGit(dir, ['add', '--', ...workspace]);
        await runGit(dir, [...(await fallbackIdentity(dir)), 'commit', '--quiet', '-m', 'autoresearch init: research workspace', '--', ...workspace]);
        result.committed = true;
      } catch {
        result.committed = false; // the next steps then say how to make it
      }
    }
  }
  // Inside the user's own repository nothing is committed for them: the next steps name what to commit.
  result.uncommitted = await notInHead(dir, workspace);
  return result;
}

/** Which of `files` (relative to `dir`) no commit holds yet: all of them in a repository without commits. */
async function notInHead(dir: string, files: string[]): Promise<string[]> {
  if (files.length === 0) return [];
  try {
    const inHead = new Set((await runGit(dir, ['ls-tree', '-r', '--name-only', '-z', 'HEAD', '--', ...files])).split('\0'));
    return files.filter((f) => !inHead.has(f));
  } catch {
    return [...files];
  }
}

async function insideRepository(dir: string): Promise<boolean> {
  try {
    return (await runGit(dir, ['rev-parse', '--is-inside-work-tree'])).trim() === 'true';
  } catch {
    return false;
  }
}

export async function initCommand(argv: string[], io: CommandIO): Promise<number> {
  let parsed: { values: { help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    io.stderr.write(`autoresearch init: ${(err as Error).message}\n\n${INIT_HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout.write(INIT_HELP);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    io.stderr.write(`autoresearch init: one directory at most, got ${parsed.positionals.length}\n\n${INIT_HELP}`);
    return 2;
  }
  const dir = path.resolve(io.cwd, parsed.positionals[0] ?? '.');
  let r: InitResult;
  try {
    r = await initWorkspace(dir);
  } catch (err) {
    io.stderr.write(`autoresearch init: ${(err as Error).message}\n`);
    return err instanceof InitUsageError ? 2 : 1;
  }
  const out: string[] = [];
  out.push(`Research workspace in ${dir}`);
  for (const f of r.copied) out.push(`  wrote    ${f}`);
  for (const f of r.skipped) out.push(`  skipped  ${f} (already there, left as it is)`);
  for (const f of r.missing) out.push(`  missing  ${f} (not in this installation of autoresearch)`);
  if (r.gitInitialized) out.push(r.committed ? '  git init, first commit made' : '  git init (no commit yet: see below)');
  out.push('');
  out.push('Next steps:');
  const rel = path.relative(io.cwd, dir);
  let step = 1;
  if (rel !== '') out.push(`  ${step++}. cd ${rel.includes(' ') ? JSON.stringify(rel) : rel}`);
  if (r.uncommitted.length > 0) {
    out.push(`  ${step++}. git add ${r.uncommitted.join(' ')} && git commit -m "research workspace"   (the loop starts from a commit)`);
  }
  out.push(`  ${step++}. uv run prepare.py        (downloads the data and trains the tokenizer, once)`);
  out.push(`  ${step++}. npx autoresearch --tag <tag>   (e.g. --tag ${todayTag()}; runs all night, q to stop)`);
  out.push('');
  out.push('Edit program.md to steer the research; try `npx autoresearch demo` to see a run without a GPU.');
  io.stdout.write(out.join('\n') + '\n');
  return 0;
}

/** A tag like `nov26`, the convention of the original notebooks. */
function todayTag(now = new Date()): string {
  return now.toLocaleString('en-US', { month: 'short' }).toLowerCase() + String(now.getDate());
}
