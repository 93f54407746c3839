/**
 * The SIP engine port. Shaped after drachtio-srf's `Srf` and `Dialog` so that an
 * engine over a drachtio server is a thin adapter, and the embedded engine
 * (pure TypeScript) is the same contract. The call layer sees only this file.
 */
import type { TypedEmitter } from '../ops/emitter.js';

export type Transport = 'udp' | 'tcp';

/** A parsed SIP message as both engines hand it to the application. */
export interface SipMessageView {
  readonly type: 'request' | 'response';
  /** Requests only. */
  readonly method?: string;
  readonly uri?: string;
  /** Responses only. */
  readonly status?: number;
  readonly reason?: string;
  /** '' when there is no body. */
  readonly body: string;
  readonly callId: string;
  /** User part of the request URI (requests). */
  readonly calledNumber: string;
  /** User part of P-Asserted-Identity, else of From. */
  readonly callingNumber: string;
  /** Header value by name, case-insensitive, compact forms accepted; repeated headers joined by ','. */
  get(name: string): string | undefined;
  has(name: string): boolean;
  toString(): string;
}

export interface SipRequest extends SipMessageView {
  readonly type: 'request';
  readonly method: string;
  readonly uri: string;
  readonly source: { readonly address: string; readonly port: number; readonly transport: Transport };
  /** INVITE only: true once a CANCEL arrived (the engine has already answered it and sent 487). */
  readonly canceled: boolean;
  /** INVITE only: fires once when the caller cancels before a final response. */
  on(event: 'cancel', listener: () => void): this;
}

export interface SendOptions {
  readonly reason?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** An SDP body gets `Content-Type: application/sdp` unless headers say otherwise. */
  readonly body?: string;
}

export interface SipResponse {
  /**
   * Sends a provisional or final response within the request's server
   * transaction. The To-tag is chosen once per transaction, so a 183 and the
   * later 200 name the same dialog. A send after the final response is ignored.
   */
  send(status: number, opts?: SendOptions): void;
  readonly finalResponseSent: boolean;
}

export type DialogEndReason = 'bye' | 'ack-timeout' | 'session-timeout' | 'transport-error' | 'engine-closed';

export interface DialogEvents {
  /** re-INVITE or UPDATE from the peer. The listener must answer `res`. Without a listener the engine answers 200 with the current local SDP. */
  modify: (req: SipRequest, res: SipResponse) => void;
  /** In-dialog INFO. Without a listener the engine answers 200. */
  info: (req: SipRequest, res: SipResponse) => void;
  /** In-dialog REFER. Without a listener the engine answers 603. */
  refer: (req: SipRequest, res: SipResponse) => void;
  /** In-dialog NOTIFY. Without a listener the engine answers 200. */
  notify: (req: SipRequest, res: SipResponse) => void;
  /** The dialog ended from the far side or by the engine (never after our own destroy()). */
  destroy: (reason: DialogEndReason, req?: SipRequest) => void;
}

export interface DialogParty {
  readonly uri: string;
  readonly tag: string;
  readonly contact: string;
  readonly sdp: string;
}

export interface Dialog extends TypedEmitter<DialogEvents> {
  /** Call-ID;local-tag;remote-tag */
  readonly id: string;
  readonly callId: string;
  readonly type: 'uas' | 'uac';
  readonly local: DialogParty;
  readonly remote: DialogParty;
  /** For a UAC dialog: the 2xx that created it; for a UAS dialog: the INVITE. */
  readonly createdBy: SipMessageView;
  readonly destroyed: boolean;
  /** Sends a re-INVITE offering `sdp`; resolves with the peer's answer SDP. Rejects with SipError on a failure response or timeout. */
  modify(sdp: string, opts?: { readonly headers?: Readonly<Record<string, string>> }): Promise<string>;
  /** Sends an in-dialog request and resolves with its final response (any status). */
  request(method: string, opts?: { readonly headers?: Readonly<Record<string, string>>; readonly body?: string }): Promise<SipMessageView>;
  /** Sends BYE (once; later calls resolve at once) and forgets the dialog. Never emits 'destroy'. */
  destroy(opts?: { readonly headers?: Readonly<Record<string, string>> }): Promise<void>;
}

export interface UasOptions {
  readonly localSdp: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface UacOptions {
  readonly localSdp: string;
  /** From URI, e.g. `sip:+441234@gateway`; default sip:anonymous@<publicAddress>. */
  readonly from?: string;
  /** Display name for From. */
  readonly fromName?: string;
  /** Extra headers (P-Asserted-Identity, Max-Forwards, X-...). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborting before the final response sends CANCEL (after a provisional) and rejects with SipError 487. */
  readonly signal?: AbortSignal;
  /** Each provisional (1xx other than 100) response, e.g. 180, or 183 with SDP. */
  readonly onProvisional?: (res: SipMessageView) => void;
}

export interface EngineStats {
  /** Messages received and parsed. */
  received: number;
  /** Messages that could not be parsed or lacked mandatory headers. */
  malformed: number;
  /** Malformed requests answered 400. */
  rejected400: number;
  /** Malformed or unmatched messages dropped without a response. */
  dropped: number;
  /** Open dialogs and transactions: both must fall back to zero when calls end. */
  dialogs: number;
  transactions: number;
}

export interface SipEngineEvents {
  /** A new INVITE outside any dialog. 100 Trying has already been sent. */
  invite: (req: SipRequest, res: SipResponse) => void;
}

export interface SipEngine extends TypedEmitter<SipEngineEvents> {
  listen(): Promise<void>;
  close(): Promise<void>;
  /** Where we listen (after listen(); port 0 in the config is resolved here). */
  readonly local: { readonly address: string; readonly port: number; readonly transports: readonly Transport[] };
  readonly stats: Readonly<EngineStats>;
  /**
   * While set, an OPTIONS outside a dialog is answered 503 with this
   * Retry-After, so a trunk that pings with OPTIONS takes the gateway out of
   * its rotation (the gateway is draining); undefined answers 200 again.
   */
  setOutOfService(retryAfterSec: number | undefined): void;
  /** Answers 200 with `localSdp` and resolves when the ACK arrives. Rejects with SipError(408) when no ACK comes. */
  createUAS(req: SipRequest, res: SipResponse, opts: UasOptions): Promise<Dialog>;
  /**
   * Sends an INVITE to `uri` (`;transport=tcp` selects TCP) and resolves with the
   * dialog on 2xx (the ACK is already sent). Rejects with SipError(status) on a
   * failure response, SipError(408) on timeout, SipError(487) when aborted.
   */
  createUAC(uri: string, opts: UacOptions): Promise<Dialog>;
}
