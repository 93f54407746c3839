/**
 * Where a command run beside the gateway reaches its control API, and with
 * which token: the address and the main token from the config the gateway
 * runs on, or a client's token from a file.
 */
import type { GatewayConfig } from '../config/types.js';
import { clientControlToken } from '../control/token.js';

export interface ControlTarget {
  /** `host:port`, as a URL's authority. */
  readonly authority: string;
  readonly token: string;
}

/** The address a client reaches a listener on: a wildcard bind is reached on loopback. */
function hostOf(listen: string): string {
  if (listen === '0.0.0.0') return '127.0.0.1';
  if (listen === '::' || listen === '0:0:0:0:0:0:0:0') return '[::1]';
  return listen.includes(':') ? `[${listen}]` : listen;
}

/** `what` says what the command would do, for the error when the config has the API off. */
export async function controlTarget(config: GatewayConfig, tokenFile: string | undefined, what: string): Promise<ControlTarget> {
  if (!config.control.enabled) throw new Error(`the control API is off in this config (control.enabled: false): ${what}`);
  const token = await clientControlToken(tokenFile !== undefined ? { tokenFile } : config.control);
  return { authority: `${hostOf(config.control.listen)}:${config.control.port}`, token };
}
