/**
 * The lines (what a dialled number does, and when and how it records): the
 * part of the configuration an operator edits most, so the checks name the
 * entry and say what a good value looks like.
 */
import type { AnnouncementConfig, AnnouncementMode, LineConfig, RecordMode, ScheduleWindow } from './types.js';
import type { Checker, Mapping, Path } from './check.js';
import { DEFAULT_ANNOUNCEMENT, LINE_POLICY_DEFAULTS as D } from './defaults.js';
import { asText, dialled, KEY, KEY_SEQUENCE, keys, sipUri, targetList } from './forms.js';
// The store's key layout: a line's name is its recordings' folder.
import { keySafe, RESERVED_FOLDERS } from '../recording/layout.js';
import { checkSchedule } from './validate-schedule.js';

const MODES: readonly AnnouncementMode[] = ['early', 'answer'];
const RECORD_MODES: readonly RecordMode[] = ['always', 'never', 'schedule'];
const FAILURE_POLICIES = ['continue', 'reject'] as const;
const TRANSFER_POLICIES = ['stop', 'split'] as const;

/** Which line already holds a number, a prefix, an extension: each may belong to one line only. */
interface Claims {
  readonly numbers: Map<string, number>;
  readonly prefixes: Map<string, number>;
  readonly extensions: Map<string, number>;
}

export function checkLines(c: Checker, v: unknown): readonly LineConfig[] {
  const claims: Claims = { numbers: new Map(), prefixes: new Map(), extensions: new Map() };
  return c.list(v, ['lines'], 'lines ({ number, name, target, record })').map((entry, i) => checkLine(c, c.mapping(entry, ['lines', i]), ['lines', i], claims));
}

function checkLine(c: Checker, l: Mapping, path: Path, claims: Claims): LineConfig {
  const index = path[path.length - 1] as number;
  const { number, match } = checkNumber(c, l, path, claims);
  const name = c.string(l['name'], [...path, 'name']);
  // The line's name is its recordings' folder in the store, and the holds and releases have theirs there too.
  if (RESERVED_FOLDERS.includes(keySafe(name))) c.fail([...path, 'name'], `"${name}" is reserved: the store keeps ${keySafe(name)} in a folder of that name; name the line otherwise`);
  const target = sipUri(c, l['target'], [...path, 'target']);
  const { recordMode, schedule } = checkRecord(c, l, path);
  const record = recordMode !== 'never';
  const announcement = checkAnnouncement(c, l['announcement'], [...path, 'announcement'], record);
  const retentionDays = l['retention'] === undefined ? D.retentionDays : c.integer(l['retention'], [...path, 'retention'], 14, 730, 'must be a whole number of days, 14–730');
  const onRecordingFailure = l['onRecordingFailure'] === undefined ? D.onRecordingFailure : c.oneOf(l['onRecordingFailure'], [...path, 'onRecordingFailure'], FAILURE_POLICIES);
  const onTransfer = l['onTransfer'] === undefined ? D.onTransfer : c.oneOf(l['onTransfer'], [...path, 'onTransfer'], TRANSFER_POLICIES);
  const paymentTargets = targetList(c, l['paymentTargets'], [...path, 'paymentTargets']);
  const unrecordedExtensions = targetList(c, l['unrecordedExtensions'], [...path, 'unrecordedExtensions']);
  const extensions = checkExtensions(c, l['extensions'], [...path, 'extensions'], index, claims);
  const redactDtmf = l['redactDtmf'] === undefined ? D.redactDtmf : c.boolean(l['redactDtmf'], [...path, 'redactDtmf']);
  const dtmfQuietMs = l['dtmfQuietMs'] === undefined ? D.dtmfQuietMs : c.integer(l['dtmfQuietMs'], [...path, 'dtmfQuietMs'], 500, 60_000, 'must be an integer 500–60000 (milliseconds)');
  const keypad = checkKeypad(c, l, path, announcement);
  return {
    number,
    match,
    name,
    target,
    record,
    recordMode,
    schedule,
    ...(announcement ? { announcement } : {}),
    retentionDays,
    onRecordingFailure,
    onTransfer,
    paymentTargets,
    unrecordedExtensions,
    extensions,
    redactDtmf,
    dtmfQuietMs,
    ...keypad,
  };
}

/** `number` is one dialled number, `prefix` a range of them; a line has exactly one. */
function checkNumber(c: Checker, l: Mapping, path: Path, claims: Claims): { number: string; match: LineConfig['match'] } {
  const hasNumber = l['number'] !== undefined;
  const hasPrefix = l['prefix'] !== undefined;
  if (hasNumber && hasPrefix) {
    c.fail([...path, 'prefix'], 'set number or prefix, not both');
    return { number: '', match: 'exact' };
  }
  if (!hasNumber && !hasPrefix) {
    c.fail([...path, 'number'], 'is required: a dialled number (digits, +, *, #), or prefix: the digits a range of numbers starts with');
    return { number: '', match: 'exact' };
  }
  const match = hasPrefix ? 'prefix' : 'exact';
  const key = hasPrefix ? 'prefix' : 'number';
  const number = dialled(c, l[key], [...path, key], hasPrefix ? 'the digits the dialled numbers start with' : 'a dialled number');
  const taken = hasPrefix ? claims.prefixes : claims.numbers;
  const first = taken.get(number);
  if (number !== '' && first !== undefined) c.fail([...path, key], `'${number}' is already the ${key} of lines[${first}]`);
  else taken.set(number, path[path.length - 1] as number);
  return { number, match };
}

/** `record: true/false` from older files still reads as always/never. */
function checkRecord(c: Checker, l: Mapping, path: Path): { recordMode: RecordMode; schedule: readonly ScheduleWindow[] } {
  const raw = l['record'];
  const recordMode: RecordMode | undefined =
    raw === true ? 'always' : raw === false ? 'never' : (RECORD_MODES as readonly unknown[]).includes(raw) ? (raw as RecordMode) : undefined;
  const schedulePath = [...path, 'schedule'];
  if (recordMode === undefined) {
    c.fail([...path, 'record'], `${raw === undefined ? 'is required: ' : 'must be '}always, never or schedule (true and false mean always and never)`);
    return { recordMode: 'never', schedule: [] };
  }
  if (recordMode === 'schedule') return { recordMode, schedule: checkSchedule(c, l['schedule'], schedulePath) };
  // A schedule on an always/never line would silently do nothing.
  if (l['schedule'] !== undefined) c.fail(schedulePath, `applies only to record: schedule (this line has record: ${String(raw)})`);
  return { recordMode, schedule: [] };
}

function checkExtensions(c: Checker, v: unknown, path: Path, index: number, claims: Claims): readonly string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    c.fail(path, 'must be a list of agent extensions (digits, +, *, #)');
    return [];
  }
  return v.map((e, j) => {
    const ext = dialled(c, e, [...path, j], 'an agent extension');
    const other = claims.extensions.get(ext);
    // An outbound call is recorded under the line of its extension: one extension, one line.
    if (ext !== '' && other !== undefined) c.fail([...path, j], `'${ext}' is already an extension of lines[${other}]`);
    else claims.extensions.set(ext, index);
    return ext;
  });
}

/** Keys the agent (pause, resume) and the caller (opt out) press. */
function checkKeypad(c: Checker, l: Mapping, path: Path, announcement: AnnouncementConfig | undefined): Pick<LineConfig, 'pauseKeys' | 'resumeKeys' | 'optOut'> {
  const sequence = (key: 'pauseKeys' | 'resumeKeys'): string | undefined =>
    // Present but null is an unquoted `#...` that YAML took for a comment.
    l[key] === undefined ? undefined : keys(c, l[key], [...path, key], KEY_SEQUENCE, '1–8 keys of 0-9, * and #');
  const pauseKeys = sequence('pauseKeys');
  const resumeKeys = sequence('resumeKeys');
  if (pauseKeys && pauseKeys === resumeKeys) c.fail([...path, 'resumeKeys'], `must differ from pauseKeys ('${pauseKeys}')`);
  const p: Path = [...path, 'optOut'];
  const o = c.mapping(l['optOut'], p);
  const key = o['key'] === undefined ? undefined : keys(c, o['key'], [...p, 'key'], KEY, "one key: 0-9, '*' or '#'");
  // Both are listened for during the announcement: one key cannot mean both.
  const second = announcement?.secondMessage?.key;
  if (key && key === second) c.fail([...p, 'key'], `must differ from announcement.secondMessage.key ('${second}')`);
  const discard = o['discard'] === undefined ? D.optOutDiscard : c.boolean(o['discard'], [...p, 'discard']);
  return {
    ...(pauseKeys ? { pauseKeys } : {}),
    ...(resumeKeys ? { resumeKeys } : {}),
    optOut: { ...(key ? { key } : {}), discard },
  };
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
    const raw = asText(s['key']);
    const key = typeof raw === 'string' && KEY.test(raw) ? raw : '';
    // Unquoted, YAML reads # as a comment and * as an alias: say so, it is the usual cause.
    if (key === '') c.fail([...p, 'key'], `${raw === undefined ? 'is required' : 'must be one key'}: 0-9, '*' or '#' (quote * and # in YAML)`);
    secondMessage = { file: secondFile, key };
  }
  return { mode, ...(file !== undefined ? { file } : {}), ...(secondMessage ? { secondMessage } : {}) };
}
