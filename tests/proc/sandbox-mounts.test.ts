// The sandbox's mounts, with real bwrap, a real repository and worktree, and a home outside /tmp
// (so that hiding $HOME, not the private /tmp, is what is tested): the worktree's .git cannot be
// rewritten from either sandbox; the project's .venv in a checkout under $HOME is visible to the
// shell (read-only) and to the run (writable); a compile cache that did not exist yet persists; no
// host Unix socket under /run is in the reach of the shell or the run; a checkout under the host's /tmp (which the
// run shares) is read-only to the run but for its worktree.

import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxedCommand, sandboxSupport } from '../../src/proc/sandbox.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

const support = sandboxSupport();
if (!support.ok) console.warn(`sandbox mount tests skipped: ${support.reason}`);

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A home under /var/tmp holding a repository with a .venv, and a worktree of it where the engine makes them. */
function homeWithRepo(parent?: string) {
  const home = fs.mkdtempSync('/var/tmp/ar-home-');
  temps.push(home);
  const dir = makeWorkspace({ parent: parent ?? home });
  if (parent) temps.push(dir);
  const venv = path.join(dir, '.venv');
  fs.mkdirSync(venv);
  fs.writeFileSync(path.join(venv, 'marker'), 'venv-marker\n');
  fs.writeFileSync(path.join(home, '.bashrc'), 'bashrc-secret\n');
  const wt = path.join(dir, '.autoresearch', 't', 'worktrees', '0001');
  git(dir, 'worktree', 'add', '-q', '--detach', wt, 'HEAD');
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, UV_PROJECT_ENVIRONMENT: venv };
  return { home, dir, wt, venv, env, pointer: fs.readFileSync(path.join(wt, '.git'), 'utf8') };
}

function inSandbox(kind: 'shell' | 'training', cwd: string, env: Record<string, string>, script: string, protect?: string[]) {
  const [file, ...args] = sandboxedCommand(kind, ['bash', '-c', script], { cwd, env, ...(protect ? { protect } : {}) });
  const r = spawnSync(file!, args, { cwd, env, encoding: 'utf8', timeout: 20_000 });
  return r.stdout + r.stderr;
}

const attempt = (what: string, cmd: string) => `if (${cmd}) 2>/dev/null; then echo "${what}-DONE"; else echo "${what}-REFUSED"; fi`;

describe.skipIf(!support.ok)('the sandbox mounts (bubblewrap)', () => {
  it("the model's shell: .git read-only, the checkout's .venv under $HOME visible read-only, the home otherwise empty, /run empty", async () => {
    const { wt, venv, env, pointer } = homeWithRepo();
    const sock = `/run/ar-test-${process.pid}.sock`;
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      const out = inSandbox(
        'shell',
        wt,
        env,
        [attempt('GIT', `echo "gitdir: $PWD/evil" > .git`), `cat "$UV_PROJECT_ENVIRONMENT/marker"`, attempt('VENV-WRITE', `touch "$UV_PROJECT_ENVIRONMENT/x"`), `cat ~/.bashrc 2>&1`, `ls -A /run; echo RUN-LISTED`].join('; '),
      );
      expect(out).toContain('GIT-REFUSED');
      expect(out).toContain('venv-marker');
      expect(out).toContain('VENV-WRITE-REFUSED');
      expect(out).not.toContain('bashrc-secret');
      expect(out).toMatch(/(^|\n)RUN-LISTED/); // nothing listed before it
      expect(out).not.toContain(path.basename(sock));
      expect(fs.readFileSync(path.join(wt, '.git'), 'utf8')).toBe(pointer);
      expect(fs.existsSync(path.join(venv, 'x'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('the training run: .git read-only, the .venv writable (uv may sync), a new compile cache kept, ~/.bashrc and ~/.ssh unreadable', () => {
    const { home, wt, venv, env, pointer } = homeWithRepo();
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh', 'id_ed25519'), 'ssh-secret\n');
    expect(fs.existsSync(path.join(home, '.triton'))).toBe(false);
    const out = inSandbox(
      'training',
      wt,
      env,
      [attempt('GIT', `echo "gitdir: $PWD/evil" > .git`), attempt('VENV-WRITE', `touch "$UV_PROJECT_ENVIRONMENT/synced"`), `mkdir -p ~/.triton/cache && echo kernel > ~/.triton/cache/k`, `cat ~/.bashrc ~/.ssh/id_ed25519 2>&1`].join('; '),
    );
    expect(out).toContain('GIT-REFUSED');
    expect(out).toContain('VENV-WRITE-DONE');
    expect(out).not.toContain('bashrc-secret');
    expect(out).not.toContain('ssh-secret');
    expect(fs.readFileSync(path.join(wt, '.git'), 'utf8')).toBe(pointer);
    expect(fs.existsSync(path.join(venv, 'synced'))).toBe(true);
    expect(fs.readFileSync(path.join(home, '.triton', 'cache', 'k'), 'utf8')).toBe('kernel\n');
  });

  it("the training run: no host Unix socket under /run (docker.sock, the session bus), the resolver's config still readable", async () => {
    const { wt, env } = homeWithRepo();
    const sock = `/run/ar-test-train-${process.pid}.sock`;
    const server = net.createServer((c) => c.end('HOST-DAEMON\n')).listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      const reach = `python3 -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect('${sock}'); print(s.recv(64).decode())"`;
      // The control, outside: the socket answers (spawned without blocking, so this process's server can).
      const bare = await new Promise<string>((resolve) => execFile('bash', ['-c', reach], { encoding: 'utf8', timeout: 20_000 }, (_e, stdout) => resolve(stdout)));
      expect(bare).toContain('HOST-DAEMON');
      const out = inSandbox('training', wt, env, [attempt('SOCKET', reach), `cat /etc/resolv.conf >/dev/null 2>&1 && echo RESOLV-READ || echo RESOLV-MISSING`].join('; '));
      expect(out).toContain('SOCKET-REFUSED');
      expect(out).not.toContain('HOST-DAEMON');
      if (fs.existsSync('/etc/resolv.conf')) expect(out).toContain('RESOLV-READ');
    } finally {
      server.close();
    }
  });

  it('the training run, with the checkout under the host /tmp it shares: the checkout and its .git read-only, the worktree writable', () => {
    const { dir, wt, env } = homeWithRepo('/tmp');
    const out = inSandbox(
      'training',
      wt,
      env,
      [attempt('CONFIG', `git config --file ${dir}/.git/config core.fsmonitor 'touch /tmp/x'`), attempt('PROGRAM', `echo x >> ${dir}/program.md`), attempt('WORKTREE', 'echo x >> train.py')].join('; '),
      [dir],
    );
    expect(out).toContain('CONFIG-REFUSED');
    expect(out).toContain('PROGRAM-REFUSED');
    expect(out).toContain('WORKTREE-DONE');
    expect(fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8')).not.toContain('fsmonitor');
  });
});
