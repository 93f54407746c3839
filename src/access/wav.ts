/** 16-bit PCM WAV files, the format every player and editor opens. */
import { writeFile } from 'node:fs/promises';
export function wavHeader(dataBytes: number, opts: { rate: number; channels: number }): Buffer {
  const h = Buffer.alloc(44);
  const blockAlign = opts.channels * 2;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(opts.channels, 22);
  h.writeUInt32LE(opts.rate, 24);
  h.writeUInt32LE(opts.rate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export async function writeWav(file: string, pcm16: Buffer, opts: { rate: number; channels: number }): Promise<void> {
  await writeFile(file, Buffer.concat([wavHeader(pcm16.length, opts), pcm16]), { mode: 0o600 });
}
