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
  assert.deepEqual(config.lines, [
    { number: '1000', name: 'helpline', target: 'sip:queue@127.0.0.1:5070', record: true, announcement: { mode: 'early' }, retentionDays: 90, onRecordingFailure: 'continue' },
  ]);
  assert.deepEqual(config.storage, { kind: 'fs', dir: join(process.cwd(), 'var', 'recordings') });
  assert.deepEqual(config.spool, { dir: join(process.cwd(), 'var', 'spool'), maxBytes: 1 << 30 });
  assert.deepEqual(config.encryption, { keyDir: join(process.cwd(), 'var', 'keys') });
  assert.deepEqual(config.recording, { jitterMs: 200, segmentSeconds: 300 });
  assert.deepEqual(config.log, { level: 'info' });
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
