/**
 * Turns the merged raw tree (defaults, file, environment, overrides) into the
 * typed GatewayConfig, checking every field once and collecting every problem.
 */
import type { Transport } from '../sip/engine.js';
import { validate as validateCron } from 'node-cron';
import type { AuditConfig, ControlClient, ControlConfig, ControlRole, EncryptionConfig, GatewayConfig, LogConfig, RecordingConfig, RetentionConfig, RtpConfig, SipConfig, SpoolConfig, StorageConfig } from './types.js';
import { Checker, type Mapping, type Path } from './check.js';
import { DEFAULT_CONTROL_TOKEN_FILE } from './defaults.js';
import { ConfigError } from './errors.js';
import { checkLines } from './validate-lines.js';
import { zone } from './validate-schedule.js';
import { checkPbxs, checkTrunks } from './validate-peers.js';

const TRANSPORTS: readonly Transport[] = ['udp', 'tcp'];
const LOG_LEVELS: readonly LogConfig['level'][] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const WILDCARDS = new Set(['0.0.0.0', '::', '0:0:0:0:0:0:0:0']);

export interface ValidateContext {
  /** Names the configuration in the error: a file path, or what built it. */
  readonly source: string;
  readonly baseDir: string;
  readonly origins?: ReadonlyMap<string, string>;
  /** Problems found before validation (environment variables that name no key). */
  readonly earlier?: readonly { path: string; message: string }[];
}

export function validateConfig(raw: unknown, ctx: ValidateContext): GatewayConfig {
  const c = new Checker(ctx.origins ?? new Map(), ctx.baseDir);
  c.problems.push(...(ctx.earlier ?? []));
  const root = c.mapping(raw, []);
  const trunks = checkTrunks(c, root['trunks']);
  const config: GatewayConfig = {
    sip: checkSip(c, c.mapping(root['sip'], ['sip'])),
    rtp: checkRtp(c, c.mapping(root['rtp'], ['rtp'])),
    trunks,
    pbxs: checkPbxs(c, root['pbxs'], trunks),
    lines: checkLines(c, root['lines']),
    storage: checkStorage(c, c.mapping(root['storage'], ['storage'])),
    spool: checkSpool(c, c.mapping(root['spool'], ['spool'])),
    encryption: checkEncryption(c, c.mapping(root['encryption'], ['encryption'])),
    recording: checkRecording(c, c.mapping(root['recording'], ['recording'])),
    log: { level: c.oneOf(c.mapping(root['log'], ['log'])['level'], ['log', 'level'], LOG_LEVELS) },
    control: checkControl(c, c.mapping(root['control'], ['control'])),
    audit: checkAudit(c, c.mapping(root['audit'], ['audit'])),
    retention: checkRetention(c, c.mapping(root['retention'], ['retention'])),
    shutdown: {
      drainSeconds: c.integer(c.mapping(root['shutdown'], ['shutdown'])['drainSeconds'], ['shutdown', 'drainSeconds'], 0, 86_400, 'must be an integer of seconds, 0–86400 (0 ends calls at once)'),
    },
  };
  if (c.problems.length > 0) throw new ConfigError(ctx.source, c.problems);
  return deepFreeze(config);
}

function checkSip(c: Checker, sip: Mapping): SipConfig {
  const listen = c.address(sip['listen'], ['sip', 'listen']);
  const port = c.integer(sip['port'], ['sip', 'port'], 0, 65535, 'must be an integer 0–65535 (0 picks a free port)');
  const transports = checkTransports(c, sip['transports']);
  const publicAddress = checkPublicAddress(c, sip['publicAddress'], listen, ['sip', 'publicAddress'], 'sip.listen');
  const timers = c.mapping(sip['timers'], ['sip', 'timers']);
  const timer = (name: 't1' | 't2' | 't4'): number =>
    c.integer(timers[name], ['sip', 'timers', name], 1, 600_000, 'must be a positive integer of milliseconds');
  const ringTimeoutSec = c.integer(sip['ringTimeoutSec'], ['sip', 'ringTimeoutSec'], 1, 86_400, 'must be a positive integer of seconds');
  return { listen, port, transports, publicAddress, timers: { t1: timer('t1'), t2: timer('t2'), t4: timer('t4') }, ringTimeoutSec };
}

function checkTransports(c: Checker, v: unknown): readonly Transport[] {
  const path: Path = ['sip', 'transports'];
  const ok =
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((t) => TRANSPORTS.includes(t as Transport)) &&
    new Set(v).size === v.length;
  if (ok) return v as Transport[];
  c.fail(path, 'must be a non-empty list of udp and/or tcp, each once');
  return ['udp'];
}

/** What peers are told to use: a wildcard bind address cannot be it, so it must then be given. */
function checkPublicAddress(c: Checker, v: unknown, bound: string, path: Path, boundName: string): string {
  if (v !== undefined) {
    const a = c.address(v, path);
    if (WILDCARDS.has(a)) c.fail(path, 'must be an address peers can reach, not a wildcard');
    return a;
  }
  if (WILDCARDS.has(bound)) c.fail(path, `is required when ${boundName} is a wildcard address (${bound})`);
  return bound;
}

function checkRtp(c: Checker, rtp: Mapping): RtpConfig {
  const address = c.address(rtp['address'], ['rtp', 'address']);
  const publicAddress = checkPublicAddress(c, rtp['publicAddress'], address, ['rtp', 'publicAddress'], 'rtp.address');
  const portMin = rtp['portMin'];
  const portMax = rtp['portMax'];
  const minOk = typeof portMin === 'number' && Number.isInteger(portMin) && portMin % 2 === 0 && portMin >= 1024 && portMin <= 65534;
  if (!minOk) c.fail(['rtp', 'portMin'], 'must be an even integer 1024–65534');
  const max = c.integer(portMax, ['rtp', 'portMax'], 1025, 65535, 'must be an integer 1025–65535');
  // RTP on an even port, RTCP on the next: the range must hold at least that one pair.
  if (typeof portMin === 'number' && Number.isInteger(portMin) && max === portMax && portMax < portMin + 1) {
    c.fail(['rtp', 'portMax'], `must be at least rtp.portMin + 1 (${portMin + 1}) so the range holds one RTP/RTCP pair`);
  }
  return { address, publicAddress, portMin: minOk ? portMin : 1024, portMax: max };
}

const FS_ONLY = ['dir'];
const S3_ONLY = ['bucket', 'prefix', 'region', 'endpoint', 'pathStyle', 'objectLock'];

function checkStorage(c: Checker, storage: Mapping): StorageConfig {
  const kind = c.oneOf(storage['kind'], ['storage', 'kind'], ['fs', 's3'] as const);
  // Keys of the other kind are a mistake worth naming (an s3 bucket on an fs store does nothing).
  for (const k of kind === 's3' ? FS_ONLY : S3_ONLY) {
    if (storage[k] !== undefined && !(kind === 's3' && k === 'dir')) c.fail(['storage', k], `does not apply to storage.kind ${kind}`);
  }
  if (kind === 's3') {
    const bucket = c.string(storage['bucket'], ['storage', 'bucket'], 'an S3 bucket name');
    const prefix = storage['prefix'] === undefined ? '' : c.string(storage['prefix'], ['storage', 'prefix']).replace(/^\/+/, '');
    const region = storage['region'] === undefined ? 'us-east-1' : c.string(storage['region'], ['storage', 'region']);
    const endpoint = storage['endpoint'] === undefined ? undefined : c.string(storage['endpoint'], ['storage', 'endpoint'], 'an http(s) URL');
    if (endpoint !== undefined && endpoint !== '' && !/^https?:\/\/[^\s/]+/.test(endpoint)) c.fail(['storage', 'endpoint'], 'must be an http(s) URL');
    const pathStyle = storage['pathStyle'] === undefined ? false : c.boolean(storage['pathStyle'], ['storage', 'pathStyle']);
    const objectLock = storage['objectLock'] === undefined ? false : c.boolean(storage['objectLock'], ['storage', 'objectLock']);
    return { kind, bucket, prefix, region, ...(endpoint !== undefined ? { endpoint } : {}), pathStyle, objectLock };
  }
  const dir = c.string(storage['dir'], ['storage', 'dir'], 'a directory path');
  return { kind, dir: dir === '' ? dir : c.absolute(dir) };
}

function checkSpool(c: Checker, spool: Mapping): SpoolConfig {
  const dir = c.string(spool['dir'], ['spool', 'dir'], 'a directory path');
  const maxBytes = c.integer(spool['maxBytes'], ['spool', 'maxBytes'], 1 << 20, Number.MAX_SAFE_INTEGER, 'must be a whole number of bytes, at least 1 MiB');
  const minFreeBytes = c.integer(spool['minFreeBytes'], ['spool', 'minFreeBytes'], 0, Number.MAX_SAFE_INTEGER, 'must be a whole number of bytes (0: no reserve)');
  return { dir: dir === '' ? dir : c.absolute(dir), maxBytes, minFreeBytes };
}

function checkEncryption(c: Checker, e: Mapping): EncryptionConfig {
  const publicKey = e['publicKey'] === undefined ? undefined : c.readableFile(e['publicKey'], ['encryption', 'publicKey']);
  const keyFile = e['keyFile'] === undefined ? undefined : c.readableFile(e['keyFile'], ['encryption', 'keyFile']);
  if (publicKey !== undefined && keyFile !== undefined) c.fail(['encryption'], 'set publicKey or keyFile, not both');
  const keyDir = c.string(e['keyDir'], ['encryption', 'keyDir'], 'a directory path');
  return { ...(publicKey !== undefined ? { publicKey } : {}), ...(keyFile !== undefined ? { keyFile } : {}), keyDir: keyDir === '' ? keyDir : c.absolute(keyDir) };
}

function checkRecording(c: Checker, recording: Mapping): RecordingConfig {
  return {
    jitterMs: c.integer(recording['jitterMs'], ['recording', 'jitterMs'], 20, 2000, 'must be an integer 20–2000 (milliseconds)'),
    segmentSeconds: c.integer(recording['segmentSeconds'], ['recording', 'segmentSeconds'], 1, 86_400, 'must be a whole number of seconds, 1–86400'),
    lookbackMs: c.integer(recording['lookbackMs'], ['recording', 'lookbackMs'], 0, 10_000, 'must be an integer 0–10000 (milliseconds)'),
  };
}

/** A short token is guessable; 16 characters is the least that is not. */
const MIN_TOKEN_LENGTH = 16;

function checkControl(c: Checker, control: Mapping): ControlConfig {
  const enabled = c.boolean(control['enabled'], ['control', 'enabled']);
  const listen = c.address(control['listen'], ['control', 'listen']);
  const port = c.integer(control['port'], ['control', 'port'], 0, 65535, 'must be an integer 0–65535 (0 picks a free port)');
  const clients = checkClients(c, control['clients']);
  const base = { enabled, listen, port, clients };
  const source = tokenSource(c, control, ['control'], DEFAULT_CONTROL_TOKEN_FILE);
  return { ...base, ...source };
}

/** `token` or `tokenFile` at `path`, not both; with neither, `defaultFile` (the gateway makes it when missing). */
function tokenSource(c: Checker, m: Mapping, path: Path, defaultFile: string | undefined): { token: string } | { tokenFile: string } {
  if (m['token'] !== undefined && m['tokenFile'] !== undefined) {
    c.fail([...path, 'token'], 'set token or tokenFile, not both');
    return { token: '' };
  }
  if (m['token'] !== undefined) {
    const token = m['token'];
    // The value is never echoed: an error message may end up in a log.
    if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      c.fail([...path, 'token'], `must be a string of at least ${MIN_TOKEN_LENGTH} characters, no spaces`);
    }
    return { token: typeof token === 'string' ? token : '' };
  }
  if (m['tokenFile'] === undefined && defaultFile === undefined) {
    c.fail([...path, 'tokenFile'], 'set token or tokenFile (the gateway makes the file when it is missing)');
    return { tokenFile: '' };
  }
  // The gateway makes the file when it is missing, so it is not required to exist now.
  const tokenFile = m['tokenFile'] === undefined ? (defaultFile ?? '') : c.string(m['tokenFile'], [...path, 'tokenFile'], 'a file path');
  return { tokenFile: tokenFile === '' ? tokenFile : c.absolute(tokenFile) };
}

const ROLES: readonly ControlRole[] = ['operator', 'records', 'monitor'];

function checkClients(c: Checker, v: unknown): readonly ControlClient[] {
  const names = new Map<string, number>();
  return c.optionalList(v, ['control', 'clients'], 'clients ({ name, role, token or tokenFile })').map((entry, i) => {
    const path: Path = ['control', 'clients', i];
    const m = c.mapping(entry, path);
    const name = c.string(m['name'], [...path, 'name']);
    // The main token is `admin` in the audit log: a client by that name would pass for it.
    if (name === 'admin') c.fail([...path, 'name'], '"admin" is the main token\'s name in the audit log; name this client otherwise');
    const other = names.get(name);
    if (other !== undefined) c.fail([...path, 'name'], `names control.clients[${other}] too; each client's name is its own`);
    names.set(name, i);
    const role = c.oneOf(m['role'], [...path, 'role'], ROLES);
    return { name, role, ...tokenSource(c, m, path, undefined) };
  });
}

function checkAudit(c: Checker, audit: Mapping): AuditConfig {
  const file = c.string(audit['file'], ['audit', 'file'], 'a file path');
  return { file: file === '' ? file : c.absolute(file) };
}

function checkRetention(c: Checker, r: Mapping): RetentionConfig {
  const v = r['sweep'];
  let sweep: string | false = false;
  if (v !== false && v !== 'off') {
    sweep = c.string(v, ['retention', 'sweep'], 'a cron expression such as "30 3 * * *", or off');
    if (sweep !== '' && !validateCron(sweep)) c.fail(['retention', 'sweep'], 'must be a cron expression (minute hour day-of-month month day-of-week), such as "30 3 * * *", or off');
  }
  const timeZone = r['timeZone'] === undefined ? undefined : zone(c, r['timeZone'], ['retention', 'timeZone']);
  return { sweep, ...(timeZone !== undefined ? { timeZone } : {}) };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
