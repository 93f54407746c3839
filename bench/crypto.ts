/** How fast one core seals recording chunks, in MB/s and in legs of live G.711 (8000 bytes/s each). */
import { generateKeyPair, loadEncryptionKey } from '../src/crypto/keys.js';
import { RecordingSealer } from '../src/crypto/format.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SealFigures {
  readonly mbPerSecond: number;
  readonly legsPerCore: number;
  readonly newSegmentMs: number;
}

export function measureSealing(seconds = 2): SealFigures {
  const dir = mkdtempSync(join(tmpdir(), 'recgw-bench-crypto-'));
  try {
    const kek = loadEncryptionKey({ publicKey: generateKeyPair(dir).publicKeyFile });
    const fields = { kind: 'audio', codec: 'PCMA', sampleRate: 8000, leg: 'caller', callId: 'bench', segment: 1, startedAt: new Date().toISOString() } as const;
    const chunk = Buffer.alloc(4000, 0x55);
    let bytes = 0;
    let segments = 0;
    const start = process.cpuUsage();
    const until = performance.now() + seconds * 1000;
    let segmentCpuUs = 0;
    while (performance.now() < until) {
      const s0 = process.cpuUsage();
      const sealer = new RecordingSealer(fields, kek);
      segmentCpuUs += process.cpuUsage(s0).user;
      segments++;
      for (let i = 0; i < 600; i++) {
        sealer.seal(chunk, i === 599);
        bytes += chunk.length;
      }
    }
    const cpu = process.cpuUsage(start);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    return { mbPerSecond: bytes / 1e6 / cpuS, legsPerCore: bytes / 8000 / cpuS, newSegmentMs: segmentCpuUs / 1000 / segments };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
