/**
 * Placing a call (RFC 3261 §13.2): INVITE, provisionals, CANCEL on abort, ACK
 * for the 2xx, and the dialog. An answer that races our CANCEL is ACKed and
 * hung up, so an aborted call never leaves a dialog behind.
 */
import type { Dialog, UacOptions } from '../engine.js';
import { SipError } from '../errors.js';
import { ALLOW, formatRequest, newBranch, newCallId, newTag, splitList, withOverrides, type HeaderList } from './build.js';
import type { ClientTransaction } from './client-tx.js';
import { EmbeddedDialog } from './dialog.js';
import { uriOf, type ParsedMessage } from './message.js';
import type { OutgoingRequest, SipStack } from './stack.js';
import { resolveTarget } from './target.js';
import { TimerSet, transactionTimeout } from './timers.js';
import type { Peer } from './transport.js';

export async function placeCall(stack: SipStack, uri: string, opts: UacOptions): Promise<Dialog> {
  const aborted = (): boolean => opts.signal?.aborted === true;
  if (aborted()) throw new SipError(487, 'Request Terminated');
  let target: Peer | undefined;
  try {
    target = await resolveTarget(uri, 'udp');
  } catch (err) {
    throw new SipError(503, 'Service Unavailable', { cause: err, local: true });
  }
  if (!target) throw new SipError(416, 'Unsupported URI Scheme');
  if (aborted()) throw new SipError(487, 'Request Terminated');
  return new InviteAttempt(stack, uri, target, opts).run();
}

class InviteAttempt {
  private readonly callId: string;
  private readonly from: string;
  private readonly fromTag = newTag();
  private readonly branch = newBranch();
  private readonly out: OutgoingRequest;
  private readonly timers = new TimerSet();
  private tx: ClientTransaction | undefined;
  private provisional = false;
  private aborted = false;
  private cancelSent = false;
  private settled = false;
  private resolve: (d: Dialog) => void = () => undefined;
  private reject: (e: Error) => void = () => undefined;

  constructor(
    private readonly stack: SipStack,
    uri: string,
    private readonly target: Peer,
    private readonly opts: UacOptions,
  ) {
    this.callId = newCallId(stack.publicAddress);
    const fromUri = opts.from ?? `sip:anonymous@${stack.publicAddress}`;
    const name = opts.fromName !== undefined ? `"${opts.fromName.replace(/["\\]/g, '')}" ` : '';
    this.from = `${name}<${fromUri}>;tag=${this.fromTag}`;
    const headers: HeaderList = [
      ['Max-Forwards', '70'],
      ['From', this.from],
      ['To', `<${uri}>`],
      ['Call-ID', this.callId],
      ['CSeq', '1 INVITE'],
      ['Contact', stack.contact(target.transport)],
      ['User-Agent', stack.userAgent],
      ['Allow', ALLOW],
      ['Content-Type', 'application/sdp'],
    ];
    this.out = { method: 'INVITE', uri, headers: withOverrides(headers, opts.headers), body: opts.localSdp, target };
  }

  run(): Promise<Dialog> {
    return new Promise<Dialog>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.stack.pending.add(this.onClose);
      this.opts.signal?.addEventListener('abort', this.onAbort);
      this.tx = this.stack.startClient(
        this.out,
        {
          response: (res) => this.onResponse(res),
          timeout: () => this.fail(this.aborted ? new SipError(487, 'Request Terminated') : new SipError(408, 'Request Timeout', { local: true })),
          transportError: (err) =>
            this.fail(this.aborted ? new SipError(487, 'Request Terminated') : new SipError(503, 'Service Unavailable', { cause: err, local: true })),
        },
        (res) => this.failureAck(res),
        this.branch,
      );
    });
  }

  private readonly onClose = (err: Error): void => {
    this.tx?.end();
    this.fail(err);
  };

  private readonly onAbort = (): void => {
    if (this.settled || this.aborted) return;
    this.aborted = true;
    // RFC 3261 §9.1: no CANCEL before a provisional; it goes out when one arrives.
    if (this.provisional) this.sendCancel();
  };

  private onResponse(res: ParsedMessage): void {
    const status = res.status ?? 0;
    if (status < 200) {
      this.provisional = true;
      if (this.aborted) this.sendCancel();
      else if (status > 100 && this.opts.onProvisional) {
        try {
          this.opts.onProvisional(res);
        } catch (err) {
          this.stack.log.warn({ err }, 'onProvisional threw');
        }
      }
      return;
    }
    if (status >= 300) {
      this.fail(this.aborted ? new SipError(487, 'Request Terminated') : new SipError(status, res.reason ?? ''));
      return;
    }
    const dialog = this.confirm(res);
    if (this.aborted || this.settled) {
      void dialog.destroy();
      this.fail(new SipError(487, 'Request Terminated'));
      return;
    }
    this.finish();
    this.resolve(dialog);
  }

  private confirm(res: ParsedMessage): EmbeddedDialog {
    const contact = res.get('contact');
    const dialog = new EmbeddedDialog(this.stack, {
      type: 'uac',
      callId: this.callId,
      localNameAddr: this.from,
      localTag: this.fromTag,
      remoteNameAddr: res.to,
      remoteTag: res.toTag ?? '',
      remoteTarget: contact !== undefined ? uriOf(contact) : this.out.uri,
      // UAC reverses Record-Route (§12.1.2).
      routeSet: splitList(res.get('record-route') ?? '').reverse(),
      localSeq: 1,
      remoteSeq: undefined,
      transport: this.target.transport,
      flow: undefined,
      localSdp: this.opts.localSdp,
      remoteSdp: res.body,
      createdBy: res,
    });
    dialog.sendAck(1);
    return dialog;
  }

  private sendCancel(): void {
    if (this.cancelSent || this.settled) return;
    this.cancelSent = true;
    const keep = new Set(['from', 'to', 'call-id', 'route', 'max-forwards']);
    const headers: HeaderList = this.out.headers.filter(([n]) => keep.has(n.toLowerCase()));
    headers.push(['CSeq', '1 CANCEL'], ['User-Agent', this.stack.userAgent]);
    this.stack.startClient(
      { method: 'CANCEL', uri: this.out.uri, headers, target: this.target },
      { response: () => undefined, timeout: () => undefined, transportError: () => undefined },
      undefined,
      this.branch,
    );
    // §9.1: without a final response 64*T1 after the CANCEL, the INVITE is given up.
    this.timers.set('cancel', transactionTimeout(this.stack.timers), () => {
      this.tx?.end();
      this.fail(new SipError(487, 'Request Terminated'));
    });
  }

  private failureAck(res: ParsedMessage): string {
    const keep = new Set(['from', 'call-id', 'route', 'max-forwards']);
    const headers: HeaderList = [
      ['Via', this.stack.via(this.target.transport, this.branch)],
      ...this.out.headers.filter(([n]) => keep.has(n.toLowerCase())),
      ['To', res.to],
      ['CSeq', '1 ACK'],
    ];
    return formatRequest('ACK', this.out.uri, headers);
  }

  private finish(): void {
    this.settled = true;
    this.timers.clearAll();
    this.stack.pending.delete(this.onClose);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.finish();
    this.reject(err);
  }
}
