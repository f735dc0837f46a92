// The sandbox's policy as pure functions: which paths each sandbox shows, the bwrap flags they
// become, and what --sandbox means on a machine with or without bubblewrap.

import { describe, expect, it } from 'vitest';
import { bwrapArgs, sandboxDecision, shellPlan, trainingPlan, unsupportedReason, type MachineFacts } from '../../src/proc/sandbox.js';
import { parseRunArgs } from '../../src/cli/args.js';

const HOME = '/home/ada';
const ENV = { HOME, PATH: `${HOME}/.local/bin:${HOME}/.pyenv/shims:/usr/bin`, ANTHROPIC_API_KEY: 'sk-ant-x' };
const existing = new Set([`${HOME}/.local/bin`, `${HOME}/.pyenv`, `${HOME}/.pyenv/shims`, `${HOME}/.cache/autoresearch`, `${HOME}/.cache/torch`, `${HOME}/.triton`, `${HOME}/.cache/uv`, `${HOME}/repo/.venv`]);
const facts: MachineFacts = { exists: (p) => existing.has(p), gpuDevices: ['/dev/nvidia0', '/dev/nvidiactl', '/dev/nvidia-uvm'] };

/** The flag triples of an argument list, as "--flag a b" strings, for order checks. */
function pairs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') break;
    if (['--bind', '--ro-bind', '--dev-bind'].includes(args[i]!)) out.push(`${args[i]} ${args[++i]} ${args[++i]}`);
    else if (['--tmpfs', '--remount-ro', '--chdir', '--dev', '--proc'].includes(args[i]!)) out.push(`${args[i]} ${args[++i]}`);
    else if (args[i] === '--setenv') out.push(`--setenv ${args[++i]}=${args[++i]}`);
    else out.push(args[i]!);
  }
  return out;
}

describe('the model shell plan', () => {
  const args = bwrapArgs(shellPlan(`${HOME}/repo`, ENV, facts), ['bash', '-c', 'ls']);
  const flags = pairs(args);

  it('own PID and IPC namespaces, no network, no capabilities, dies with us, the command last', () => {
    for (const f of ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--die-with-parent', '--as-pid-1']) expect(flags).toContain(f);
    expect(args.slice(args.indexOf('--cap-drop'), args.indexOf('--cap-drop') + 2)).toEqual(['--cap-drop', 'ALL']);
    expect(args.slice(-4)).toEqual(['--', 'bash', '-c', 'ls']);
  });

  it('the root read-only, a private /tmp, an empty read-only home, the worktree writable inside it', () => {
    const order = (f: string) => flags.indexOf(f);
    expect(order('--ro-bind / /')).toBe(flags.findIndex((f) => f.startsWith('--ro-bind')));
    expect(flags).toContain('--tmpfs /tmp');
    expect(order(`--tmpfs ${HOME}`)).toBeGreaterThan(order('--tmpfs /tmp'));
    expect(order(`--bind ${HOME}/repo ${HOME}/repo`)).toBeGreaterThan(order(`--tmpfs ${HOME}`));
    // Made read-only only after everything inside it is mounted.
    expect(order(`--remount-ro ${HOME}`)).toBeGreaterThan(order(`--bind ${HOME}/repo ${HOME}/repo`));
    expect(flags.at(-1)).toBe(`--chdir ${HOME}/repo`);
  });

  it('only the Python environment and the data cache from the home, read-only; nothing of it writable', () => {
    const fromHome = flags.filter((f) => /^--(ro-)?bind /.test(f) && f.includes(`${HOME}/`) && !f.includes(`${HOME}/repo`));
    expect(fromHome.sort()).toEqual(
      [`--ro-bind ${HOME}/.cache/autoresearch ${HOME}/.cache/autoresearch`, `--ro-bind ${HOME}/.local/bin ${HOME}/.local/bin`, `--ro-bind ${HOME}/.pyenv ${HOME}/.pyenv`, `--ro-bind ${HOME}/.pyenv/shims ${HOME}/.pyenv/shims`].sort(),
    );
  });

  it('an empty /run (no host socket), the worktree\'s .git read-only after the worktree, the checkout\'s .venv read-only', () => {
    const f = pairs(bwrapArgs(shellPlan(`${HOME}/repo/wt`, { ...ENV, UV_PROJECT_ENVIRONMENT: `${HOME}/repo/.venv` }, { ...facts, exists: (p) => existing.has(p) || p === `${HOME}/repo/wt/.git` }), ['true']));
    expect(f).toContain('--tmpfs /run');
    expect(f.indexOf(`--ro-bind ${HOME}/repo/wt/.git ${HOME}/repo/wt/.git`)).toBeGreaterThan(f.indexOf(`--bind ${HOME}/repo/wt ${HOME}/repo/wt`));
    expect(f).toContain(`--ro-bind ${HOME}/repo/.venv ${HOME}/repo/.venv`);
  });

  it('a minimal /dev with the GPU nodes kept', () => {
    expect(flags).toContain('--dev /dev');
    for (const d of facts.gpuDevices) expect(flags).toContain(`--dev-bind ${d} ${d}`);
    expect(flags).not.toContain('--dev-bind /dev /dev');
  });

  it('a repository under /tmp is mounted over the private /tmp, not hidden by it', () => {
    const f = pairs(bwrapArgs(shellPlan('/tmp/exp', { HOME: '/tmp/h' }, facts), ['true']));
    expect(f.indexOf('--bind /tmp/exp /tmp/exp')).toBeGreaterThan(f.indexOf('--tmpfs /tmp'));
  });

  it('a repository that is the home itself stays writable', () => {
    const f = pairs(bwrapArgs(shellPlan(HOME, ENV, facts), ['true']));
    expect(f.indexOf(`--bind ${HOME} ${HOME}`)).toBeGreaterThan(f.indexOf(`--tmpfs ${HOME}`));
    expect(f).not.toContain(`--remount-ro ${HOME}`);
  });

  it('passes no environment of its own but the settings for a sandboxed uv (bwrap is spawned with the scrubbed env)', () => {
    expect(flags.filter((f) => f.startsWith('--setenv')).sort()).toEqual(['--setenv TMPDIR=/tmp', '--setenv UV_CACHE_DIR=/tmp/uv-cache', '--setenv UV_NO_SYNC=1', '--setenv UV_OFFLINE=1']);
    expect(args.join(' ')).not.toContain('sk-ant-x');
  });
});

describe('the training run plan', () => {
  it('own PID namespace, network by default, the host /dev and /tmp, caches writable, data cache read-only, home hidden', () => {
    const flags = pairs(bwrapArgs(trainingPlan(`${HOME}/repo`, ENV, true, facts), ['/bin/sh', '-c', 'uv run train.py']));
    expect(flags).toContain('--unshare-pid');
    expect(flags).not.toContain('--unshare-net');
    expect(flags).not.toContain('--unshare-ipc');
    expect(flags).toContain('--dev-bind /dev /dev');
    expect(flags).toContain('--bind /tmp /tmp');
    expect(flags).toContain(`--tmpfs ${HOME}`);
    expect(flags).not.toContain(`--remount-ro ${HOME}`); // tools may write there; it is thrown away
    for (const p of ['.cache/torch', '.triton', '.cache/uv']) expect(flags).toContain(`--bind ${HOME}/${p} ${HOME}/${p}`);
    expect(flags).toContain(`--ro-bind ${HOME}/.cache/autoresearch ${HOME}/.cache/autoresearch`);
    expect(flags).toContain(`--ro-bind ${HOME}/.pyenv ${HOME}/.pyenv`);
    // The .venv inside the repository stays writable (uv run syncs it): not bound again read-only.
    expect(flags.some((f) => f.includes('.venv'))).toBe(false);
    expect(flags.some((f) => /\.ssh|\.bashrc|\.profile|\.zshrc/.test(f))).toBe(false);
  });

  it("the checkout's .venv writable; the checkout read-only only where the host /tmp would show it writable", () => {
    const env = { ...ENV, UV_PROJECT_ENVIRONMENT: `${HOME}/repo/.venv` };
    const f = pairs(bwrapArgs(trainingPlan(`${HOME}/repo/wt`, env, true, facts, [`${HOME}/repo`]), ['true']));
    expect(f).toContain(`--bind ${HOME}/repo/.venv ${HOME}/repo/.venv`);
    expect(f.some((x) => x.startsWith(`--ro-bind ${HOME}/repo `))).toBe(false); // hidden by the empty home already
    const t = pairs(bwrapArgs(trainingPlan('/tmp/repo/wt', {}, true, { ...facts, exists: (p) => p.startsWith('/tmp/repo') }, ['/tmp/repo']), ['true']));
    expect(t.indexOf('--ro-bind /tmp/repo /tmp/repo')).toBeGreaterThan(t.indexOf('--bind /tmp /tmp'));
    expect(t.indexOf('--bind /tmp/repo/wt /tmp/repo/wt')).toBeGreaterThan(t.indexOf('--ro-bind /tmp/repo /tmp/repo'));
    expect(t.indexOf('--ro-bind /tmp/repo/wt/.git /tmp/repo/wt/.git')).toBeGreaterThan(t.indexOf('--bind /tmp/repo/wt /tmp/repo/wt'));
  });

  it("a fresh /run, keeping only the resolver's config (when it lives there) and the NVIDIA persistence daemon's socket", () => {
    const there = new Set(['/run/systemd/resolve', '/run/nvidia-persistenced']);
    const withRun = { ...facts, exists: (p: string) => there.has(p) || facts.exists(p), resolvConf: '/run/systemd/resolve/stub-resolv.conf' };
    const f = pairs(bwrapArgs(trainingPlan(`${HOME}/repo`, ENV, true, withRun), ['true']));
    expect(f).toContain('--tmpfs /run');
    expect(f.indexOf('--ro-bind /run/systemd/resolve /run/systemd/resolve')).toBeGreaterThan(f.indexOf('--tmpfs /run'));
    expect(f.indexOf('--ro-bind /run/nvidia-persistenced /run/nvidia-persistenced')).toBeGreaterThan(f.indexOf('--tmpfs /run'));
    // A resolv.conf of its own (not under /run) needs nothing kept; absent paths are not mounted.
    const plain = pairs(bwrapArgs(trainingPlan(`${HOME}/repo`, ENV, true, { ...facts, resolvConf: '/etc/resolv.conf' }), ['true']));
    expect(plain).toContain('--tmpfs /run');
    expect(plain.some((x) => x.startsWith('--ro-bind /run/'))).toBe(false);
  });

  it('--no-train-network cuts the network', () => {
    expect(bwrapArgs(trainingPlan(`${HOME}/repo`, ENV, false, facts), ['true'])).toContain('--unshare-net');
  });

  it('AUTORESEARCH_CACHE moves the data cache, as prepare.py reads it', () => {
    const flags = pairs(bwrapArgs(trainingPlan('/r', { ...ENV, AUTORESEARCH_CACHE: '/data/ar' }, true, { ...facts, exists: (p) => p === '/data/ar' }), ['true']));
    expect(flags).toContain('--ro-bind /data/ar /data/ar');
  });
});

describe('--sandbox', () => {
  const ok = { ok: true as const, bwrap: '/usr/bin/bwrap' };
  const missing = { ok: false as const, reason: unsupportedReason('linux', null, null)! };

  it('auto: on where bwrap works; otherwise one line saying runs are not isolated and how to fix it', () => {
    expect(sandboxDecision('auto', ok)).toEqual({ on: true, notice: null, error: null });
    const d = sandboxDecision('auto', missing);
    expect(d.on).toBe(false);
    expect(d.error).toBeNull();
    expect(d.notice).toBe('runs are not isolated: bubblewrap is not installed: install it (apt install bubblewrap, or dnf install bubblewrap). Pass --sandbox off to silence this line.');
  });

  it('on: refuses without it; off: never sandboxed, nothing said; --no-train-network needs it', () => {
    expect(sandboxDecision('on', missing).error).toMatch(/^--sandbox on, but bubblewrap is not installed/);
    expect(sandboxDecision('off', ok)).toEqual({ on: false, notice: null, error: null });
    expect(sandboxDecision('auto', missing, false).error).toMatch(/^--no-train-network needs the sandbox, but bubblewrap is not installed/);
  });

  it('says why: macOS is not isolated; a bwrap that cannot make namespaces points at user namespaces', () => {
    expect(unsupportedReason('darwin', null, null)).toMatch(/on macOS the model's shell and the training run are not isolated/);
    expect(unsupportedReason('linux', '/usr/bin/bwrap', 'bwrap: No permissions to creating new namespace')).toMatch(/enable unprivileged user namespaces/);
    expect(unsupportedReason('linux', '/usr/bin/bwrap', null)).toBeNull();
  });

  it('parses --sandbox and --no-train-network, and rejects what cannot work', () => {
    const run = (argv: string[]) => parseRunArgs(['--tag', 't', ...argv]);
    expect(run([])).toMatchObject({ kind: 'run', args: { sandbox: 'auto', trainNetwork: true } });
    expect(run(['--sandbox', 'on', '--no-train-network'])).toMatchObject({ kind: 'run', args: { sandbox: 'on', trainNetwork: false } });
    expect(run(['--sandbox', 'maybe'])).toMatchObject({ kind: 'error', message: expect.stringContaining('--sandbox must be auto, on or off, got "maybe"') });
    expect(run(['--sandbox', 'off', '--no-train-network'])).toMatchObject({ kind: 'error', message: expect.stringContaining('--no-train-network needs the sandbox') });
  });
});
