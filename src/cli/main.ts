#!/usr/bin/env node
/**
 * The `recgw` command. Parses arguments and hands over: no business logic here.
 */
import { ConfigError } from '../config/load.js';
import { runDemo } from './demo.js';
import { runStart } from './start.js';

const USAGE = `usage: recgw <command> [options]

commands:
  start [--config FILE]   run the gateway (embedded defaults when no file is given;
                          RECGW_SECTION__KEY=value environment variables override)
  demo                    run a complete call through the gateway with SIPp as trunk and
                          agent queue, and print what happened
  help                    this text
`;

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return v;
}

class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'start':
      return runStart({ configFile: option(args, '--config') });
    case 'demo':
      return runDemo();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`recgw: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof UsageError) {
      process.stderr.write(`recgw: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`recgw: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
