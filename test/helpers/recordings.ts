/** Recordings put straight into a real store, as the gateway files them, and a store that says what it was asked to list. */
import { RecordingSealer } from '../../src/crypto/format.js';
import type { KeyEncryptionKey } from '../../src/crypto/keys.js';
import { manifestKey } from '../../src/recording/layout.js';
import type { Manifest } from '../../src/recording/manifest.js';
import { FsStore } from '../../src/storage/fs.js';
import type { ListedObject, ObjectStore } from '../../src/storage/store.js';

/** A real fs store that remembers every prefix it was asked to list. */
export class ListingStore extends FsStore {
  readonly listed: string[] = [];
  override list(prefix: string): AsyncIterable<ListedObject> {
    this.listed.push(prefix);
    return super.list(prefix);
  }
}

/** Seals a call's manifest into the store, where the gateway would file it. */
export async function putManifest(store: ObjectStore, kek: KeyEncryptionKey, manifest: Manifest): Promise<void> {
  const sealer = new RecordingSealer({ kind: 'manifest', codec: 'none', sampleRate: 0, leg: 'none', callId: manifest.callId, segment: 0, startedAt: manifest.startedAt }, kek);
  const key = manifestKey(manifest.line, manifest.callId, new Date(manifest.startedAt), manifest.stage);
  await store.put(key, Buffer.concat([sealer.headerBytes, sealer.seal(Buffer.from(JSON.stringify(manifest)), true)]), { tags: {} });
}
