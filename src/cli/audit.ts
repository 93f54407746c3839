/**
 * `recgw audit verify [FILE]`: checks the audit log's hash chain, for the
 * compliance officer who must show an auditor that no record was edited or
 * removed. Exit 0 when whole, 1 naming the first broken line. With --store it
 * checks the log's copies in the object store instead, every gateway's.
 */
import { verifyAuditCopies } from '../access/audit-copies.js';
import { verifyAuditLog } from '../access/audit.js';
import { loadCommandConfig } from '../config/load.js';
import { silentLogger } from '../ops/log.js';
import { openStore } from '../recording/pipeline.js';
import { parseCommandArgs, UsageError } from './args.js';

export const AUDIT_USAGE = `usage: recgw audit verify [FILE] [--config FILE]
       recgw audit verify --store [--host NAME] [--config FILE]

  verify the audit log's hash chain: FILE, or the config's audit.file
  (./var/audit.log on the embedded defaults). Exit 0 when every record is
  in place; 1, naming the first line that breaks the chain, when not.
  With --store, verify the copies the gateways keep in the config's store
  (audit/<host>/), each host's or one's: the records each chain holds, and
  every copy that is edited or follows a missing one; exit 1 if any.
`;

export async function runAudit(args: readonly string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help') {
    out.write(AUDIT_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'verify') throw new UsageError(`unknown audit command '${command}'\n\n${AUDIT_USAGE}`);
  const a = parseCommandArgs(rest, { values: ['--config', '--host'], flags: ['--store'], positionals: 1 });
  const [given] = a.positionals;
  const configFile = a.values.get('--config');
  if (a.flags.has('--store')) {
    if (given !== undefined) throw new UsageError('--store checks the copies in the store: give no FILE');
    return verifyCopies(configFile, a.values.get('--host'), out);
  }
  if (a.values.has('--host')) throw new UsageError('--host goes with --store');
  const file = given ?? loadCommandConfig(configFile).audit.file;
  const r = await verifyAuditLog(file);
  if (r.ok) {
    out.write(`${file}: ${r.records} records, chain intact\n`);
    return 0;
  }
  out.write(`${file}: chain broken at line ${r.brokenAt ?? '?'} (${r.records} records before it are intact)\n`);
  return 1;
}

async function verifyCopies(configFile: string | undefined, host: string | undefined, out: { write(s: string): unknown }): Promise<number> {
  const config = loadCommandConfig(configFile);
  const store = await openStore(config.storage, silentLogger());
  const hosts = await verifyAuditCopies(store, host);
  if (hosts.length === 0) {
    out.write(`${store.location}: no audit log copies${host !== undefined ? ` of ${host}` : ''}\n`);
    return 1;
  }
  let broken = 0;
  for (const h of hosts) {
    const chains = h.chains.map((c) => `records ${c.firstSeq}-${c.lastSeq} in ${c.objects} ${c.objects === 1 ? 'copy' : 'copies'}`).join('; ');
    out.write(`${h.host}: ${h.problems.length === 0 ? 'intact' : 'BROKEN'}: ${chains === '' ? 'no whole chain' : chains}\n`);
    for (const p of h.problems) out.write(`  - ${p}\n`);
    broken += h.problems.length;
  }
  return broken === 0 ? 0 : 1;
}
