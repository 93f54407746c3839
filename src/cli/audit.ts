/**
 * `recgw audit verify [FILE]`: checks the audit log's hash chain, for the
 * compliance officer who must show an auditor that no record was edited or
 * removed. Exit 0 when whole, 1 naming the first broken line.
 */
import { verifyAuditLog } from '../access/audit.js';
import { loadCommandConfig } from '../config/load.js';
import { parseCommandArgs, UsageError } from './args.js';

export const AUDIT_USAGE = `usage: recgw audit verify [FILE] [--config FILE]

  verify the audit log's hash chain: FILE, or the config's audit.file
  (./var/audit.log on the embedded defaults). Exit 0 when every record is
  in place; 1, naming the first line that breaks the chain, when not.
`;

export async function runAudit(args: readonly string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help') {
    out.write(AUDIT_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'verify') throw new UsageError(`unknown audit command '${command}'\n\n${AUDIT_USAGE}`);
  const a = parseCommandArgs(rest, { values: ['--config'], positionals: 1 });
  const [given] = a.positionals;
  const configFile = a.values.get('--config');
  const file = given ?? loadCommandConfig(configFile).audit.file;
  const r = await verifyAuditLog(file);
  if (r.ok) {
    out.write(`${file}: ${r.records} records, chain intact\n`);
    return 0;
  }
  out.write(`${file}: chain broken at line ${r.brokenAt ?? '?'} (${r.records} records before it are intact)\n`);
  return 1;
}
