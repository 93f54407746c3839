/**
 * Checks the audit log's copies in the store (audit-shipper.ts) without the
 * gateway: for the auditor who must be shown that the record of who did what
 * is whole even where a gateway's disk is gone. Each host's objects are put
 * back together into chains, every record's hash checked against the one
 * before; an object that continues no chain (one missing before it, or an
 * edit) is named.
 */
import { AUDIT_PREFIX, auditHostPrefix, parseAuditCopyKey } from '../recording/layout.js';
import type { ObjectStore } from '../storage/store.js';
import { checkRecords, GENESIS_HASH } from './audit.js';
import { streamToBuffer } from './export.js';

export interface AuditChain {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly objects: number;
}

export interface HostAuditCopies {
  readonly host: string;
  /** One per log the host kept (a new disk starts a new one), in the order they start. */
  readonly chains: AuditChain[];
  /** Objects that break or continue no chain, each said in words. */
  readonly problems: string[];
}

interface Open {
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
  objects: number;
}

/** Every host's copies under `audit/`, or one host's. */
export async function verifyAuditCopies(store: ObjectStore, host?: string): Promise<HostAuditCopies[]> {
  const byHost = new Map<string, { key: string; first: number; last: number }[]>();
  for await (const o of store.list(host !== undefined ? auditHostPrefix(host) : AUDIT_PREFIX)) {
    const copy = parseAuditCopyKey(o.key);
    if (!copy) continue;
    const list = byHost.get(copy.host) ?? [];
    list.push({ key: o.key, first: copy.firstSeq, last: copy.lastSeq });
    byHost.set(copy.host, list);
  }
  const result: HostAuditCopies[] = [];
  for (const [name, objects] of [...byHost].sort(([a], [b]) => (a < b ? -1 : 1))) {
    objects.sort((a, b) => a.first - b.first || a.last - b.last);
    const chains: Open[] = [];
    const problems: string[] = [];
    for (const o of objects) {
      const text = (await streamToBuffer(await store.get(o.key))).toString('utf8');
      const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : undefined;
      if (!lines || lines.length !== o.last - o.first + 1) {
        problems.push(`${o.key}: does not hold records ${o.first} to ${o.last}, whole lines each`);
        continue;
      }
      // A log's first copy starts a chain; any other continues the chain it verifies against.
      const candidates: (Open | undefined)[] = o.first === 1 ? [undefined] : chains.filter((c) => c.lastSeq === o.first - 1);
      let placed = false;
      for (const c of candidates) {
        const { lastHash } = checkRecords(lines, c?.lastHash ?? GENESIS_HASH, o.first);
        if (lastHash === undefined) continue;
        if (c) {
          c.lastSeq = o.last;
          c.lastHash = lastHash;
          c.objects++;
        } else chains.push({ firstSeq: 1, lastSeq: o.last, lastHash, objects: 1 });
        placed = true;
        break;
      }
      if (!placed) {
        problems.push(
          candidates.length === 0
            ? `${o.key}: no copy ends at record ${o.first - 1}: records before it are missing from the store`
            : `${o.key}: its records' hashes do not check${o.first === 1 ? '' : ' against the copy before them'}: edited, or from another log`,
        );
      }
    }
    result.push({ host: name, chains: chains.map(({ firstSeq, lastSeq, objects: n }) => ({ firstSeq, lastSeq, objects: n })), problems });
  }
  return result;
}
