// `--gpus all`: the GPUs of this machine, as nvidia-smi lists them.

import { spawnSync } from 'node:child_process';

/** The GPU numbers in `nvidia-smi -L` output ("GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-…)"), in order. */
export function parseGpuList(text: string): string[] {
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^GPU (\d+):/.exec(line.trim());
    if (m?.[1] !== undefined) ids.push(m[1]);
  }
  return ids;
}

/** This machine's GPUs, or a message saying why they cannot be listed. */
export function listGpus(env: NodeJS.ProcessEnv): string[] | { problem: string } {
  const r = spawnSync('nvidia-smi', ['-L'], { env, encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    return { problem: missing ? 'nvidia-smi is not on PATH, so the GPUs cannot be listed' : `nvidia-smi -L failed: ${r.error.message}` };
  }
  if (r.status !== 0) return { problem: `nvidia-smi -L failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}` };
  const ids = parseGpuList(r.stdout);
  return ids.length > 0 ? ids : { problem: 'nvidia-smi -L lists no GPU' };
}
