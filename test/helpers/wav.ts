import { writeFileSync } from 'node:fs';

/** Writes a 16-bit mono PCM WAV of a sine tone: announcement fixtures made by the tests, never downloaded. */
export function writeToneWav(path: string, opts: { ms: number; hz?: number; rate?: number; amplitude?: number }): void {
  const rate = opts.rate ?? 16000;
  const samples = Math.round((opts.ms / 1000) * rate);
  const data = Buffer.alloc(samples * 2);
  const hz = opts.hz ?? 440;
  const amp = opts.amplitude ?? 8000;
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}
