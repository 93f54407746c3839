/**
 * The control API's bearer token: from the config, or from a file the
 * gateway makes on first start (32 random bytes, mode 0600) so that
 * `npm start` has a working, secret token with nothing configured. The
 * token itself is never logged; where it lives is.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { ControlConfig, ControlRole, TokenSource } from '../config/types.js';
import { DIR_MODE, FILE_MODE, isErrno, syncDir, tempPathFor, unlinkIfPresent, writeAll } from '../storage/atomic.js';
import { MIN_TOKEN_LENGTH } from './auth.js';

export interface ControlToken {
  readonly token: string;
  /** The file it was read from or made in; undefined when the config holds it. */
  readonly file?: string;
  readonly created: boolean;
}

const PATH = 'control.tokenFile';

/**
 * The token in `file`, or undefined when there is no file. A file other users
 * can read is made private first: anyone holding the token can stop recordings.
 */
async function readToken(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const token = text.trim();
  // A token with a space in it could never be sent in an Authorization header: every request would be refused.
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError(file, [{ path: PATH, message: `must hold one token of at least ${MIN_TOKEN_LENGTH} characters, no spaces` }]);
  }
  const { mode } = await stat(file);
  if ((mode & 0o077) !== 0) {
    try {
      await chmod(file, FILE_MODE);
    } catch (err) {
      throw new ConfigError(file, [{ path: PATH, message: 'is readable by other users and could not be made private (mode 0600)' }], { cause: err });
    }
  }
  return token;
}

/**
 * Writes a new token to a temp file, then links it in under `file`: the file
 * appears whole or not at all (a crash never leaves an empty token file
 * behind), and link() refuses a name that exists, so of two gateways
 * starting at once exactly one makes the token. Undefined when the other did.
 */
async function makeToken(file: string): Promise<string | undefined> {
  const token = randomBytes(32).toString('base64url');
  const tmp = tempPathFor(file);
  const fh = await open(tmp, 'wx', FILE_MODE);
  try {
    try {
      await writeAll(fh, Buffer.from(`${token}\n`));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, file);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw err;
  } finally {
    await unlinkIfPresent(tmp);
  }
  await syncDir(dirname(file));
  return token;
}

export async function loadControlToken(config: TokenSource): Promise<ControlToken> {
  if (config.token !== undefined) return { token: config.token, created: false };
  const file = config.tokenFile;
  const found = await readToken(file);
  if (found !== undefined) return { token: found, file, created: false };
  await mkdir(dirname(file), { recursive: true, mode: DIR_MODE });
  const made = await makeToken(file);
  if (made !== undefined) return { token: made, file, created: true };
  // Another gateway made it between our read and our link: its token is the one.
  const theirs = await readToken(file);
  if (theirs === undefined) throw new ConfigError(file, [{ path: PATH, message: 'was removed while the gateway was starting' }]);
  return { token: theirs, file, created: false };
}

/** The token a client of the API (`recgw logs`) sends: never made here, only read. */
export async function clientControlToken(config: TokenSource): Promise<string> {
  if (config.token !== undefined) return config.token;
  const found = await readToken(config.tokenFile);
  if (found === undefined) throw new ConfigError(config.tokenFile, [{ path: PATH, message: 'does not exist yet: the gateway makes it on its first start' }]);
  return found;
}

/**
 * Each client's token (`control.clients`), files made where missing. Two
 * principals with one token would make the audit log name the wrong one, so
 * that is refused, naming both.
 */
export async function loadClientTokens(control: ControlConfig, mainToken: string): Promise<{ name: string; role: ControlRole; token: string; file?: string }[]> {
  const seen = new Map<string, string>([[mainToken, 'the main token (control.token or control.tokenFile)']]);
  const loaded = [];
  for (const [i, client] of control.clients.entries()) {
    const { token, file } = await loadControlToken(client);
    const other = seen.get(token);
    if (other !== undefined) throw new ConfigError(file ?? 'config', [{ path: `control.clients[${i}]`, message: `has the same token as ${other}: each client needs its own` }]);
    seen.set(token, `control.clients[${i}] (${client.name})`);
    loaded.push({ name: client.name, role: client.role, token, ...(file !== undefined ? { file } : {}) });
  }
  return loaded;
}
