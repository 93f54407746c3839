/**
 * drachtio-srf ships its SIP message model as plain CommonJS without types.
 * Only the surface the embedded engine uses is declared here.
 */
declare module 'drachtio-srf/lib/sip-parser/message.js' {
  class SipMessage {
    /** Parses a whole request or response; throws on text it cannot read. */
    constructor(raw?: string);
    readonly type: 'request' | 'response' | 'unknown';
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    version?: string;
    body?: string;
    headers: Record<string, string>;
    readonly calledNumber: string;
    readonly callingNumber: string;
    get(name: string): string | undefined;
    has(name: string): boolean;
    /** Throws when the header is absent or does not parse. */
    getParsedHeader(name: string): unknown;
    toString(): string;
  }
  export default SipMessage;
}
