/**
 * `recgw keys`: make the keys recordings are sealed for, and name them.
 * Prints file names and key ids, never key material.
 */
import { CryptoError } from '../crypto/errors.js';
import { generateKeyPair, generateSymmetricKey, keyIdOf } from '../crypto/keys.js';
import { parseCommandArgs, required, UsageError } from './args.js';

export const KEYS_USAGE = `usage: recgw keys <command> [options]

commands:
  generate --dir DIR [--type x25519|rsa]
                          write a key pair into DIR (default type x25519). The gateway gets the
                          public key; the private key (mode 0600) stays with whoever plays recordings
  generate-symmetric --file FILE
                          write a 256-bit symmetric key file (mode 0600); the gateway can then
                          open its own recordings, so prefer a key pair
  id FILE                 print the key id of a public, private or symmetric key file
`;

export interface KeysOutput {
  readonly out: { write(s: string): unknown };
  readonly err: { write(s: string): unknown };
}

function run(args: readonly string[], io: KeysOutput): number {
  const [command, ...rest] = args;
  switch (command) {
    case 'generate': {
      const opts = parseCommandArgs(rest, { values: ['--dir', '--type'] });
      const type = opts.values.get('--type') ?? 'x25519';
      if (type !== 'x25519' && type !== 'rsa') throw new UsageError(`--type must be x25519 or rsa, not '${type}'`);
      const made = generateKeyPair(required(opts, '--dir'), { type });
      io.out.write(`key id       ${made.id}\npublic key   ${made.publicKeyFile}\nprivate key  ${made.privateKeyFile} (mode 0600; keep it off the gateway)\n`);
      return 0;
    }
    case 'generate-symmetric': {
      const made = generateSymmetricKey(required(parseCommandArgs(rest, { values: ['--file'] }), '--file'));
      io.out.write(`key id       ${made.id}\nkey file     ${made.keyFile} (mode 0600)\n`);
      return 0;
    }
    case 'id': {
      const [file] = parseCommandArgs(rest, { positionals: 1 }).positionals;
      if (file === undefined) throw new UsageError('id takes one key file');
      io.out.write(`${keyIdOf(file)}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out.write(KEYS_USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown keys command '${command}'`);
  }
}

/** Exit status: 0 done, 1 a key problem (message on stderr), 2 a usage error. */
export function runKeys(args: readonly string[], io: KeysOutput = { out: process.stdout, err: process.stderr }): Promise<number> {
  try {
    return Promise.resolve(run(args, io));
  } catch (err) {
    if (err instanceof UsageError) {
      io.err.write(`recgw keys: ${err.message}\n\n${KEYS_USAGE}`);
      return Promise.resolve(2);
    }
    if (err instanceof CryptoError) {
      io.err.write(`recgw keys: ${err.message}\n`);
      return Promise.resolve(1);
    }
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
