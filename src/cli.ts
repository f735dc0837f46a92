#!/usr/bin/env node
// Entry point: `autoresearch [results|demo|init] ...`; anything else is the loop itself.

import fs from 'node:fs';
import { parseRunArgs, RUN_HELP } from './cli/args.js';
import { runCommand } from './cli/run.js';
import { demoCommand } from './commands/demo.js';
import { initCommand } from './commands/init.js';
import { resultsCommand } from './commands/results.js';

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const io = { cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, env: process.env };
  const [first, ...rest] = argv;
  switch (first) {
    case 'results':
      return resultsCommand(rest, io);
    case 'demo':
      return demoCommand(rest, io);
    case 'init':
      return initCommand(rest, io);
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
      return runCommand(parsed.args, io);
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
