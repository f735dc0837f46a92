// The loop's defaults in one place: the CLI's flags, the demo, the benches and the tests all
// start from here and override what they need.

import type { EngineConfig } from './types.js';

export const ENGINE_DEFAULTS = {
  runCmd: 'uv run train.py',
  timeoutSec: 600,
  metric: 'val_bpb',
  direction: 'min',
  editable: ['train.py'],
  fixAttempts: 1,
  programPath: 'program.md',
  lookahead: 1,
  baselineRuns: 3,
  confirmRuns: 3,
  plateau: 10,
  sandbox: 'auto',
  trainNetwork: true,
} as const satisfies Partial<EngineConfig>;

export function makeEngineConfig(repoDir: string, tag: string, over: Partial<EngineConfig> = {}): EngineConfig {
  return {
    ...ENGINE_DEFAULTS,
    editable: [...ENGINE_DEFAULTS.editable],
    repoDir,
    tag,
    maxExperiments: null,
    maxHours: null,
    maxCostUsd: null,
    gpus: null,
    ...over,
  };
}
