import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseDuration, parseRunArgs, RUN_HELP } from '../../src/cli/args.js';

describe('parseRunArgs', () => {
  it('applies the documented defaults', () => {
    const r = parseRunArgs(['--tag', 'rope-scaling']);
    expect(r).toEqual({
      kind: 'run',
      args: {
        tag: 'rope-scaling', maxExperiments: null, maxHours: null, maxCostUsd: null, runCmd: 'uv run train.py', timeoutSec: 600,
        metric: 'val_bpb', direction: 'min', editable: ['train.py'], fixAttempts: 1, program: 'program.md', tui: null,
        model: null, maxTurns: 30, apiPatienceSec: 3600, sandbox: 'auto', trainNetwork: true,
      },
    });
  });

  it('reads every flag', () => {
    const r = parseRunArgs([
      '--tag=x', '--max-experiments', '5', '--max-hours', '0.5', '--max-cost', '$3', '--run-cmd', 'python3 t.py', '--timeout', '90',
      '--metric', 'acc', '--direction', 'max', '--editable', 'train.py, ./model.py', '--fix-attempts', '0', '--program', 'p.md',
      '--no-tui', '--model', 'claude-x', '--max-turns', '7', '--api-patience', '90m',
    ]);
    expect(r.kind === 'run' && r.args).toMatchObject({
      tag: 'x', maxExperiments: 5, maxHours: 0.5, maxCostUsd: 3, runCmd: 'python3 t.py', timeoutSec: 90, metric: 'acc', direction: 'max',
      editable: ['train.py', 'model.py'], fixAttempts: 0, program: 'p.md', tui: false, model: 'claude-x', maxTurns: 7, apiPatienceSec: 5400,
    });
  });

  it('reports bad flags clearly', () => {
    const msg = (argv: string[]) => {
      const r = parseRunArgs(argv);
      return r.kind === 'error' ? r.message : `no error: ${r.kind}`;
    };
    expect(msg([])).toMatch(/Missing --tag/);
    expect(msg(['--tag', 'a b'])).toMatch(/cannot name a git branch/);
    expect(msg(['--tag', 'x', '--direction', 'up'])).toMatch(/--direction must be min or max/);
    expect(msg(['--tag', 'x', '--timeout', '0'])).toMatch(/--timeout must be a positive number/);
    expect(msg(['--tag', 'x', '--max-experiments', '2.5'])).toMatch(/whole number/);
    expect(msg(['--tag', 'x', '--editable', '../etc/passwd'])).toMatch(/inside the repository/);
    expect(msg(['--tag', 'x', '--bogus'])).toMatch(/Unknown option '--bogus'/);
    expect(msg(['--tag', 'x', 'extra'])).toMatch(/Unexpected argument "extra"/);
    expect(msg(['--tag', 'x', '--api-patience', 'soon'])).toMatch(/--api-patience/);
  });

  it('knows help and version', () => {
    expect(parseRunArgs(['--help']).kind).toBe('help');
    expect(parseRunArgs(['-v']).kind).toBe('version');
  });

  it('documents every flag with its default in --help', () => {
    for (const flag of ['--tag', '--max-experiments', '--max-hours', '--max-cost', '--run-cmd', '--timeout', '--metric', '--direction',
      '--editable', '--fix-attempts', '--program', '--model', '--max-turns', '--api-patience', '--no-tui']) {
      expect(RUN_HELP).toContain(flag);
    }
    expect(RUN_HELP).toContain(`[${DEFAULTS.runCmd}]`);
    expect(RUN_HELP).toContain('[600]');
  });
});

describe('parseDuration', () => {
  it('understands seconds, minutes and hours', () => {
    expect(parseDuration('3600')).toBe(3600);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('90m')).toBe(5400);
    expect(parseDuration('1.5h')).toBe(5400);
    expect(parseDuration('0')).toBeNull();
    expect(parseDuration('1d')).toBeNull();
  });
});
