#!/usr/bin/env node
/**
 * The `recgw` command. Parses arguments and hands over: no business logic here.
 */
import { ConfigError } from '../config/load.js';
import { RecgwError } from '../errors.js';
import { parseCommandArgs, UsageError } from './args.js';
import { runAudit } from './audit.js';
import { runDemo } from './demo.js';
import { EXPORT_USAGE, runExport } from './export.js';
import { runFind } from './find.js';
import { runKeys } from './keys.js';
import { runLogs } from './logs.js';
import { runStatus } from './status.js';
import { runStart } from './start.js';

const USAGE = `usage: recgw <command> [options]

commands:
  start [--config FILE]   run the gateway (embedded defaults when no file is given;
                          RECGW_SECTION__KEY=value environment variables override)
  demo                    run a complete call through the gateway with SIPp as trunk and
                          agent queue, and print what happened
  keys generate --dir DIR [--type x25519|rsa]
                          make a recording key pair (the private key never needs to be
                          on the gateway); keys generate-symmetric --file FILE
  export ...              decrypt recordings to WAV/MP3 (recgw export --help)
  find --number N ...     every call of one number, and copies of them, for a subject
                          access request (recgw find --help)
  audit verify [FILE]     check the audit log's hash chain (every control action, opt-out,
                          hold, retention deletion and refused token is recorded there);
                          --store checks its copies in the store (recgw audit --help)
  logs [--call ID] [--line NAME] [--level warn] [--tail N] [--config FILE] [--token-file FILE]
                          follow the running gateway's log live
  status [--json] [--config FILE] [--token-file FILE]
                          the running gateway's health in words; exits 1 when
                          recordings are at risk or it does not answer
  help                    this text
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'start':
      return runStart({ configFile: parseCommandArgs(args, { values: ['--config'] }).values.get('--config') });
    case 'demo':
      parseCommandArgs(args, {});
      return runDemo();
    case 'keys':
      return runKeys(args);
    case 'audit':
      return runAudit(args);
    case 'logs':
      return runLogs(args);
    case 'status':
      return runStatus(args);
    case 'find':
      return runFind(args);
    case 'export': {
      const a = parseCommandArgs(args, { values: ['--private-key', '--out', '--format', '--call', '--config', '--by', '--reason', '--line', '--day'], flags: ['--allow-incomplete', '--help'], positionals: 1 });
      if (a.flags.has('--help')) {
        process.stdout.write(EXPORT_USAGE);
        return 0;
      }
      const privateKey = a.values.get('--private-key');
      const out = a.values.get('--out');
      if (privateKey === undefined || out === undefined) throw new UsageError(`export needs --private-key and --out\n\n${EXPORT_USAGE}`);
      const format = a.values.get('--format') ?? 'wav';
      if (format !== 'wav' && format !== 'mp3') throw new UsageError('--format is wav or mp3');
      const [target] = a.positionals;
      const callId = a.values.get('--call');
      const configFile = a.values.get('--config');
      const by = a.values.get('--by');
      const reason = a.values.get('--reason');
      const line = a.values.get('--line');
      const day = a.values.get('--day');
      return runExport({
        ...(line !== undefined ? { line } : {}),
        ...(day !== undefined ? { day } : {}),
        ...(by !== undefined ? { by } : {}),
        ...(reason !== undefined ? { reason } : {}),
        ...(target !== undefined ? { target } : {}),
        ...(callId !== undefined ? { callId } : {}),
        ...(configFile !== undefined ? { configFile } : {}),
        privateKey,
        out,
        allowIncomplete: a.flags.has('--allow-incomplete'),
        format,
      });
    }
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
    } else if (err instanceof RecgwError) {
      // Known failures (a tampered recording, the wrong key, a store that refuses) need no stack trace.
      process.stderr.write(`recgw: ${err.message} (${err.code})\n`);
      process.exitCode = 1;
    } else if (err instanceof UsageError) {
      process.stderr.write(`recgw: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`recgw: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
