import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG_YAML, loadConfig, parseConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/ops/paths.js';

/** A scratch directory with config files; removed after the test. */
function scratch(t: { after(fn: () => void): void }): (name: string, text: string) => string {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return (name, text) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('the embedded defaults load with no file and no external server', () => {
  const config = loadConfig({});
  assert.deepEqual(config.sip, {
    listen: '127.0.0.1',
    port: 5060,
    transports: ['udp', 'tcp'],
    publicAddress: '127.0.0.1',
    timers: { t1: 500, t2: 4000, t4: 5000 },
    ringTimeoutSec: 60,
  });
  assert.deepEqual(config.rtp, { address: '127.0.0.1', publicAddress: '127.0.0.1', portMin: 20000, portMax: 30000 });
  assert.deepEqual(config.trunks, [{ name: 'pstn', addresses: ['127.0.0.1'] }]);
  assert.deepEqual(config.pbxs, []);
  assert.deepEqual(config.lines, [
    {
      number: '1000',
      match: 'exact',
      name: 'helpline',
      target: 'sip:queue@127.0.0.1:5070',
      record: true,
      recordMode: 'always',
      schedule: [],
      announcement: { mode: 'early' },
      retentionDays: 90,
      onRecordingFailure: 'continue',
      onTransfer: 'stop',
      paymentTargets: [],
      unrecordedExtensions: [],
      extensions: [],
      redactDtmf: true,
      dtmfQuietMs: 3000,
      optOut: { discard: true },
    },
  ]);
  assert.deepEqual(config.storage, { kind: 'fs', dir: join(process.cwd(), 'var', 'recordings') });
  assert.deepEqual(config.spool, { dir: join(process.cwd(), 'var', 'spool'), maxBytes: 1 << 30, minFreeBytes: 1 << 28 });
  assert.deepEqual(config.encryption, { keyDir: join(process.cwd(), 'var', 'keys') });
  assert.deepEqual(config.recording, { jitterMs: 200, segmentSeconds: 300, lookbackMs: 1000 });
  assert.deepEqual(config.log, { level: 'info' });
  assert.deepEqual(config.control, { enabled: true, listen: '127.0.0.1', port: 8088, clients: [], tokenFile: join(process.cwd(), 'var', 'control-token') });
  assert.deepEqual(config.audit, { file: join(process.cwd(), 'var', 'audit.log') });
  assert.match(DEFAULT_CONFIG_YAML, /jitterMs: 200/);
});

test('config/example.yaml loads, with its files resolved against its own directory', () => {
  const config = loadConfig({ file: join(PROJECT_ROOT, 'config', 'example.yaml') });
  const [recorded, plain] = config.lines;
  assert.equal(recorded?.announcement?.file, join(PROJECT_ROOT, 'assets', 'announcement.wav'));
  assert.deepEqual(recorded?.announcement?.secondMessage, { file: join(PROJECT_ROOT, 'assets', 'information.wav'), key: '1' });
  assert.equal(plain?.number, '+498001234');
  assert.equal(plain?.announcement, undefined, 'a line that is not recorded needs no announcement');
  assert.equal(config.storage.kind === 'fs' ? config.storage.dir : '', join(PROJECT_ROOT, 'config', 'var', 'recordings'));
  // Every key the example documents is read, not just accepted.
  assert.equal(recorded?.recordMode, 'always');
  assert.deepEqual(recorded?.paymentTargets, ['5999', 'sip:pay@10.0.0.5']);
  assert.deepEqual(recorded?.extensions, ['2001', '2002']);
  assert.deepEqual([recorded?.pauseKeys, recorded?.resumeKeys, recorded?.optOut], ['*7', '*8', { key: '9', discard: true }]);
  assert.equal(plain?.recordMode, 'never');
  const branches = config.lines[2];
  assert.deepEqual([branches?.number, branches?.match, branches?.recordMode], ['01632', 'prefix', 'schedule']);
  assert.deepEqual(branches?.schedule, [
    { timeZone: 'Europe/London', from: '2026-04-01', until: '2026-05-07', days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '20:00' },
    { timeZone: 'Europe/London', days: ['sat'], start: '22:00', end: '02:00' },
  ]);
  assert.equal(config.trunks[0]?.target, 'sip:127.0.0.1:5080');
  assert.deepEqual(config.pbxs, [{ name: 'acd', addresses: ['127.0.0.2'], trunk: 'pstn' }]);
  assert.equal(config.recording.lookbackMs, 1000);
  assert.equal(config.control.tokenFile, join(PROJECT_ROOT, 'config', 'var', 'control-token'));
  assert.equal(config.audit.file, join(PROJECT_ROOT, 'config', 'var', 'audit.log'));
});

test('a file overrides the defaults, the environment overrides the file, overrides win over both', (t) => {
  const file = scratch(t)(
    'recgw.yaml',
    'sip:\n  port: 5070\n  listen: 10.1.2.3\nrtp:\n  portMin: 20000\n  portMax: 20100\nrecording:\n  jitterMs: 300\n',
  );
  const env = {
    RECGW_SIP__PORT: '5080',
    RECGW_RTP__PORTMIN: '20050',
    RECGW_SIP__TRANSPORTS: '[udp]',
    RECGW_sip__ringtimeoutsec: '5',
    RECGW_LINES__0__NUMBER: '0800',
    RECGW_LINES__0__ANNOUNCEMENT__SECONDMESSAGE: '{ file: ' + join(PROJECT_ROOT, 'assets', 'information.wav') + ', key: "#" }',
    // Not configuration: no `__` and no section name. Left alone.
    RECGW_TEST_LOG: 'debug',
    RECGW_LOG_LEVEL: 'trace',
  };
  const fromEnv = loadConfig({ file, env });
  assert.equal(fromEnv.sip.port, 5080);
  assert.equal(fromEnv.sip.listen, '10.1.2.3', 'the file still counts where the environment is silent');
  assert.equal(fromEnv.sip.publicAddress, '10.1.2.3', 'publicAddress follows the listen address');
  assert.deepEqual(fromEnv.sip.transports, ['udp']);
  assert.equal(fromEnv.sip.ringTimeoutSec, 5);
  assert.equal(fromEnv.rtp.portMin, 20050);
  assert.equal(fromEnv.recording.jitterMs, 300);
  assert.equal(fromEnv.lines[0]?.number, '0800', 'a dialled number keeps its leading zero');
  assert.equal(fromEnv.lines[0]?.announcement?.secondMessage?.key, '#');
  assert.equal(fromEnv.log.level, 'info');

  const overridden = loadConfig({ file, env, overrides: { sip: { port: 5090 }, rtp: { portMin: 20010 } } });
  assert.equal(overridden.sip.port, 5090);
  assert.equal(overridden.rtp.portMin, 20010);
  assert.deepEqual(overridden.sip.transports, ['udp']);
});

test('a whole list can come from one environment variable', () => {
  const config = loadConfig({ env: { RECGW_TRUNKS: '[{ name: a, addresses: [192.0.2.1, "2001:db8::1"] }, { name: b, addresses: [192.0.2.2] }]' } });
  assert.deepEqual(config.trunks, [
    { name: 'a', addresses: ['192.0.2.1', '2001:db8::1'] },
    { name: 'b', addresses: ['192.0.2.2'] },
  ]);
});

test('a file with several bad fields gives one ConfigError naming each path', (t) => {
  const file = scratch(t)(
    'bad.yaml',
    `
sip:
  listen: localhost
  port: 70000
  transports: [udp, sctp]
  timers: { t1: 0 }
rtp:
  portMin: 20001
  portMax: 19000
trunks:
  - name: pstn
    addresses: [10.0.0.300]
  - name: pstn
    addresses: [10.0.0.1]
lines:
  - number: "10a0"
    name: helpline
    target: http://queue.example
    record: "yes"
  - number: 2000
    name: sales
    target: sip:sales@10.0.0.9
    record: true
    announcement: { mode: late, file: missing.wav, secondMessage: { file: also-missing.wav, key: 12 } }
  - number: 2000
    name: again
    target: sip:again@10.0.0.9
    record: false
storage: { kind: tape, dir: "" }
recording: { jitterMs: 5 }
log: { level: verbose }
`,
  );
  const err = configError(() => loadConfig({ file }));
  const paths = err.problems.map((p) => p.path);
  assert.deepEqual(new Set(paths), new Set([
    'sip.listen',
    'sip.port',
    'sip.transports',
    'sip.timers.t1',
    'rtp.portMin',
    'rtp.portMax',
    'trunks[0].addresses[0]',
    'trunks[1].name',
    'lines[0].number',
    'lines[0].target',
    'lines[0].record',
    'lines[1].announcement.mode',
    'lines[1].announcement.file',
    'lines[1].announcement.secondMessage.file',
    'lines[1].announcement.secondMessage.key',
    'lines[2].number',
    'storage.kind',
    'storage.dir',
    'recording.jitterMs',
    'log.level',
  ]));
  assert.equal(paths.length, new Set(paths).size, 'each problem once');
  assert.ok(err.message.startsWith(`invalid configuration (${file}):\n`), err.message);
  for (const p of err.problems) assert.ok(err.message.includes(`\n  - ${p.path}: ${p.message}`), `message lists ${p.path}`);
  assert.match(err.message, /rtp\.portMin: must be an even integer 1024–65534/);
  assert.match(err.message, /lines\[0\]\.target: must be a sip: URI/);
  assert.match(err.message, /lines\[1\]\.announcement\.file: file not found: .*missing\.wav/);
  assert.match(err.message, /lines\[2\]\.number: '2000' is already the number of lines\[1\]/);
});

test('an unknown key is named, with the key it probably meant', () => {
  const err = configError(() => parseConfig({ sip: { prot: 5070 }, recording: { jiterMs: 100 }, extra: true }, 'test'));
  assert.deepEqual(
    err.problems.map((p) => p.path),
    ['extra', 'sip.prot', 'recording.jiterMs'],
  );
  assert.match(err.message, /sip\.prot: unknown key; did you mean 'port'\?/);
  assert.match(err.message, /recording\.jiterMs: unknown key; did you mean 'jitterMs'\?/);
});

test('a bad environment variable is named, whether its value or its name is wrong', () => {
  const err = configError(() => loadConfig({ env: { RECGW_SIP__PORT: 'fifty', RECGW_RTP__PROTMIN: '1', RECGW_LINES__3__NAME: 'x', RECGW_SIP__TRANSPORTS: '[udp' } }));
  const byPath = new Map(err.problems.map((p) => [p.path, p.message]));
  assert.match(byPath.get('sip.port') ?? '', /set by RECGW_SIP__PORT/);
  assert.match(byPath.get('RECGW_RTP__PROTMIN') ?? '', /did you mean 'PORTMIN'/);
  assert.match(byPath.get('RECGW_LINES__3__NAME') ?? '', /lines has 1 entries/);
  assert.match(byPath.get('RECGW_SIP__TRANSPORTS') ?? '', /cannot read the value as YAML/);
});

test('a YAML syntax error gives a ConfigError with the file name and the line', (t) => {
  const file = scratch(t)('broken.yaml', 'sip:\n  port: 5060\nrtp: [\nlines:\n  - number: 1\n');
  const err = configError(() => loadConfig({ file }));
  assert.ok(err.message.includes(file), err.message);
  assert.match(err.problems[0]?.path ?? '', /^line \d+, column \d+$/);
  assert.match(err.message, /line [345], column/);

  const dup = scratch(t)('dup.yaml', 'sip:\n  port: 5060\n  port: 5070\n');
  assert.match(configError(() => loadConfig({ file: dup })).message, /line 3, column 3: Map keys must be unique/);
});

test('a missing file is a ConfigError, not a stack trace', () => {
  const err = configError(() => loadConfig({ file: join(tmpdir(), 'recgw-no-such-config.yaml') }));
  assert.match(err.message, /recgw-no-such-config\.yaml\):\n {2}- file not found/);
});

test('YAML numbers become dialled numbers as written', (t) => {
  const file = scratch(t)(
    'numbers.yaml',
    'lines:\n  - { number: 0800, name: a, target: "sip:a@127.0.0.1", record: false }\n  - { number: 1000, name: b, target: "sip:b@127.0.0.1", record: false }\n  - { number: +4930123, name: c, target: "sip:c@127.0.0.1", record: false }\n',
  );
  assert.deepEqual(loadConfig({ file }).lines.map((l) => l.number), ['0800', '1000', '+4930123']);
  assert.equal(parseConfig({ lines: [{ number: 1000, name: 'a', target: 'sips:a@[::1]:5061;transport=tcp', record: false }] }, 'test').lines[0]?.number, '1000');
});

test('announcements: a recorded line gets the built-in one early; relative files resolve against the config file', (t) => {
  const write = scratch(t);
  const wav = write('hello.wav', 'RIFF');
  const file = write(
    'lines.yaml',
    'lines:\n' +
      '  - { number: "1", name: a, target: "sip:a@127.0.0.1", record: true }\n' +
      '  - { number: "2", name: b, target: "sip:b@127.0.0.1", record: true, announcement: { mode: answer, file: hello.wav } }\n' +
      '  - { number: "3", name: c, target: "sip:c@127.0.0.1", record: false }\n',
  );
  const [a, b, c] = loadConfig({ file }).lines;
  assert.deepEqual(a?.announcement, { mode: 'early' });
  assert.deepEqual(b?.announcement, { mode: 'answer', file: wav });
  assert.equal(c?.announcement, undefined);
  assert.ok(c && !('announcement' in c));
});

test('addresses: wildcards need a public address, IPv6 literals are fine', () => {
  const err = configError(() => parseConfig({ sip: { listen: '0.0.0.0' }, rtp: { address: '::', publicAddress: '::' } }, 'test'));
  assert.deepEqual(err.problems.map((p) => p.path), ['sip.publicAddress', 'rtp.publicAddress']);
  const ok = parseConfig({ sip: { listen: '::', publicAddress: '2001:db8::5', port: 0 }, rtp: { address: '::1', portMin: 1024, portMax: 1025 } }, 'test');
  assert.equal(ok.sip.port, 0, 'port 0 asks for an ephemeral port');
  assert.equal(ok.rtp.publicAddress, '::1');
  assert.equal(ok.rtp.portMax, 1025, 'one pair is room enough');
  configError(() => parseConfig({ rtp: { portMin: 2000, portMax: 2000 } }, 'test'));
  configError(() => parseConfig({ trunks: [] }, 'test'));
  configError(() => parseConfig({ trunks: [{ name: 'a', addresses: ['10.0.0.1'] }, { name: 'b', addresses: ['10.0.0.1'] }] }, 'test'));
  configError(() => parseConfig({ sip: { transports: [] } }, 'test'));
  configError(() => parseConfig({ sip: { transports: ['udp', 'udp'] } }, 'test'));
});

test('the result is deep-frozen', () => {
  const config = loadConfig({});
  for (const part of [config, config.sip, config.sip.timers, config.sip.transports, config.trunks, config.trunks[0], config.lines, config.lines[0], config.lines[0]?.announcement]) {
    assert.ok(Object.isFrozen(part));
  }
  assert.throws(() => {
    (config.sip as { port: number }).port = 1;
  }, TypeError);
  assert.equal(config.sip.port, 5060);
  // Loading again starts from clean defaults: nothing leaked between loads.
  assert.equal(loadConfig({ overrides: { sip: { port: 7000 } } }).sip.port, 7000);
  assert.equal(loadConfig({}).sip.port, 5060);
});

test('an s3 store takes bucket, prefix, region, endpoint, pathStyle and objectLock; fs keys on it are named', () => {
  const config = loadConfig({ overrides: { storage: { kind: 's3', bucket: 'recordings', prefix: '/gw1/', endpoint: 'http://127.0.0.1:7480', pathStyle: true, objectLock: true } } });
  assert.deepEqual(config.storage, { kind: 's3', bucket: 'recordings', prefix: 'gw1/', region: 'us-east-1', endpoint: 'http://127.0.0.1:7480', pathStyle: true, objectLock: true });
  const err = configError(() => loadConfig({ overrides: { storage: { kind: 'fs', bucket: 'x' }, lines: [{ number: '1', name: 'a', target: 'sip:q@127.0.0.1', record: true, retention: 7, onRecordingFailure: 'maybe' }] } }));
  assert.deepEqual(new Set(err.problems.map((p) => p.path)), new Set(['storage.bucket', 'lines[0].retention', 'lines[0].onRecordingFailure']));
});

test('lines: record modes, old booleans, number or prefix, and the per-line policy keys', (t) => {
  const file = scratch(t)(
    'policy.yaml',
    `
lines:
  - { number: "1", name: a, target: "sip:a@127.0.0.1", record: true }
  - { number: "2", name: b, target: "sip:b@127.0.0.1", record: false }
  - { number: "3", name: c, target: "sip:c@127.0.0.1", record: never }
  - prefix: 01632
    name: d
    target: sip:d@127.0.0.1
    record: schedule
    schedule:
      - { timeZone: europe/london, days: [Fri, mon, fri], start: "8:30" }
    onTransfer: split
    paymentTargets: [5999, 0800123, "sip:pay@10.0.0.5:5070;transport=tcp"]
    unrecordedExtensions: [2099]
    extensions: [02001]
    redactDtmf: false
    dtmfQuietMs: 500
    pauseKeys: "*7"
    resumeKeys: "#8"
    optOut: { key: "*", discard: false }
`,
  );
  const err = configError(() => loadConfig({ file }));
  assert.deepEqual(err.problems.map((p) => p.path), ['lines[3].schedule[0].days[2]'], 'fri twice, whatever the case');
  const fixed = loadConfig({ file, env: { RECGW_LINES__3__SCHEDULE__0__DAYS: '[Fri, mon]' } });
  const [a, b, c, d] = fixed.lines;
  assert.deepEqual([a?.recordMode, a?.record, b?.recordMode, b?.record, c?.recordMode, c?.record], ['always', true, 'never', false, 'never', false]);
  assert.equal(c?.announcement, undefined, 'a never line needs no announcement');
  assert.deepEqual(d?.announcement, { mode: 'early' }, 'a scheduled line may record, so it announces');
  assert.deepEqual([d?.number, d?.match, d?.recordMode, d?.record], ['01632', 'prefix', 'schedule', true]);
  assert.deepEqual(d?.schedule, [{ timeZone: 'Europe/London', days: ['mon', 'fri'], start: '08:30', end: '24:00' }], 'zone spelled as Intl does, days in week order');
  assert.equal(d?.onTransfer, 'split');
  assert.deepEqual(d?.paymentTargets, ['5999', '0800123', 'sip:pay@10.0.0.5:5070;transport=tcp'], 'numbers keep their leading zero');
  assert.deepEqual(d?.unrecordedExtensions, ['2099']);
  assert.deepEqual(d?.extensions, ['02001']);
  assert.deepEqual([d?.redactDtmf, d?.dtmfQuietMs, d?.pauseKeys, d?.resumeKeys], [false, 500, '*7', '#8']);
  assert.deepEqual(d?.optOut, { key: '*', discard: false });
  assert.ok(Object.isFrozen(d?.schedule[0]?.days));
});

test('each bad line policy field is named', (t) => {
  const write = scratch(t);
  write('hello.wav', 'RIFF');
  const file = write(
    'bad-policy.yaml',
    `
lines:
  - { number: "1", prefix: "1", name: a, target: "sip:a@127.0.0.1", record: true }
  - { name: b, target: "sip:b@127.0.0.1", record: sometimes }
  - { prefix: "01632", name: c, target: "sip:c@127.0.0.1", record: always, schedule: [{ timeZone: UTC }] }
  - { prefix: "01632", name: d, target: "sip:d@127.0.0.1", record: schedule }
  - prefix: "0163"
    name: e
    target: sip:e@127.0.0.1
    record: schedule
    schedule:
      - timeZone: Mars/Olympus
        from: "2026-02-30"
        until: 2026-13-01
        days: []
        start: "24:00"
        end: "25:00"
        hours: 3
      - { timeZone: UTC, from: "2026-05-08", until: "2026-05-07", start: "09:00", end: "09:00", days: [someday] }
  - number: "5"
    name: f
    target: sip:f@127.0.0.1
    record: always
    announcement: { file: hello.wav, secondMessage: { file: hello.wav, key: "9" } }
    onTransfer: forward
    paymentTargets: ["59-99", "http://pay.example"]
    unrecordedExtensions: "2099"
    extensions: [2001, "ext"]
    redactDtmf: "yes"
    dtmfQuietMs: 100
    pauseKeys: "*7*7*7*7*"
    resumeKeys: #8
    optOut: { key: "99", discard: maybe, after: 1 }
  - number: "6"
    name: g
    target: sip:g@127.0.0.1
    record: always
    extensions: ["2001"]
    pauseKeys: "*7"
    resumeKeys: "*7"
    optOut: { key: 9 }
    announcement: { secondMessage: { file: hello.wav, key: 9 } }
  - { number: "7", name: h, target: "sip:h@127.0.0.1", record: true, schedule: [] }
`,
  );
  const err = configError(() => loadConfig({ file }));
  const byPath = new Map(err.problems.map((p) => [p.path, p.message]));
  assert.deepEqual(new Set(byPath.keys()), new Set([
    'lines[0].prefix',
    'lines[1].number',
    'lines[1].record',
    'lines[2].schedule',
    'lines[3].prefix',
    'lines[3].schedule',
    'lines[4].schedule[0].hours',
    'lines[4].schedule[0].timeZone',
    'lines[4].schedule[0].from',
    'lines[4].schedule[0].until',
    'lines[4].schedule[0].days',
    'lines[4].schedule[0].start',
    'lines[4].schedule[0].end',
    'lines[4].schedule[1].until',
    'lines[4].schedule[1].end',
    'lines[4].schedule[1].days[0]',
    'lines[5].onTransfer',
    'lines[5].paymentTargets[0]',
    'lines[5].paymentTargets[1]',
    'lines[5].unrecordedExtensions',
    'lines[5].extensions[1]',
    'lines[5].redactDtmf',
    'lines[5].dtmfQuietMs',
    'lines[5].pauseKeys',
    'lines[5].resumeKeys',
    'lines[5].optOut.key',
    'lines[5].optOut.discard',
    'lines[5].optOut.after',
    'lines[6].extensions[0]',
    'lines[6].resumeKeys',
    'lines[6].optOut.key',
    'lines[7].schedule',
  ]));
  assert.equal(err.problems.length, byPath.size, 'each problem once');
  assert.match(byPath.get('lines[0].prefix') ?? '', /set number or prefix, not both/);
  assert.match(byPath.get('lines[1].number') ?? '', /is required: .*or prefix/);
  assert.match(byPath.get('lines[1].record') ?? '', /always, never or schedule/);
  assert.match(byPath.get('lines[2].schedule') ?? '', /applies only to record: schedule/);
  assert.match(byPath.get('lines[3].prefix') ?? '', /'01632' is already the prefix of lines\[2\]/);
  assert.match(byPath.get('lines[3].schedule') ?? '', /non-empty list of windows/);
  assert.match(byPath.get('lines[4].schedule[0].timeZone') ?? '', /IANA time zone/);
  assert.match(byPath.get('lines[4].schedule[0].from') ?? '', /calendar date/);
  assert.match(byPath.get('lines[4].schedule[0].start') ?? '', /cannot open at the end of the day/);
  assert.match(byPath.get('lines[4].schedule[1].until') ?? '', /must not be before from \(2026-05-08\)/);
  assert.match(byPath.get('lines[4].schedule[1].end') ?? '', /must differ from start/);
  assert.match(byPath.get('lines[5].resumeKeys') ?? '', /quote \* and # in YAML/, 'an unquoted # is a comment');
  assert.match(byPath.get('lines[6].extensions[0]') ?? '', /'2001' is already an extension of lines\[5\]/);
  assert.match(byPath.get('lines[6].resumeKeys') ?? '', /must differ from pauseKeys/);
  assert.match(byPath.get('lines[6].optOut.key') ?? '', /must differ from announcement\.secondMessage\.key/);
});

test('an exact number and a prefix of the same digits may coexist; two of either may not', () => {
  const lines = [
    { number: '1000', name: 'a', target: 'sip:a@127.0.0.1', record: true },
    { prefix: '1000', name: 'b', target: 'sip:b@127.0.0.1', record: true },
  ];
  assert.deepEqual(parseConfig({ lines }, 'test').lines.map((l) => [l.number, l.match]), [['1000', 'exact'], ['1000', 'prefix']]);
  const err = configError(() => parseConfig({ lines: [...lines, { number: 1000, name: 'c', target: 'sip:c@127.0.0.1', record: true }] }, 'test'));
  assert.deepEqual(err.problems.map((p) => p.path), ['lines[2].number']);
});

test('trunk targets, PBXs, lookback, control and audit: good values read, each bad field named', (t) => {
  const write = scratch(t);
  const good = loadConfig({
    file: write(
      'peers.yaml',
      `
trunks:
  - { name: pstn, addresses: [192.0.2.1], target: "sip:[2001:db8::5]:5062;transport=tcp" }
  - { name: other, addresses: [192.0.2.2] }
pbxs:
  - { name: acd, addresses: [198.51.100.7, "2001:db8::7"], trunk: pstn }
recording: { lookbackMs: 0 }
control: { enabled: false, listen: "::1", port: 0, token: "0123456789abcdef" }
audit: { file: logs/audit.log }
`,
    ),
  });
  assert.equal(good.trunks[0]?.target, 'sip:[2001:db8::5]:5062;transport=tcp');
  assert.ok(good.trunks[1] && !('target' in good.trunks[1]));
  assert.deepEqual(good.pbxs, [{ name: 'acd', addresses: ['198.51.100.7', '2001:db8::7'], trunk: 'pstn' }]);
  assert.equal(good.recording.lookbackMs, 0);
  assert.deepEqual(good.control, { enabled: false, listen: '::1', port: 0, clients: [], token: '0123456789abcdef' });
  assert.ok(!('tokenFile' in good.control), 'a token in the file needs no token file');
  assert.match(good.audit.file, /logs[/\\]audit\.log$/);
  assert.ok(good.audit.file.startsWith('/') || /^[A-Za-z]:/.test(good.audit.file), 'resolved to an absolute path');

  const fromEnv = loadConfig({ env: { RECGW_CONTROL__TOKEN: '#secret-token-0123', RECGW_CONTROL__PORT: '9000' } });
  assert.deepEqual(fromEnv.control, { enabled: true, listen: '127.0.0.1', port: 9000, clients: [], token: '#secret-token-0123' });

  const err = configError(() =>
    loadConfig({
      file: write(
        'bad-peers.yaml',
        `
trunks:
  - { name: pstn, addresses: [192.0.2.1], target: "sip:user@192.0.2.1" }
  - { name: nowhere, addresses: [192.0.2.2] }
  - { name: port, addresses: [192.0.2.3], target: "sip:192.0.2.3:70000" }
pbxs:
  - { name: acd, addresses: [192.0.2.1, 198.51.100.7], trunk: nowhere }
  - { name: acd2, addresses: [198.51.100.7], trunk: missing }
  - { name: acd, addresses: [], trunk: pstn }
  - { addresses: [198.51.100.8], trunk: pstn }
recording: { lookbackMs: 20000 }
control: { enabled: yes, listen: localhost, port: -1, token: short, tokenFile: x }
audit: { file: "", rotate: true }
`,
      ),
    }),
  );
  const byPath = new Map(err.problems.map((p) => [p.path, p.message]));
  assert.deepEqual(new Set(byPath.keys()), new Set([
    'trunks[0].target',
    'trunks[2].target',
    'pbxs[0].addresses[0]',
    'pbxs[0].trunk',
    'pbxs[1].addresses[0]',
    'pbxs[1].trunk',
    'pbxs[2].name',
    'pbxs[2].addresses',
    'pbxs[3].name',
    'recording.lookbackMs',
    'control.enabled',
    'control.listen',
    'control.port',
    'control.token',
    'audit.file',
    'audit.rotate',
  ]));
  assert.equal(err.problems.length, byPath.size, 'each problem once');
  assert.match(byPath.get('trunks[0].target') ?? '', /without a user part/);
  assert.match(byPath.get('pbxs[0].addresses[0]') ?? '', /is an address of trunk 'pstn'/);
  assert.match(byPath.get('pbxs[0].trunk') ?? '', /trunk 'nowhere' has no target/);
  assert.match(byPath.get('pbxs[1].addresses[0]') ?? '', /already an address of PBX 'acd'/);
  assert.match(byPath.get('pbxs[1].trunk') ?? '', /names no trunk/);
  assert.match(byPath.get('pbxs[2].name') ?? '', /names another PBX too/);
  assert.match(byPath.get('control.token') ?? '', /set token or tokenFile, not both/);
  assert.ok(!err.message.includes('short'), 'a token is never echoed');

  const weak = configError(() => parseConfig({ control: { token: 'short' } }, 'test'));
  assert.deepEqual(weak.problems.map((p) => p.path), ['control.token']);
  assert.match(weak.message, /at least 16 characters/);
  assert.ok(!weak.message.includes('short'), 'a token is never echoed');
});

test('spool.minFreeBytes: 0 turns the reserve off, a negative one is named', () => {
  assert.equal(loadConfig({ env: { RECGW_SPOOL__MINFREEBYTES: '0' } }).spool.minFreeBytes, 0);
  const err = configError(() => loadConfig({ env: { RECGW_SPOOL__MINFREEBYTES: '-1' } }));
  assert.deepEqual(
    err.problems.map((p) => p.path),
    ['spool.minFreeBytes'],
  );
});

test('retention: the sweep runs nightly by default, takes a cron expression or off, and a bad one is named', () => {
  assert.deepEqual(loadConfig({ env: {} }).retention, { sweep: '30 3 * * *' });
  assert.deepEqual(loadConfig({ env: { RECGW_RETENTION__SWEEP: 'off' } }).retention, { sweep: false });
  assert.deepEqual(parseConfig({ retention: { sweep: false } }, 'test').retention, { sweep: false });
  assert.deepEqual(parseConfig({ retention: { sweep: '0 2 * * 0', timeZone: 'Europe/London' } }, 'test').retention, { sweep: '0 2 * * 0', timeZone: 'Europe/London' });
  const err = configError(() => parseConfig({ retention: { sweep: 'nightly', timeZone: 'Mars/Olympus' } }, 'test'));
  assert.deepEqual(err.problems.map((p) => p.path), ['retention.sweep', 'retention.timeZone']);
  assert.match(err.message, /cron expression/);
});

test('a line named "holds", "releases" or "audit" is refused: the store keeps its holds, releases and audit log under those folders', () => {
  const line = { number: '1000', target: 'sip:queue@127.0.0.1:5070', record: true };
  const err = configError(() => parseConfig({ lines: [{ ...line, name: 'Holds' }, { ...line, number: '1001', name: 'releases' }, { ...line, number: '1002', name: 'audit' }] }, 'test'));
  assert.deepEqual(err.problems.map((p) => p.path), ['lines[0].name', 'lines[1].name', 'lines[2].name']);
  assert.match(err.message, /reserved/);
});

test('control.clients: each a name, a role and its own token or token file; mistakes are named', () => {
  const ok = parseConfig(
    {
      control: {
        token: 'main-token-0123456789',
        clients: [
          { name: 'agent-desktop', role: 'operator', token: 'desk-token-0123456789' },
          { name: 'records-office', role: 'records', tokenFile: './var/records-token' },
          { name: 'prometheus', role: 'monitor', token: 'scrape-token-0123456789' },
        ],
      },
    },
    'test',
  ).control;
  assert.deepEqual(ok.clients.map((c) => [c.name, c.role, c.token ?? 'file']), [
    ['agent-desktop', 'operator', 'desk-token-0123456789'],
    ['records-office', 'records', 'file'],
    ['prometheus', 'monitor', 'scrape-token-0123456789'],
  ]);
  assert.ok(ok.clients[1]?.tokenFile?.endsWith(join('var', 'records-token')));
  assert.deepEqual(loadConfig({ env: {} }).control.clients, []);

  const err = configError(() =>
    parseConfig(
      {
        control: {
          clients: [
            { name: 'admin', role: 'operator', token: 'desk-token-0123456789' },
            { name: 'desk', role: 'supervisor', token: 'short' },
            { name: 'desk', role: 'records' },
            { name: 'both', role: 'records', token: 'desk-token-0123456789', tokenFile: './x' },
          ],
        },
      },
      'test',
    ),
  );
  assert.deepEqual(err.problems.map((p) => p.path), ['control.clients[0].name', 'control.clients[1].role', 'control.clients[1].token', 'control.clients[2].name', 'control.clients[2].tokenFile', 'control.clients[3].token']);
  assert.ok(!err.message.includes('short'), 'a token is never echoed');
});

test('shutdown.drainSeconds: ten minutes unless set, 0 to end calls at once, and a bad value is named', () => {
  assert.equal(loadConfig({ env: {} }).shutdown.drainSeconds, 600);
  assert.equal(parseConfig({ shutdown: { drainSeconds: 0 } }, 'test').shutdown.drainSeconds, 0);
  const err = configError(() => parseConfig({ shutdown: { drainSeconds: -5 } }, 'test'));
  assert.deepEqual(
    err.problems.map((p) => [p.path, p.message]),
    [['shutdown.drainSeconds', 'must be an integer of seconds, 0–86400 (0 ends calls at once)']],
  );
});
