/**
 * The control API's bearer token: from the config, or from a file the
 * gateway makes on first start (32 random bytes, mode 0600) so that
 * `npm start` has a working, secret token with nothing configured. The
 * token itself is never logged; where it lives is.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ControlConfig } from '../config/types.js';
import { MIN_TOKEN_LENGTH } from './auth.js';

export interface ControlToken {
  readonly token: string;
  /** The file it was read from or made in; undefined when the config holds it. */
  readonly file?: string;
  readonly created: boolean;
}

export async function loadControlToken(config: ControlConfig): Promise<ControlToken> {
  if (config.token !== undefined) return { token: config.token, created: false };
  const file = config.tokenFile;
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`control.tokenFile ${file} holds fewer than ${MIN_TOKEN_LENGTH} characters`);
    return { token, file, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  // 'wx': two gateways starting at once must not each write a different token.
  await writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return { token, file, created: true };
}
