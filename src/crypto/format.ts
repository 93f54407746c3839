/**
 * The recording file format, in one import: a header naming the key and
 * holding the wrapped data key, then chunk records sealed with AES-256-GCM.
 * The byte layout and the reasons behind it are in docs/recording-format.md.
 */
export { type RecordingHeader, type RecordingKind, parseHeader } from './header.js';
export { RecordingSealer, type SealerFields } from './sealer.js';
export { MAX_CHUNK_BYTES, RECORD_OVERHEAD, recoverableLength, splitRecords } from './records.js';
export { openRecording, type OpenedRecording } from './opener.js';
