import { RecgwError } from '../errors.js';

/**
 * Failures of the recording file format and of key handling:
 * - `BAD_HEADER`: not a recording, an unsupported version, or a header field that breaks the layout;
 * - `WRONG_KEY`: the recording was sealed for another key, or the data key does not unwrap;
 * - `TAMPERED`: a header or a chunk fails authentication, or bytes follow the final chunk;
 * - `TRUNCATED`: the file ends inside its header or a chunk record, or without its final chunk;
 * - `REORDERED`: a chunk authenticates, but as another position than the one it sits in;
 * - `KEY_INVALID`: a key file that cannot be used the way it was asked for;
 * - `KEY_EXISTS`: generating a key would overwrite a file;
 * - `SEALED`: a chunk offered after the final one (a caller's mistake, not a file's).
 *
 * Chunk errors carry the chunk's index (from 0) in `chunk`. No message ever holds key material.
 */
export type CryptoErrorCode = 'BAD_HEADER' | 'WRONG_KEY' | 'TAMPERED' | 'TRUNCATED' | 'REORDERED' | 'KEY_INVALID' | 'KEY_EXISTS' | 'SEALED';

export class CryptoError extends RecgwError {
  declare readonly code: CryptoErrorCode;
  readonly chunk?: number;

  constructor(code: CryptoErrorCode, message: string, options?: ErrorOptions & { readonly chunk?: number }) {
    super(code, message, options);
    if (options?.chunk !== undefined) this.chunk = options.chunk;
  }
}

/** "chunk 7 of 12: ..." — chunks count from 0; "of N" is the number of whole records in the file. */
export function chunkError(code: 'TAMPERED' | 'TRUNCATED' | 'REORDERED', chunk: number, of: number, what: string): CryptoError {
  return new CryptoError(code, `chunk ${chunk} of ${of}: ${what}`, { chunk });
}
