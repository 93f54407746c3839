/**
 * The embedded defaults: `recgw start` with no file runs on loopback with no
 * external server. A file, the environment and overrides are laid over this.
 * `sip.publicAddress` and `rtp.publicAddress` are left out on purpose: they
 * follow `sip.listen` and `rtp.address` unless set.
 */
export const DEFAULT_CONFIG_YAML = `\
sip:
  listen: 127.0.0.1
  port: 5060
  transports: [udp, tcp]
  timers: { t1: 500, t2: 4000, t4: 5000 }
  ringTimeoutSec: 60
rtp:
  address: 127.0.0.1
  portMin: 20000
  portMax: 30000
trunks:
  - name: pstn
    addresses: [127.0.0.1]
pbxs: []
lines:
  - number: "1000"
    name: helpline
    target: sip:queue@127.0.0.1:5070
    record: true
    announcement: { mode: early }
storage:
  kind: fs
  dir: ./var/recordings
spool:
  dir: ./var/spool
  maxBytes: 1073741824
  minFreeBytes: 268435456
encryption:
  keyDir: ./var/keys
recording:
  jitterMs: 200
  segmentSeconds: 300
  lookbackMs: 1000
log:
  level: info
control:
  enabled: true
  listen: 127.0.0.1
  port: 8088
audit:
  file: ./var/audit.log
retention:
  sweep: "30 3 * * *"
shutdown:
  drainSeconds: 600
`;

/**
 * Where the control token is kept when the configuration gives none; not in
 * the YAML above, because a file that sets `control.token` must not meet it.
 */
export const DEFAULT_CONTROL_TOKEN_FILE = './var/control-token';

/** A recorded line that names no announcement plays the built-in one, before the agent is called. */
export const DEFAULT_ANNOUNCEMENT = { mode: 'early' } as const;

/**
 * What a line's policy is when its entry leaves a key out. The validator fills
 * lines from here, and so does the gateway for the line it makes up for an
 * outbound call no line nominates.
 */
export const LINE_POLICY_DEFAULTS = {
  /** Kept three months unless the line says otherwise. */
  retentionDays: 90,
  onRecordingFailure: 'continue',
  /** Never record after the call leaves the recorded queue unless the line says split. */
  onTransfer: 'stop',
  redactDtmf: true,
  dtmfQuietMs: 3000,
  optOutDiscard: true,
} as const;
