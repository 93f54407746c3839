/**
 * Message boundaries. Over UDP a datagram is one message; over TCP the stream
 * is cut by Content-Length (RFC 3261 §18.3). A peer that lies about the length
 * or sends an endless header block cannot be resynchronised: the caller closes
 * the connection.
 */

export interface Frame {
  /** Start line and headers, without the blank line. */
  readonly head: string;
  readonly body: Buffer;
  /** Set when the frame is malformed at the framing level; head is still usable for a 400. */
  readonly problem?: string;
}

const END_OF_HEAD = Buffer.from('\r\n\r\n');
const CR = 0x0d;
const LF = 0x0a;

type LengthResult = { readonly length: number | undefined } | { readonly error: string };

/** Reads Content-Length (or compact `l`) from a header block; every copy must agree and be a plain number. */
export function contentLengthOf(head: string): LengthResult {
  let found: number | undefined;
  const lines = head.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const m = /^(content-length|l)[ \t]*:(.*)$/i.exec(lines[i] ?? '');
    if (!m) continue;
    const raw = (m[2] ?? '').trim();
    if (raw.startsWith('-')) return { error: 'Negative Content-Length' };
    if (!/^\d{1,10}$/.test(raw)) return { error: 'Bad Content-Length' };
    const n = Number(raw);
    if (found !== undefined && found !== n) return { error: 'Conflicting Content-Length' };
    found = n;
  }
  return { length: found };
}

function skipBlankLines(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && (buf[i] === CR || buf[i] === LF)) i++;
  return i;
}

/** One datagram; undefined for a keep-alive (nothing but CRLFs). */
export function frameDatagram(data: Buffer): Frame | undefined {
  const buf = data.subarray(skipBlankLines(data));
  if (buf.length === 0) return undefined;
  const end = buf.indexOf(END_OF_HEAD);
  if (end < 0) return { head: buf.toString('utf8'), body: Buffer.alloc(0), problem: 'Missing end of headers' };
  const head = buf.subarray(0, end).toString('utf8');
  const rest = buf.subarray(end + 4);
  const cl = contentLengthOf(head);
  if ('error' in cl) return { head, body: rest, problem: cl.error };
  if (cl.length === undefined) return { head, body: rest };
  if (cl.length > rest.length) return { head, body: rest, problem: 'Content-Length exceeds body' };
  // Bytes past the declared length are not part of the message (RFC 3261 §18.3).
  return { head, body: rest.subarray(0, cl.length) };
}

export type PushResult = { readonly frames: Frame[]; readonly error?: string };

/** Cuts a TCP byte stream into messages; after an error the stream is unusable. */
export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);
  private failed = false;

  constructor(private readonly maxMessageBytes: number) {}

  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): PushResult {
    const frames: Frame[] = [];
    if (this.failed) return { frames, error: 'stream already failed' };
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      // CRLF keep-alives (RFC 5626 §3.5.1) sit between messages.
      const skip = skipBlankLines(this.buf);
      if (skip > 0) this.buf = this.buf.subarray(skip);
      if (this.buf.length === 0) break;
      const end = this.buf.indexOf(END_OF_HEAD);
      if (end < 0) {
        if (this.buf.length > this.maxMessageBytes) return this.fail(frames, 'Header block too large');
        break;
      }
      if (end + 4 > this.maxMessageBytes) return this.fail(frames, 'Header block too large');
      const head = this.buf.subarray(0, end).toString('utf8');
      const cl = contentLengthOf(head);
      if ('error' in cl) return this.fail(frames, cl.error);
      const length = cl.length ?? 0;
      const total = end + 4 + length;
      if (total > this.maxMessageBytes) return this.fail(frames, 'Message too large');
      if (this.buf.length < total) break;
      frames.push({ head, body: Buffer.from(this.buf.subarray(end + 4, total)) });
      this.buf = this.buf.subarray(total);
    }
    return { frames };
  }

  private fail(frames: Frame[], error: string): PushResult {
    this.failed = true;
    this.buf = Buffer.alloc(0);
    return { frames, error };
  }
}
