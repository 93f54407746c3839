/** A spool opened for one test and closed after it. */
import type { TestContext } from 'node:test';
import { Spool, type SpoolOptions } from '../../src/storage/spool.js';

export async function openSpool(t: TestContext, opts: Omit<SpoolOptions, 'maxBytes'> & { readonly maxBytes?: number }): Promise<Spool> {
  const spool = new Spool({ maxBytes: 1 << 30, ...opts });
  await spool.open();
  t.after(() => spool.close());
  return spool;
}
