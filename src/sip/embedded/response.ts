/** The SipResponse handed to the application: builds responses within one server transaction. */
import type { SendOptions, SipResponse } from '../engine.js';
import { formatResponse, newTag, reasonPhrase, splitList, withOverrides, withTag, type HeaderList } from './build.js';
import type { IncomingRequest } from './request.js';
import type { ServerTransaction } from './server-tx.js';

export interface ResponseHooks {
  /** Headers of ours for this status (Contact on dialog-forming responses, Allow, ...). */
  headers?(status: number): HeaderList;
  /** Runs just before the response goes out: a 2xx to INVITE arms the ACK wait here. */
  beforeSend?(status: number, body: string): void;
}

/** Via of a response: the request's, with received/rport filled in on the top one (RFC 3261 §18.2.1, RFC 3581). */
export function responseVia(req: IncomingRequest): string {
  const vias = splitList(req.get('via') ?? '');
  const top = vias[0];
  if (top !== undefined) {
    let v = top;
    if (/;\s*rport\s*(?=;|$)/i.test(v)) v = v.replace(/;\s*rport\s*(?=;|$)/i, `;rport=${req.source.port}`);
    if (!/;\s*received=/i.test(v)) v = `${v};received=${req.source.address}`;
    vias[0] = v;
  }
  return vias.join(', ');
}

export class ServerResponse implements SipResponse {
  readonly toTag: string;
  hooks: ResponseHooks = {};

  constructor(
    readonly tx: ServerTransaction,
    private readonly serverHeader: string,
  ) {
    this.toTag = tx.req.msg.toTag ?? newTag();
  }

  get finalResponseSent(): boolean {
    return this.tx.finalStatus !== 0;
  }

  send(status: number, opts: SendOptions = {}): void {
    if (this.tx.finalStatus !== 0 || this.tx.ended) return;
    const code = Number.isInteger(status) && status >= 100 && status <= 699 ? status : 500;
    const { msg } = this.tx.req;
    const body = opts.body ?? '';
    const base: HeaderList = [
      ['Via', responseVia(this.tx.req)],
      ['From', msg.from],
      // 100 Trying is hop-by-hop and carries no tag; everything else names our side of the dialog.
      ['To', code === 100 ? msg.to : withTag(msg.to, this.toTag)],
      ['Call-ID', msg.callId],
      ['CSeq', `${msg.cseq.seq} ${msg.cseq.method}`],
      ['Server', this.serverHeader],
      ...(this.hooks.headers?.(code) ?? []),
    ];
    const text = formatResponse(code, opts.reason ?? reasonPhrase(code), withOverrides(base, opts.headers), body);
    this.hooks.beforeSend?.(code, body);
    this.tx.respond(code, text);
  }
}
