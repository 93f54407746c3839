/**
 * The trunks (who may call in) and the lines (what a dialled number does):
 * the part of the configuration an operator edits most, so the checks name
 * the entry and say what a good value looks like.
 */
import type { AnnouncementConfig, AnnouncementMode, LineConfig, TrunkConfig } from './types.js';
import type { Checker, Path } from './check.js';
import { DEFAULT_ANNOUNCEMENT } from './defaults.js';

const MODES: readonly AnnouncementMode[] = ['early', 'answer'];
const FAILURE_POLICIES = ['continue', 'reject'] as const;
/** Kept three months unless the line says otherwise. */
const DEFAULT_RETENTION_DAYS = 90;
const DIALLED = /^[0-9+*#]+$/;
const KEY = /^[0-9*#]$/;
/** sip:[user@]host[:port][;params][?headers], host a name, an IPv4 literal or a bracketed IPv6 literal. */
const SIP_URI = /^sips?:(?:[^@\s<>"]+@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(?:[;?][^\s<>"]*)?$/i;

export function checkTrunks(c: Checker, v: unknown): readonly TrunkConfig[] {
  const owner = new Map<string, string>();
  const names = new Set<string>();
  return c.list(v, ['trunks'], 'trunks ({ name, addresses })').map((entry, i) => {
    const path: Path = ['trunks', i];
    const t = c.mapping(entry, path);
    const name = c.string(t['name'], [...path, 'name']);
    if (name !== '' && names.has(name)) c.fail([...path, 'name'], `'${name}' names another trunk too; trunk names must be unique`);
    names.add(name);
    const addresses = c.list(t['addresses'], [...path, 'addresses'], 'IP address literals').map((a, j) => {
      const address = c.address(a, [...path, 'addresses', j]);
      const other = owner.get(address.toLowerCase());
      // The router finds the trunk by source address: one address, one trunk.
      if (other !== undefined && other !== name) c.fail([...path, 'addresses', j], `${address} is already an address of trunk '${other}'`);
      if (address !== '') owner.set(address.toLowerCase(), name);
      return address;
    });
    return { name, addresses };
  });
}

export function checkLines(c: Checker, v: unknown): readonly LineConfig[] {
  const numbers = new Map<string, number>();
  return c.list(v, ['lines'], 'lines ({ number, name, target, record })').map((entry, i) => {
    const path: Path = ['lines', i];
    const l = c.mapping(entry, path);
    const number = dialled(c, l['number'], [...path, 'number']);
    const first = numbers.get(number);
    if (number !== '' && first !== undefined) c.fail([...path, 'number'], `'${number}' is already the number of lines[${first}]`);
    else numbers.set(number, i);
    const name = c.string(l['name'], [...path, 'name']);
    const target = sipUri(c, l['target'], [...path, 'target']);
    const record = c.boolean(l['record'], [...path, 'record']);
    const announcement = checkAnnouncement(c, l['announcement'], [...path, 'announcement'], record);
    const retentionDays = l['retention'] === undefined ? DEFAULT_RETENTION_DAYS : c.integer(l['retention'], [...path, 'retention'], 14, 730, 'must be a whole number of days, 14–730');
    const onRecordingFailure = l['onRecordingFailure'] === undefined ? 'continue' : c.oneOf(l['onRecordingFailure'], [...path, 'onRecordingFailure'], FAILURE_POLICIES);
    return { number, name, target, record, ...(announcement ? { announcement } : {}), retentionDays, onRecordingFailure };
  });
}

/** YAML reads `number: 1000` as a number; a dialled number is text, so digits are taken as written. */
function dialled(c: Checker, v: unknown, path: Path): string {
  const s = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : v;
  if (typeof s === 'string' && DIALLED.test(s)) return s;
  c.fail(path, v === undefined ? 'is required: the dialled number (digits, +, *, #)' : 'must be a dialled number: digits, +, *, # only');
  return '';
}

function sipUri(c: Checker, v: unknown, path: Path): string {
  const s = c.string(v, path, 'a sip: URI');
  if (s === '') return s;
  const m = SIP_URI.exec(s);
  const port = m?.[1] === undefined ? 5060 : Number(m[1]);
  if (!m || port < 1 || port > 65535) c.fail(path, 'must be a sip: URI (sip:user@host[:port][;transport=tcp])');
  return s;
}

function checkAnnouncement(c: Checker, v: unknown, path: Path, record: boolean): AnnouncementConfig | undefined {
  // A recorded line always announces it; the built-in message unless one is named.
  if (v === undefined || v === null) return record ? { ...DEFAULT_ANNOUNCEMENT } : undefined;
  const a = c.mapping(v, path);
  const mode = a['mode'] === undefined ? DEFAULT_ANNOUNCEMENT.mode : c.oneOf(a['mode'], [...path, 'mode'], MODES);
  const file = a['file'] === undefined ? undefined : c.readableFile(a['file'], [...path, 'file']);
  let secondMessage: AnnouncementConfig['secondMessage'];
  if (a['secondMessage'] !== undefined && a['secondMessage'] !== null) {
    const p: Path = [...path, 'secondMessage'];
    const s = c.mapping(a['secondMessage'], p);
    const secondFile = c.readableFile(s['file'], [...p, 'file']);
    const raw = typeof s['key'] === 'number' ? String(s['key']) : s['key'];
    const key = typeof raw === 'string' && KEY.test(raw) ? raw : '';
    // Unquoted, YAML reads # as a comment and * as an alias: say so, it is the usual cause.
    if (key === '') c.fail([...p, 'key'], `${raw === undefined ? 'is required' : 'must be one key'}: 0-9, '*' or '#' (quote * and # in YAML)`);
    secondMessage = { file: secondFile, key };
  }
  return { mode, ...(file !== undefined ? { file } : {}), ...(secondMessage ? { secondMessage } : {}) };
}

