/**
 * `recgw logs`: follows the running gateway's log live through its control
 * API (`/logs`, a WebSocket), one JSON line per log line, for the on-call
 * engineer watching a line or a call. Reads the address and the token from
 * the same config the gateway runs on.
 */
import { WebSocket } from 'ws';
import { loadCommandConfig } from '../config/load.js';
import { parseCommandArgs } from './args.js';
import { controlTarget } from './control-client.js';

export const LOGS_USAGE = `usage: recgw logs [--config FILE] [--token-file FILE] [--call CALL-ID] [--line NAME] [--level LEVEL] [--tail N]

  follow the running gateway's log live, one JSON line each: its last N lines
  first (default 50), then each as it is written, until the gateway stops or
  you press Ctrl-C. --call and --line keep the lines of one call or one line;
  --level the lines at or above it (info, warn, error). The token is the
  config's main one, or an operator client's from --token-file.
`;

export async function runLogs(args: readonly string[], out: { write(s: string): unknown } = process.stdout): Promise<number> {
  const a = parseCommandArgs(args, { values: ['--config', '--token-file', '--call', '--line', '--level', '--tail'], flags: ['--help'] });
  if (a.flags.has('--help')) {
    out.write(LOGS_USAGE);
    return 0;
  }
  const configFile = a.values.get('--config');
  const { authority, token } = await controlTarget(loadCommandConfig(configFile), a.values.get('--token-file'), 'there is no log to follow');
  const query = new URLSearchParams();
  for (const [option, param] of [['--call', 'callId'], ['--line', 'line'], ['--level', 'level'], ['--tail', 'tail']] as const) {
    const v = a.values.get(option);
    if (v !== undefined) query.set(param, v);
  }
  const url = `ws://${authority}/logs${query.size > 0 ? `?${query.toString()}` : ''}`;
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    ws.on('message', (data: Buffer) => out.write(`${data.toString('utf8')}\n`));
    // A refusal comes as an HTTP answer with the API's JSON error: say what it says.
    ws.on('unexpected-response', (_req, res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        process.stderr.write(`recgw: ${url} refused (${res.statusCode ?? '?'}): ${Buffer.concat(parts).toString('utf8')}\n`);
        resolve(1);
      });
    });
    ws.on('error', (err) => {
      process.stderr.write(`recgw: cannot follow ${url}: ${err.message} (is the gateway running?)\n`);
      resolve(1);
    });
    ws.on('close', () => resolve(0));
    process.once('SIGINT', () => ws.close());
  });
}
