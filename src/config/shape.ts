/**
 * The key tree of the configuration: which keys exist where, spelled as the
 * file spells them. Validation uses it to name unknown keys (typos), the
 * environment loader to match `RECGW_RTP__PORTMIN` to `rtp.portMin`.
 */
export type Shape =
  | { readonly kind: 'map'; readonly keys: Readonly<Record<string, Shape>> }
  | { readonly kind: 'list'; readonly item: Shape }
  /** `text` leaves keep an environment value as written: `0800` stays `0800`, `#` stays `#`. */
  | { readonly kind: 'leaf'; readonly text?: true };

const value: Shape = { kind: 'leaf' };
const text: Shape = { kind: 'leaf', text: true };
const map = (keys: Record<string, Shape>): Shape => ({ kind: 'map', keys });
const list = (item: Shape): Shape => ({ kind: 'list', item });

export const CONFIG_SHAPE = map({
  sip: map({
    listen: text,
    port: value,
    transports: value,
    publicAddress: text,
    timers: map({ t1: value, t2: value, t4: value }),
    ringTimeoutSec: value,
  }),
  rtp: map({ address: text, publicAddress: text, portMin: value, portMax: value }),
  trunks: list(map({ name: text, addresses: value, target: text })),
  pbxs: list(map({ name: text, addresses: value, trunk: text })),
  lines: list(
    map({
      number: text,
      prefix: text,
      name: text,
      target: text,
      record: value,
      schedule: list(map({ timeZone: text, from: text, until: text, days: value, start: text, end: text })),
      announcement: map({ file: text, mode: value, secondMessage: map({ file: text, key: text }) }),
      retention: value,
      onRecordingFailure: value,
      onTransfer: value,
      // Lists of text: `[5999, 0800123]` keeps its digits as written.
      paymentTargets: list(text),
      unrecordedExtensions: list(text),
      extensions: list(text),
      redactDtmf: value,
      dtmfQuietMs: value,
      pauseKeys: text,
      resumeKeys: text,
      optOut: map({ key: text, discard: value }),
    }),
  ),
  storage: map({ kind: value, dir: text, bucket: text, prefix: text, region: text, endpoint: text, pathStyle: value, objectLock: value }),
  spool: map({ dir: text, maxBytes: value, minFreeBytes: value }),
  encryption: map({ publicKey: text, keyFile: text, keyDir: text }),
  recording: map({ jitterMs: value, segmentSeconds: value, lookbackMs: value }),
  log: map({ level: value }),
  control: map({ enabled: value, listen: text, port: value, token: text, tokenFile: text, clients: list(map({ name: text, role: value, token: text, tokenFile: text })) }),
  audit: map({ file: text }),
  retention: map({ sweep: text, timeZone: text }),
  shutdown: map({ drainSeconds: value }),
});

/** The keys a mapping at this place may hold. */
export function keysOf(shape: Shape): readonly string[] {
  return shape.kind === 'map' ? Object.keys(shape.keys) : [];
}

/** `sip.timers` → the shape there; undefined when the path leaves the tree. */
export function shapeAt(path: readonly (string | number)[]): Shape | undefined {
  let s: Shape | undefined = CONFIG_SHAPE;
  for (const seg of path) {
    if (!s) return undefined;
    if (typeof seg === 'number') s = s.kind === 'list' ? s.item : undefined;
    else s = s.kind === 'map' ? s.keys[seg] : undefined;
  }
  return s;
}

/** The nearest known key within two edits, to suggest for a typo. */
export function closestKey(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** `['lines', 0, 'target']` → `lines[0].target`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}
