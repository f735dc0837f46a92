// The sandbox around the code the model controls: its shell commands, and the training run (train.py
// is the model's to write). Scrubbing our children's environment cannot hide the API key, because
// any process of the same user can read its ancestors' /proc/<pid>/environ; a PID namespace can.
// We use bubblewrap (bwrap) directly, as Claude Code does on Linux, rather than a home-made
// namespace layer. The flags are built by pure functions (shellPlan, trainingPlan, bwrapArgs);
// the few facts they need about the machine (which paths exist, which GPU nodes) are passed in.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { SandboxMode } from '../engine/types.js';

export type { SandboxMode };

/** What one sandbox shows of the machine. Everything not named here is the host's, read-only. */
export interface SandboxPlan {
  cwd: string; // the worktree: writable
  home: string | null; // replaced by an empty directory; null where there is no home to hide
  homeWritable: boolean; // the empty home takes writes and forgets them (training) or refuses them (shell)
  privateTmp: boolean; // a fresh, empty /tmp; otherwise the host's /tmp, writable (torch.compile caches there)
  privateRun: boolean; // a fresh, empty /run: no host daemon's Unix socket (docker, dbus, systemd) in reach
  network: boolean;
  ipc: boolean; // share the host's System V IPC
  hostDev: boolean; // the host's whole /dev; otherwise a minimal /dev plus `devices`
  devices: string[]; // device nodes kept in a minimal /dev (the GPU's)
  readOnly: string[]; // existing paths shown read-only inside the hidden home (or anywhere)
  readWrite: string[]; // existing paths kept writable
  protect: string[]; // existing paths shown read-only although a writable mount holds them (the worktree's .git)
  /** Files shown read-only in place of others: [what is shown, where] (the repository's config, without its remotes). */
  masks?: Array<[source: string, target: string]>;
  setEnv: Record<string, string>; // set for the command inside only; bwrap itself never sees them
}

/** Facts about the machine the plans depend on; the real ones come from `machineFacts()`. */
export interface MachineFacts {
  exists: (p: string) => boolean;
  gpuDevices: string[]; // /dev/nvidia*, present or not
  isDirectory?: (p: string) => boolean; // not following a symlink; false where absent
  resolvConf?: string; // where /etc/resolv.conf really is (often under /run, kept by systemd-resolved or resolvconf)
}

/**
 * What a fresh /run must still hold for the training run: the directory the resolver's config
 * lives in, when /etc/resolv.conf points into /run (so `uv run` can still look up its index), and
 * the NVIDIA persistence daemon's socket directory. Nothing else of /run: no docker.sock, no
 * session bus, through which train.py could start a process outside the sandbox.
 */
export function runKept(facts: MachineFacts): string[] {
  const out: string[] = [];
  if (facts.resolvConf && inside(facts.resolvConf, '/run') && facts.resolvConf !== '/run') out.push(path.dirname(facts.resolvConf));
  out.push('/run/nvidia-persistenced');
  return out.filter((p) => p !== '/run' && facts.exists(p));
}

/** HOME, unless it is unset or the root (nothing to hide then). */
function homeOf(env: Record<string, string | undefined>): string | null {
  const home = env['HOME'];
  if (!home || !path.isAbsolute(home) || path.resolve(home) === '/') return null;
  return path.resolve(home);
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The data cache prepare.py fills, where prepare.py looks for it. */
function dataCache(env: Record<string, string | undefined>, home: string | null): string | null {
  if (env['AUTORESEARCH_CACHE']) return path.resolve(env['AUTORESEARCH_CACHE']);
  return home ? path.join(home, '.cache', 'autoresearch') : null;
}

/**
 * Where the Python environment (and the tools that start it) may live in the home directory:
 * PATH's entries there (~/.local/bin, ~/.cargo/bin, pyenv's shims), pyenv's and conda's roots,
 * uv's managed Pythons, pip's --user packages, an activated virtualenv.
 */
export function pythonPaths(env: Record<string, string | undefined>, home: string | null): string[] {
  const out: string[] = [];
  const add = (p: string | undefined) => {
    if (p && path.isAbsolute(p)) out.push(path.resolve(p));
  };
  for (const entry of (env['PATH'] ?? '').split(':')) if (home && entry && inside(path.resolve(entry), home)) add(entry);
  add(env['VIRTUAL_ENV']);
  add(env['CONDA_PREFIX']);
  if (env['CONDA_EXE']) add(path.dirname(path.dirname(env['CONDA_EXE'])));
  add(env['PYENV_ROOT']);
  add(env['UV_PYTHON_INSTALL_DIR']);
  if (home) {
    for (const rel of ['.pyenv', '.local/share/uv', '.local/lib', 'miniconda3', 'anaconda3', 'miniforge3', 'mambaforge']) add(path.join(home, rel));
  }
  return out;
}

/** Compile and package caches the training run keeps between runs, so a sandboxed run is as fast as a bare one. */
export function trainingCaches(env: Record<string, string | undefined>, home: string | null): string[] {
  const out: string[] = [];
  const add = (p: string | undefined) => {
    if (p && path.isAbsolute(p)) out.push(path.resolve(p));
  };
  for (const name of ['TRITON_CACHE_DIR', 'TORCHINDUCTOR_CACHE_DIR', 'TORCH_HOME', 'CUDA_CACHE_PATH', 'UV_CACHE_DIR']) add(env[name]);
  if (home) {
    const cache = env['XDG_CACHE_HOME'] ? path.resolve(env['XDG_CACHE_HOME']) : path.join(home, '.cache');
    for (const p of [path.join(cache, 'torch'), path.join(cache, 'triton'), path.join(cache, 'uv'), path.join(home, '.triton'), path.join(home, '.nv'), path.join(home, '.local/share/uv')]) add(p);
  }
  return out;
}

/** Existing paths, each once, none inside the worktree (already writable there: a .venv in the repo stays syncable). */
function keep(paths: string[], cwd: string, facts: MachineFacts): string[] {
  return [...new Set(paths)].filter((p) => !inside(p, cwd) && facts.exists(p));
}

/**
 * The project's Python environment: uv's, which the engine points at the main checkout's .venv
 * (UV_PROJECT_ENVIRONMENT) so that every worktree runs the same one. A checkout under $HOME would
 * otherwise have it hidden by the empty home.
 */
function projectEnvironment(env: Record<string, string | undefined>): string[] {
  const p = env['UV_PROJECT_ENVIRONMENT'];
  return p && path.isAbsolute(p) ? [path.resolve(p)] : [];
}

/**
 * The worktree's `.git`: it names the git directory, and git, ours included, believes it. The
 * program's git no longer reads it (git/repo.ts), and read-only here the model cannot point the
 * user's own git in this worktree elsewhere either.
 */
function gitPointer(cwd: string, facts: MachineFacts): string[] {
  const dotGit = path.join(cwd, '.git');
  // Only a worktree's `.git` file (the only kind experiments run in): a checkout's own .git
  // directory stays as it was, the guard's to put back after each command (git/guard.ts).
  return facts.exists(dotGit) && !(facts.isDirectory?.(dotGit) ?? false) ? [dotGit] : [];
}

/**
 * The model's shell: no network, its own PID and IPC namespaces, the worktree writable, a private
 * /tmp, the home directory empty and read-only but for the Python environment and the data cache
 * (read-only), the GPU's device nodes, and nothing else writable.
 */
export function shellPlan(cwd: string, env: Record<string, string | undefined>, facts: MachineFacts, git?: ShellGit): SandboxPlan {
  const home = homeOf(env);
  // The repository's history, read-only, so that `git show <ref>` of an earlier experiment works
  // in the worktree even where the checkout lies in the hidden home; its config is shown without
  // remotes or credentials (shellGitConfig).
  const history = git && facts.exists(git.dir) && !inside(git.dir, cwd) ? [git.dir] : [];
  return {
    cwd,
    home,
    homeWritable: false,
    privateTmp: true,
    privateRun: true,
    network: false,
    ipc: false,
    hostDev: false,
    devices: facts.gpuDevices,
    readOnly: [...keep([...pythonPaths(env, home), ...projectEnvironment(env), dataCache(env, home) ?? ''].filter(Boolean), cwd, facts), ...history],
    readWrite: [],
    protect: gitPointer(cwd, facts),
    ...(history.length > 0 && git?.config && facts.exists(path.join(git.dir, 'config')) ? { masks: [[git.config, path.join(git.dir, 'config')] as [string, string]] } : {}),
    // Temporary files go to the private /tmp; uv must not try to sync (no network, a read-only cache): it runs the environment as it is.
    setEnv: { TMPDIR: '/tmp', UV_NO_SYNC: '1', UV_OFFLINE: '1', UV_CACHE_DIR: '/tmp/uv-cache' },
  };
}

/**
 * The training run: its own PID namespace, the host's /dev (GPUs, /dev/shm for data loader
 * workers) and /tmp, a fresh /run (but for the resolver's config, see runKept), the worktree, the compile caches and uv's cache writable, the Python
 * environment and the data cache read-only (the judge's validation data is not train.py's to
 * change), an empty home otherwise: no ~/.ssh, no shell startup files, no credentials.
 */
export function trainingPlan(cwd: string, env: Record<string, string | undefined>, network: boolean, facts: MachineFacts, protect: readonly string[] = []): SandboxPlan {
  const home = homeOf(env);
  // The project's environment writable: `uv run` may sync it.
  const readWrite = keep([...trainingCaches(env, home), ...projectEnvironment(env)], cwd, facts);
  // What the run must not change but would see writable: the main checkout (its .git: config,
  // hooks) when it lies under the host's /tmp or a writable cache. Elsewhere it is read-only or hidden already.
  const exposed = protect.map((p) => path.resolve(p)).filter((p) => p !== cwd && facts.exists(p) && (inside(p, '/tmp') || readWrite.some((rw) => inside(p, rw))));
  return {
    cwd,
    home,
    homeWritable: true,
    privateTmp: false,
    privateRun: true,
    network,
    ipc: true,
    hostDev: true,
    devices: [],
    readOnly: [...keep([...pythonPaths(env, home), dataCache(env, home) ?? ''].filter(Boolean), cwd, facts).filter((p) => !readWrite.includes(p)), ...runKept(facts)],
    readWrite,
    protect: [...exposed, ...gitPointer(cwd, facts)],
    setEnv: {},
  };
}

/** bwrap's arguments for a plan, ending with the command to run inside. */
export function bwrapArgs(plan: SandboxPlan, command: readonly string[]): string[] {
  // --as-pid-1: the command is the namespace's init, a direct child of bwrap, which reaps it; with
  // bwrap's own init in between, that init outlives bwrap as a zombie of whoever adopts it, and our
  // process group looks alive until it is reaped. Its death still takes every process inside with it.
  // --die-with-parent: killing us (even kill -9) kills the sandbox. --cap-drop ALL: root inside
  // could otherwise unmount the empty home.
  const args = ['--die-with-parent', '--unshare-pid', '--as-pid-1', '--cap-drop', 'ALL'];
  if (!plan.network) args.push('--unshare-net');
  if (!plan.ipc) args.push('--unshare-ipc');
  args.push('--ro-bind', '/', '/');
  if (plan.hostDev) args.push('--dev-bind', '/dev', '/dev');
  else {
    args.push('--dev', '/dev');
    for (const d of plan.devices) args.push('--dev-bind', d, d);
  }
  args.push('--proc', '/proc');
  // Mount parents before children (a repository in the home, a home or repository under /tmp);
  // at equal depth, in this order, so that the worktree wins over the empty home it may be.
  const mounts: Array<{ at: string; rank: number; flags: string[] }> = [];
  mounts.push({ at: '/tmp', rank: 0, flags: plan.privateTmp ? ['--tmpfs', '/tmp'] : ['--bind', '/tmp', '/tmp'] });
  if (plan.privateRun) mounts.push({ at: '/run', rank: 0, flags: ['--tmpfs', '/run'] });
  if (plan.home) mounts.push({ at: plan.home, rank: 1, flags: ['--tmpfs', plan.home] });
  mounts.push({ at: plan.cwd, rank: 2, flags: ['--bind', plan.cwd, plan.cwd] });
  for (const p of plan.readOnly) mounts.push({ at: p, rank: 3, flags: ['--ro-bind', p, p] });
  for (const p of plan.readWrite) mounts.push({ at: p, rank: 3, flags: ['--bind', p, p] });
  // After whatever writable mount holds them: a main checkout above the worktree comes first by depth.
  for (const p of plan.protect) mounts.push({ at: p, rank: 4, flags: ['--ro-bind', p, p] });
  for (const [source, target] of plan.masks ?? []) mounts.push({ at: target, rank: 5, flags: ['--ro-bind', source, target] });
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  mounts.sort((a, b) => depth(a.at) - depth(b.at) || a.rank - b.rank);
  for (const m of mounts) args.push(...m.flags);
  // Last: making the home read-only leaves the mounts inside it (the worktree, the caches) as they are.
  // (A worktree that is the home itself stays writable: it is mounted over the empty home.)
  if (plan.home && !plan.homeWritable && plan.cwd !== plan.home) args.push('--remount-ro', plan.home);
  for (const [name, value] of Object.entries(plan.setEnv)) args.push('--setenv', name, value);
  args.push('--chdir', plan.cwd, '--', ...command);
  return args;
}

// ---------------------------------------------------------------------------------------------
// Whether the sandbox can run here, and what to do about it when it cannot.

export type SandboxSupport = { ok: true; bwrap: string } | { ok: false; reason: string };

/** Why there is no sandbox, with the fix; a pure function of what the probe saw. */
export function unsupportedReason(platform: NodeJS.Platform, bwrap: string | null, probeError: string | null): string | null {
  if (platform !== 'linux') {
    return `the sandbox needs Linux (bubblewrap); on ${platform === 'darwin' ? 'macOS' : platform} the model's shell and the training run are not isolated from your files, your network or this program's environment`;
  }
  if (bwrap === null) return 'bubblewrap is not installed: install it (apt install bubblewrap, or dnf install bubblewrap)';
  if (probeError !== null) {
    return (
      `bubblewrap cannot create a sandbox here (${probeError}): enable unprivileged user namespaces ` +
      `(sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 23.10 and later also kernel.apparmor_restrict_unprivileged_userns=0), ` +
      `or in a container allow them (e.g. docker run --security-opt seccomp=unconfined)`
    );
  }
  return null;
}

/**
 * What --sandbox means here: whether runs are sandboxed, the line to print when they cannot be, or
 * why we must not start. `trainNetwork` false (--no-train-network) asks for the sandbox as --sandbox on does.
 */
export function sandboxDecision(mode: SandboxMode, support: SandboxSupport, trainNetwork = true): { on: boolean; notice: string | null; error: string | null } {
  if (mode === 'off') return { on: false, notice: null, error: null };
  if (support.ok) return { on: true, notice: null, error: null };
  if (mode === 'on') return { on: false, notice: null, error: `--sandbox on, but ${support.reason}. Or run with --sandbox off to go without.` };
  if (!trainNetwork) return { on: false, notice: null, error: `--no-train-network needs the sandbox, but ${support.reason}.` };
  return { on: false, notice: `runs are not isolated: ${support.reason}. Pass --sandbox off to silence this line.`, error: null };
}

/** --sandbox resolved on this machine (probing bwrap once, unless the mode is off). */
export function decideSandbox(mode: SandboxMode, trainNetwork = true): { on: boolean; notice: string | null; error: string | null } {
  return mode === 'off' ? { on: false, notice: null, error: null } : sandboxDecision(mode, sandboxSupport(), trainNetwork);
}

function findOnPath(name: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const full = path.join(dir, name);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return null;
}

let probed: SandboxSupport | null = null;

/** Tries the sandbox once per process: bwrap present, and able to make the namespaces we use. */
export function sandboxSupport(): SandboxSupport {
  if (probed) return probed;
  const bwrap = process.platform === 'linux' ? findOnPath('bwrap', process.env['PATH']) : null;
  let probeError: string | null = null;
  if (bwrap) {
    const r = spawnSync(bwrap, ['--die-with-parent', '--unshare-pid', '--unshare-net', '--cap-drop', 'ALL', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', 'true'], {
      encoding: 'utf8',
      timeout: 10_000,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.error) probeError = r.error.message;
    else if (r.status !== 0) probeError = (r.stderr.trim().split('\n')[0] ?? '') || `exit code ${r.status}`;
  }
  const reason = unsupportedReason(process.platform, bwrap, probeError);
  probed = reason === null && bwrap ? { ok: true, bwrap } : { ok: false, reason: reason ?? 'bubblewrap is not usable' };
  return probed;
}

/** The machine's facts for the plans: which paths exist, which GPU device nodes there are. */
export function machineFacts(): MachineFacts {
  let gpuDevices: string[] = [];
  try {
    gpuDevices = fs
      .readdirSync('/dev')
      .filter((n) => n.startsWith('nvidia'))
      .map((n) => `/dev/${n}`);
  } catch {
    // no /dev to list: no GPU to keep
  }
  const isDirectory = (p: string) => {
    try {
      return fs.lstatSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  let resolvConf: string | undefined;
  try {
    resolvConf = fs.realpathSync('/etc/resolv.conf');
  } catch {
    // no resolver config (or a dangling link): nothing to keep for it
  }
  return { exists: (p) => fs.existsSync(p), gpuDevices, isDirectory, ...(resolvConf ? { resolvConf } : {}) };
}

/**
 * The compile and package caches, made if missing: only an existing path can be mounted, and a
 * cache first written inside the sandbox's empty home would be thrown away with it, so every run
 * would compile from scratch. Empty directories, where the tools would make them on first use.
 */
function makeCaches(env: Record<string, string | undefined>): void {
  for (const dir of trainingCaches(env, homeOf(env))) {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch {
      // not ours to make (a read-only home): the run goes without that cache
    }
  }
}

/** The main repository's git directory, shown to the model's shell, and a config file to show in place of its own. */
export interface ShellGit {
  dir: string;
  config: string | null;
}

/**
 * What the model's shell may see of the repository's config: only the sections git needs to read
 * the repository ([core], [extensions]); remotes, credentials, includes and aliases stay hidden.
 */
export function shellGitConfig(config: string): string {
  const out: string[] = [];
  let keep = false;
  for (const line of config.split('\n')) {
    const section = /^\s*\[\s*([A-Za-z0-9.-]+)/.exec(line);
    if (section) keep = ['core', 'extensions'].includes(section[1]!.toLowerCase());
    if (keep && !/^\s*(fsmonitor|hookspath|sshcommand|askpass|editor|pager)\s*=/i.test(line)) out.push(line);
  }
  return out.join('\n') + '\n';
}

/**
 * The command line that runs `command` in the sandbox: [bwrap, ...flags, ...command]. Spawn it with
 * the same (scrubbed) environment the command should have: bwrap's own process, the command's
 * parent inside, is readable from there.
 */
export function sandboxedCommand(
  kind: 'shell' | 'training',
  command: readonly string[],
  opts: { cwd: string; env: Record<string, string | undefined>; network?: boolean; protect?: readonly string[]; git?: ShellGit },
): string[] {
  const support = sandboxSupport();
  if (!support.ok) throw new Error(`The sandbox cannot run: ${support.reason}.`);
  if (kind === 'training') makeCaches(opts.env);
  const facts = machineFacts();
  const cwd = path.resolve(opts.cwd);
  const plan = kind === 'shell' ? shellPlan(cwd, opts.env, facts, opts.git) : trainingPlan(cwd, opts.env, opts.network ?? true, facts, opts.protect);
  return [support.bwrap, ...bwrapArgs(plan, command)];
}
