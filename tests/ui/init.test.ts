// `autoresearch init` in real temp directories with real git: what it copies, that it makes a
// repository with a first commit, and that it never overwrites a file.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCommand, WORKSPACE_FILES, WORKSPACE_GITIGNORE, workspaceSource } from '../../src/commands/init.js';

const dirs: string[] = [];
const saved: Record<string, string | undefined> = {};
const IDENTITY = { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@example.com' };

beforeAll(() => {
  // A git identity for the first commit, whatever this machine's configuration.
  for (const [k, v] of Object.entries(IDENTITY)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-init-'));
  dirs.push(d);
  return d;
}

async function run(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const w = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await initCommand(args, { cwd, stdout: w((s) => (stdout += s)), stderr: w((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** The package root (this checkout): the research files init is expected to copy, and the .gitignore it writes. */
const source = workspaceSource();
const expected = [...WORKSPACE_FILES, '.gitignore'];

describe('autoresearch init', () => {
  it('finds the research files at the package root, and the published package carries them', () => {
    expect(fs.realpathSync(source)).toBe(fs.realpathSync(fileURLToPath(new URL('../..', import.meta.url))));
    for (const f of WORKSPACE_FILES) expect(fs.existsSync(path.join(source, f)), f).toBe(true);
    const files: string[] = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8')).files;
    for (const f of WORKSPACE_FILES) expect(files, f).toContain(f);
    expect(fs.existsSync(path.join(source, 'workspace'))).toBe(false);
  });

  it("the repository's own .gitignore holds every rule a new workspace gets", () => {
    const own = fs.readFileSync(path.join(source, '.gitignore'), 'utf8').split('\n');
    for (const rule of WORKSPACE_GITIGNORE.split('\n').filter((l) => l && !l.startsWith('#'))) expect(own, rule).toContain(rule);
  });

  it('copies the research files, writes a .gitignore, git-inits and commits them, and prints the next steps', async () => {
    const parent = tempDir();
    const { code, stdout } = await run(parent, 'lab');
    expect(code).toBe(0);
    const dir = path.join(parent, 'lab');
    expect(fs.readdirSync(dir).filter((f) => f !== '.git').sort()).toEqual([...expected].sort());
    for (const f of WORKSPACE_FILES) expect(fs.readFileSync(path.join(dir, f))).toEqual(fs.readFileSync(path.join(source, f)));
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe(WORKSPACE_GITIGNORE);
    expect(git(dir, 'rev-parse', '--show-toplevel')).toBe(fs.realpathSync(dir));
    expect(git(dir, 'log', '--format=%s')).toBe('autoresearch init: research workspace');
    expect(git(dir, 'status', '--porcelain')).toBe('');
    for (const f of expected) expect(stdout).toContain(`wrote    ${f}`);
    expect(stdout).toContain('git init, first commit made');
    expect(stdout).toContain('cd lab');
    expect(stdout).toContain('uv run prepare.py');
    expect(stdout).toContain('npx autoresearch --tag ');
  });

  it('never overwrites an existing file, and says which were skipped', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'train.py'), 'print("my own trainer")\n');
    const first = await run(dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('skipped  train.py (already there, left as it is)');
    expect(fs.readFileSync(path.join(dir, 'train.py'), 'utf8')).toBe('print("my own trainer")\n');
    // Everything exists now: a second init changes nothing.
    const before = Object.fromEntries(fs.readdirSync(dir).filter((f) => f !== '.git').map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    const again = await run(dir);
    expect(again.code).toBe(0);
    for (const f of expected) expect(again.stdout).toContain(`skipped  ${f}`);
    expect(again.stdout).not.toContain('wrote ');
    const after = Object.fromEntries(fs.readdirSync(dir).filter((f) => f !== '.git').map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
    expect(after).toEqual(before);
  });

  it('in a repository it creates, commits the files it adopts with the ones it writes', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'train.py'), 'print("my own trainer")\n');
    const { code, stdout } = await run(dir);
    expect(code).toBe(0);
    expect(stdout).toContain('skipped  train.py (already there, left as it is)');
    expect(stdout).toContain('git init, first commit made');
    // The user's original is in the first commit, so the loop can never lose it.
    expect(git(dir, 'show', 'HEAD:train.py')).toBe('print("my own trainer")');
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(stdout).not.toContain('git add');
  });

  it('in a folder that already has every file, still makes the first commit', async () => {
    const dir = tempDir();
    for (const f of expected) fs.writeFileSync(path.join(dir, f), `# ${f}\n`);
    const { code, stdout } = await run(dir);
    expect(code).toBe(0);
    expect(stdout).toContain('git init, first commit made');
    expect(git(dir, 'ls-tree', '--name-only', 'HEAD').split('\n').sort()).toEqual([...expected].sort());
  });

  it('inside an existing repository, names the adopted untracked files in the git add step too', async () => {
    const repo = tempDir();
    git(repo, 'init', '-q');
    fs.writeFileSync(path.join(repo, 'train.py'), 'print("mine")\n');
    fs.writeFileSync(path.join(repo, 'program.md'), '# tracked protocol\n');
    git(repo, 'add', 'program.md');
    git(repo, 'commit', '-qm', 'protocol');
    const { code, stdout } = await run(repo);
    expect(code).toBe(0);
    const step = stdout.split('\n').find((l) => l.includes('git add')) ?? '';
    expect(step).toMatch(/git add .*\btrain\.py\b.* && git commit/);
    expect(step).toContain('prepare.py');
    expect(step).not.toContain('program.md'); // already committed
    expect(git(repo, 'log', '--format=%s')).toBe('protocol'); // no commit made in the user's repository
  });

  it('refuses a DIR that is a file, or lies under one: exit 2 naming the path, nothing written', async () => {
    const parent = tempDir();
    const file = path.join(parent, 'notes.txt');
    fs.writeFileSync(file, 'mine\n');
    const onto = await run(parent, 'notes.txt');
    expect(onto.code).toBe(2);
    expect(onto.stderr).toContain(`${file} is a file, not a directory`);
    expect(onto.stderr).toMatch(/autoresearch init <new or existing directory>/);
    const under = await run(parent, 'notes.txt/lab');
    expect(under.code).toBe(2);
    expect(under.stderr).toContain(`cannot create ${path.join(file, 'lab')}: ${file} is a file, not a directory`);
    expect(fs.readFileSync(file, 'utf8')).toBe('mine\n');
    expect(fs.readdirSync(parent)).toEqual(['notes.txt']);
  });

  it('inside an existing repository, adds files without a nested git init or a commit', async () => {
    const repo = tempDir();
    git(repo, 'init', '-q');
    const { code, stdout } = await run(repo, 'sub');
    expect(code).toBe(0);
    expect(fs.existsSync(path.join(repo, 'sub', '.git'))).toBe(false);
    expect(stdout).not.toContain('git init');
    expect(stdout).toContain('git add ');
    expect(git(repo, 'status', '--porcelain', '--untracked-files=all')).toContain('sub/train.py');
  });

  it('rejects extra arguments and shows help', async () => {
    const dir = tempDir();
    expect((await run(dir, 'a', 'b')).code).toBe(2);
    expect((await run(dir, '--force')).stderr).toContain("Unknown option '--force'");
    const help = await run(dir, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: autoresearch init [DIR]');
  });
});
