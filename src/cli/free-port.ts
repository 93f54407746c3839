import { createServer } from 'node:net';
import { bindSocket } from '../media/ports.js';

/**
 * A port is only checked free here; its user binds it a little later. Ports
 * picked by the kernel (a bind to port 0) come from its ephemeral range
 * (32768-60999 by default): one picked and released can be picked again, by
 * this process or another, before its user binds it, and then two SIPp
 * instances ask for the same SIP port. So ports are handed out from 10000-19999
 * instead, below that range and below the default RTP range (20000-30000), in
 * a sequence that reaches the same port again only after all the others.
 */
const FIRST = 10000;
const LAST = 19999;
let next = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));

/** A port free for both UDP and TCP on `address` right now (for the demo, tests and benchmarks). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt <= LAST - FIRST; attempt++) {
    const port = next;
    next = next >= LAST ? FIRST : next + 1;
    if ((await udpFree(port, address)) && (await tcpFree(port, address))) return port;
  }
  throw new Error(`no port free for both UDP and TCP on ${address} in ${String(FIRST)}-${String(LAST)}`);
}

/** Whether a UDP socket can bind `port` on `address` right now ('0.0.0.0': on no address is it taken). */
export async function udpFree(port: number, address: string): Promise<boolean> {
  const socket = await bindSocket(address, port);
  socket?.close();
  return socket !== null;
}

function tcpFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
}
