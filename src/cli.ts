#!/usr/bin/env node
// Entry point: `autoresearch [results|demo|init] ...`; anything else is the loop itself.

import fs from 'node:fs';
import { parseRunArgs, RUN_HELP } from './cli/args.js';

// React's development build (the default without NODE_ENV) records a performance entry per render:
// over a night of dashboard redraws that is an unbounded leak. Set before React is first imported.
process.env['NODE_ENV'] ??= 'production';

// Commands are imported when chosen: `results` or `--help` should not pay for loading the SDK and Ink.

/** The bundle of the GPU kit (bench/gpu/pack.sh) has its version written in at build time: no package.json lies beside it. */
declare const AUTORESEARCH_BUNDLED_VERSION: string | undefined;

function version(): string {
  if (typeof AUTORESEARCH_BUNDLED_VERSION === 'string') return AUTORESEARCH_BUNDLED_VERSION;
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const io = { cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, env: process.env };
  const [first, ...rest] = argv;
  switch (first) {
    case 'results':
      return (await import('./commands/results.js')).resultsCommand(rest, io);
    case 'demo':
      return (await import('./commands/demo.js')).demoCommand(rest, io);
    case 'init':
      return (await import('./commands/init.js')).initCommand(rest, io);
    case 'help':
      io.stdout.write(`${RUN_HELP}\n`);
      return 0;
  }
  const parsed = parseRunArgs(argv);
  switch (parsed.kind) {
    case 'help':
      io.stdout.write(`${RUN_HELP}\n`);
      return 0;
    case 'version':
      io.stdout.write(`${version()}\n`);
      return 0;
    case 'error':
      io.stderr.write(`autoresearch: ${parsed.message}\n`);
      return 2;
    case 'run':
      return (await import('./cli/run.js')).runCommand(parsed.args, io);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`autoresearch: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
