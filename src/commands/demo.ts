// `autoresearch demo`: the whole loop for a newcomer with no GPU and no API key. A throwaway git
// repository with a two-second toy trainer, the real engine, git and Claude agent code, and a
// scripted model answering on localhost through the fake Messages API. About half a minute.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { DEFAULT_MODEL } from '../agent/claude/model.js';
import { makeEngineConfig } from '../engine/config.js';
import type { Agent } from '../engine/types.js';
import { DEMO_PROGRAM, TOY_TIME_BUDGET_SEC, toyTrainer } from '../demo/trainer.js';
import { formatDuration } from '../ui/format.js';
import type { CommandIO } from './results.js';
// The engine, the agent, the SDK, the fake API and Ink are imported when the demo runs, not when
// the CLI loads this module: `autoresearch results` should not pay for them.

export const DEMO_HELP = `Usage: autoresearch demo [--dir D] [--no-tui]

Watch the whole loop work in about half a minute, with no GPU and no API key: a throwaway git
repository with a two-second toy trainer (python3, standard library only), the real engine, git
and Claude agent code, and a scripted model served on localhost. Nothing is sent anywhere and
nothing is billed; the cost shown is what the tokens would cost at ${DEFAULT_MODEL} prices.

Options:
  --dir <D>     where to create the demo repository (new or empty; default: a fresh temp directory)
  --no-tui      plain timestamped lines instead of the dashboard
  -h, --help    show this help
`;

export const DEMO_BANNER = 'DEMO · scripted model, toy trainer · no GPU, no API key, nothing billed';
export const DEMO_TAG = 'demo';
/** The morning report the demo ends by writing, in the demo repository (ignored by its .gitignore). */
export const DEMO_REPORT = 'report.html';
/** Not a secret: the fake API on localhost is the only thing that ever sees it. */
const DEMO_KEY = 'sk-ant-demo-not-a-real-key';

/** Knobs for tests: a faster demo with the same code path. */
export interface DemoPacing {
  thinkMs?: number; // pause before each scripted reply
  trainSeconds?: number; // the toy trainer's time budget
}

async function hasPython(): Promise<boolean> {
  try {
    await promisify(execFile)('python3', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** A new throwaway repository holding the toy workspace, committed, with a local identity. */
export async function createDemoRepo(dir: string, trainSeconds = TOY_TIME_BUDGET_SEC): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'train.py'), toyTrainer(trainSeconds));
  fs.writeFileSync(path.join(dir, 'program.md'), DEMO_PROGRAM);
  fs.writeFileSync(path.join(dir, '.gitignore'), `__pycache__/\n/${DEMO_REPORT}\n`);
  const git = simpleGit(dir);
  await git.init();
  // A throwaway repository gets its own identity, so the demo works on a machine with no git config.
  await git.addConfig('user.name', 'autoresearch demo');
  await git.addConfig('user.email', 'demo@autoresearch.invalid');
  await git.add(['train.py', 'program.md', '.gitignore']);
  await git.commit('toy research workspace for autoresearch demo');
}

export async function demoCommand(argv: string[], io: CommandIO, pacing: DemoPacing = {}): Promise<number> {
  let values: { dir?: string; 'no-tui'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { dir: { type: 'string' }, 'no-tui': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr.write(`autoresearch demo: ${(err as Error).message}\n\n${DEMO_HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(DEMO_HELP);
    return 0;
  }
  if (!(await hasPython())) {
    io.stderr.write('autoresearch demo: the toy trainer needs python3 on PATH (any Python 3, standard library only). Install it and run the demo again.\n');
    return 1;
  }

  let dir: string;
  if (values.dir !== undefined) {
    dir = path.resolve(io.cwd, values.dir);
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
      io.stderr.write(`autoresearch demo: ${dir} is not empty. Pass a new or empty directory to --dir, or leave --dir out to use a temp directory.\n`);
      return 2;
    }
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autoresearch-demo-'));
  }
  await createDemoRepo(dir, pacing.trainSeconds);
  io.stdout.write(`autoresearch demo: throwaway repository ${dir}\n`);

  const [{ ClaudeAgent }, { runWithUi }, { startFakeApi }, { DEMO_PLAN, scriptedResearcher }] = await Promise.all([
    import('../agent/claude/agent.js'),
    import('../cli/run.js'),
    import('../fakeapi/index.js'),
    import('../demo/model.js'),
  ]);
  const api = await startFakeApi(scriptedResearcher({ thinkMs: pacing.thinkMs }), { requireKey: DEMO_KEY });
  const started = Date.now();
  let code: number;
  try {
    const claude = new ClaudeAgent({ apiKey: DEMO_KEY, baseURL: api.url, model: DEFAULT_MODEL, maxTurns: 10, retryBaseMs: 200 });
    // The real agent does the work; the header says plainly that a script answers it.
    const agent: Agent = { name: `scripted model (priced as ${DEFAULT_MODEL})`, propose: (ctx, signal, onActivity) => claude.propose(ctx, signal, onActivity) };
    const config = makeEngineConfig(dir, DEMO_TAG, {
      runCmd: 'python3 train.py',
      timeoutSec: 30,
      fixAttempts: 0, // a crash stays a crash: the demo shows one
      maxExperiments: DEMO_PLAN.length,
      // The scripted story is a sequence (each step answers the result before it), so the demo
      // drafts one experiment at a time; the toy trainer is deterministic, so one baseline run says it all.
      lookahead: 0,
      baselineRuns: 1,
    });
    const stdout = io.stdout as NodeJS.WriteStream;
    code = await runWithUi(config, agent, { cwd: dir, stdout, stderr: io.stderr as NodeJS.WriteStream, env: process.env }, {
      tui: values['no-tui'] ? false : null,
      banner: DEMO_BANNER,
    });
  } finally {
    await api.close();
  }

  const took = formatDuration((Date.now() - started) / 1000);
  const report = await writeDemoReport(dir, io);
  io.stdout.write(
    [
      '',
      `Demo ${code === 0 ? 'finished' : `stopped (exit ${code})`} in ${took}. Everything it did is in ${dir}:`,
      `  cd ${dir}`,
      '  git log --oneline autoresearch/demo      the kept experiments, one commit each',
      ...(report ? [`  ${DEMO_REPORT.padEnd(39)}  the morning report: open it in any browser (results --html FILE)`] : []),
      '  npx autoresearch results --plot progress.png',
      '  ls .autoresearch/demo/                   run logs and the model transcripts',
      'For real research: npx autoresearch init my-research',
      '',
    ].join('\n'),
  );
  return code;
}

/** The demo's morning report (results --html), or null when there is nothing to report or it failed (said on stderr). */
async function writeDemoReport(dir: string, io: CommandIO): Promise<string | null> {
  try {
    const [{ readResultsFile, RESULTS_FILE }, { writeReport }] = await Promise.all([import('../ledger/results.js'), import('./report.js')]);
    const file = path.join(dir, RESULTS_FILE);
    if (!fs.existsSync(file)) return null;
    const rows = readResultsFile(file).rows.filter((r) => r.tag === DEMO_TAG);
    if (rows.length === 0) return null;
    return (await writeReport(DEMO_REPORT, dir, [{ tag: DEMO_TAG, metric: 'val_bpb', direction: 'min', rows }])).path;
  } catch (err) {
    io.stderr.write(`autoresearch demo: could not write the report: ${(err as Error).message}\n`);
    return null;
  }
}
