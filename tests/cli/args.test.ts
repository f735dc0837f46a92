import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseDuration, parseGpus, parseRunArgs, RUN_HELP } from '../../src/cli/args.js';
import { parseGpuList } from '../../src/exec/gpus.js';
import { gpusOf } from '../../src/cli/run.js';

describe('parseRunArgs', () => {
  it('applies the documented defaults', () => {
    const r = parseRunArgs(['--tag', 'rope-scaling']);
    expect(r).toEqual({
      kind: 'run',
      args: {
        tag: 'rope-scaling', maxExperiments: null, maxHours: null, maxCostUsd: null, runCmd: 'uv run train.py', timeoutSec: 600,
        metric: 'val_bpb', direction: 'min', editable: ['train.py'], fixAttempts: 1, program: 'program.md', tui: null,
        model: null, maxTurns: 30, apiPatienceSec: 3600, provider: 'anthropic', baseUrl: null, priceIn: null, priceOut: null, sandbox: 'auto', trainNetwork: true,
        gpus: null, lookahead: 1, baselineRuns: 3, confirmRuns: 3, plateau: 10, executor: 'local', jobs: 1, slurmArgs: [],
      },
    });
  });

  it('reads --executor slurm, --jobs and --slurm-args (split as a shell would)', () => {
    const r = parseRunArgs(['--tag', 'x', '--executor', 'slurm', '--jobs', '8', '--slurm-args', `--partition=gpu --gres=gpu:1 --comment='two words' --time=00:20:00`]);
    expect(r.kind === 'run' && [r.args.executor, r.args.jobs, r.args.slurmArgs]).toEqual(['slurm', 8, ['--partition=gpu', '--gres=gpu:1', '--comment=two words', '--time=00:20:00']]);
  });

  it('refuses SLURM flags that do not fit together, saying why', () => {
    const message = (argv: string[]) => {
      const r = parseRunArgs(['--tag', 'x', ...argv]);
      return r.kind === 'error' ? r.message : '';
    };
    expect(message(['--executor', 'pbs'])).toMatch(/--executor must be local or slurm, got "pbs"/);
    expect(message(['--executor', 'slurm', '--gpus', '0,1'])).toMatch(/--gpus does not go with --executor slurm: SLURM assigns the GPUs; ask for them in --slurm-args \(e\.g\. --gres=gpu:1\)/);
    expect(message(['--jobs', '4'])).toMatch(/--jobs applies to --executor slurm/);
    expect(message(['--slurm-args', '--mem=1G'])).toMatch(/--slurm-args applies to --executor slurm/);
    expect(message(['--executor', 'slurm', '--jobs', '0'])).toMatch(/--jobs must be a whole number of jobs, 1 or more, got "0"/);
    expect(message(['--executor', 'slurm', '--slurm-args', `--comment='open`])).toMatch(/--slurm-args: unclosed ' quote/);
    expect(message(['--executor', 'slurm', '--no-train-network'])).toMatch(/SLURM jobs are not sandboxed/);
  });

  it('reads --gpus as one slot per GPU, and --lookahead', () => {
    const r = parseRunArgs(['--tag', 'x', '--gpus', '0, 1,3', '--lookahead', '0']);
    expect(r.kind === 'run' && [r.args.gpus, r.args.lookahead]).toEqual([['0', '1', '3'], 0]);
    const all = parseRunArgs(['--tag', 'x', '--gpus', 'all', '--lookahead', '2']);
    expect(all.kind === 'run' && [all.args.gpus, all.args.lookahead]).toEqual(['all', 2]);
    expect(parseGpus('GPU-8f0e2c1a-1b2c-4d5e-9f00-0123456789ab,1')).toEqual(['GPU-8f0e2c1a-1b2c-4d5e-9f00-0123456789ab', '1']);
  });

  it('reads --baseline-runs and --confirm-runs, and refuses counts that cannot work', () => {
    const r = parseRunArgs(['--tag', 'x', '--baseline-runs', '1', '--confirm-runs', '0']);
    expect(r.kind === 'run' && [r.args.baselineRuns, r.args.confirmRuns]).toEqual([1, 0]);
    const message = (argv: string[]) => {
      const p = parseRunArgs(['--tag', 'x', ...argv]);
      return p.kind === 'error' ? p.message : '';
    };
    expect(message(['--baseline-runs', '0'])).toMatch(/--baseline-runs must be a whole number of runs, 1 or more, got "0"/);
    expect(message(['--confirm-runs', '-1'])).toMatch(/--confirm-runs must be a whole number of runs, 0 or more, got "-1"/);
    expect(message(['--confirm-runs', '50'])).toMatch(/--confirm-runs must be at most 20 runs, got "50"/);
  });

  it('refuses GPU lists and lookaheads that cannot work, saying what is allowed', () => {
    const message = (argv: string[]) => {
      const r = parseRunArgs(['--tag', 'x', ...argv]);
      return r.kind === 'error' ? r.message : '';
    };
    expect(message(['--gpus', '0,,1'])).toMatch(/--gpus takes GPU numbers separated by commas \(e\.g\. 0,1,2,3\), GPU UUIDs, or all; got "0,,1"/);
    expect(message(['--gpus', 'cuda:0'])).toMatch(/--gpus takes GPU numbers/);
    expect(message(['--gpus', '1,1'])).toMatch(/--gpus names a GPU twice/);
    expect(message(['--lookahead', '-1'])).toMatch(/--lookahead must be a whole number of experiments, 0 or more, got "-1"/);
    expect(message(['--lookahead', '1.5'])).toMatch(/--lookahead must be a whole number/);
  });

  it('--gpus all reads the GPUs from nvidia-smi -L, and says so plainly where it cannot', () => {
    const listing = [
      'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-8f0e2c1a-1b2c-4d5e-9f00-0123456789ab)',
      'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-9a1f3d2b-2c3d-5e6f-a011-123456789abc)',
      '  MIG 1g.10gb      Device  0: (UUID: MIG-0f1e2d3c-4b5a-6978-8a9b-abcdef012345)',
      '',
    ].join('\n');
    expect(parseGpuList(listing)).toEqual(['0', '1']);
    const r = parseRunArgs(['--tag', 'x', '--gpus', 'all']);
    if (r.kind !== 'run') throw new Error('expected run');
    // This machine has no nvidia-smi on this PATH: the user is told to name the GPUs instead.
    expect(gpusOf(r.args, { PATH: '/nonexistent' })).toEqual({
      error: '--gpus all: nvidia-smi is not on PATH, so the GPUs cannot be listed. Name the GPUs instead, e.g. --gpus 0,1 (the numbers nvidia-smi shows).',
    });
    expect(gpusOf({ ...r.args, gpus: ['2'] }, {})).toEqual(['2']);
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

  it('reads --provider openai with --base-url and --price-in/--price-out, and refuses what cannot work', () => {
    const r = parseRunArgs(['--tag', 'x', '--provider', 'openai', '--model', 'qwen2.5-coder', '--base-url', 'http://localhost:11434/v1', '--price-in', '0.5', '--price-out', '$1.5']);
    expect(r.kind === 'run' && r.args).toMatchObject({ provider: 'openai', model: 'qwen2.5-coder', baseUrl: 'http://localhost:11434/v1', priceIn: 0.5, priceOut: 1.5 });
    expect(parseRunArgs(['--tag', 'x', '--provider', 'openai', '--price-in', '0', '--price-out', '0'])).toMatchObject({ kind: 'run', args: { priceIn: 0, priceOut: 0 } });
    const msg = (argv: string[]) => {
      const p = parseRunArgs(['--tag', 'x', ...argv]);
      return p.kind === 'error' ? p.message : `no error: ${p.kind}`;
    };
    expect(msg(['--provider', 'gemini'])).toMatch(/--provider must be anthropic or openai, got "gemini"/);
    expect(msg(['--provider', 'openai', '--base-url', 'localhost:11434'])).toMatch(/--base-url must be an http\(s\) URL/);
    expect(msg(['--provider', 'openai', '--price-in', '1'])).toMatch(/--price-in and --price-out go together/);
    expect(msg(['--provider', 'openai', '--price-in', 'cheap', '--price-out', '1'])).toMatch(/--price-in must be a price in US dollars per million tokens/);
    expect(msg(['--price-in', '1', '--price-out', '2'])).toMatch(/apply to --provider openai/);
    expect(RUN_HELP).toMatch(/--provider <name>[\s\S]*--base-url <url>[\s\S]*--price-in <usd>[\s\S]*--price-out <usd>[\s\S]*OPENAI_API_KEY[\s\S]*any placeholder/);
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

  it('says what values a numeric flag allows, negative numbers included (either form)', () => {
    const msg = (argv: string[]) => {
      const r = parseRunArgs(['--tag', 'x', ...argv]);
      return r.kind === 'error' ? r.message : `no error: ${r.kind}`;
    };
    expect(msg(['--timeout', '-5'])).toMatch(/--timeout must be a positive number of seconds, got "-5"/);
    expect(msg(['--timeout=-5'])).toMatch(/--timeout must be a positive number of seconds, got "-5"/);
    expect(msg(['--max-experiments', '-1'])).toMatch(/--max-experiments must be a whole number of experiments, 0 or more, got "-1"/);
    expect(msg(['--max-cost', '-1'])).toMatch(/--max-cost must be a positive amount of US dollars .*got "-1"/);
    expect(msg(['--max-cost', '-$1'])).toMatch(/--max-cost must be a positive amount of US dollars .*got "-\$1"/);
    expect(msg(['--max-hours', '-0.5'])).toMatch(/--max-hours must be a positive number of hours .*got "-0\.5"/);
    expect(msg(['--api-patience', '-5'])).toMatch(/--api-patience must be a positive duration like 3600, 90m or 1h, got "-5"/);
    expect(msg(['--fix-attempts', '-1'])).toMatch(/--fix-attempts must be a whole number, 0 or more, got "-1"/);
    expect(msg(['--max-turns', '-3'])).toMatch(/--max-turns must be a whole number, 1 or more, got "-3"/);
    expect(msg(['--provider', 'openai', '--model', 'm', '--price-in', '-1', '--price-out', '2'])).toMatch(/--price-in must be a price in US dollars per million tokens \(0 or more\), got "-1"/);
    expect(msg(['--provider', 'openai', '--model', 'm', '--price-in', '1', '--price-out', '-2'])).toMatch(/--price-out must be a price .*got "-2"/);
    expect(msg(['--gpus', '-1'])).toMatch(/--gpus takes GPU numbers separated by commas .*got "-1"/);
    // Every problem at once, and nothing that reads as a parser's complaint.
    const all = msg(['--timeout', '-5', '--max-turns', '-3']);
    expect(all).toMatch(/--timeout/);
    expect(all).toMatch(/--max-turns/);
    expect(all).not.toMatch(/ambiguous/);
    // A value that merely starts with a dash is still a value for flags that take text.
    const r = parseRunArgs(['--tag', 'x', '--timeout', '1.5']);
    expect(r.kind === 'run' && r.args.timeoutSec).toBe(1.5);
  });

  it('refuses tags git or the file system cannot use, saying what is allowed', () => {
    const msg = (tag: string) => {
      const r = parseRunArgs(['--tag', tag]);
      return r.kind === 'error' ? r.message : `no error: ${r.kind}`;
    };
    expect(msg('x'.repeat(300))).toMatch(/at most 100 characters: letters, digits/);
    expect(msg('-x')).toMatch(/starting with a letter or digit/); // not the parser's "ambiguous"
    expect(msg('x'.repeat(300)).length).toBeLessThan(400);
    expect(msg('trailing.')).toMatch(/cannot name a git branch/);
    expect(msg('a/b')).toMatch(/cannot name a git branch/);
    expect(parseRunArgs(['--tag', 'x'.repeat(100)]).kind).toBe('run');
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
