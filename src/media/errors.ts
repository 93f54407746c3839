import { RecgwError } from '../errors.js';

/**
 * Failures of the media layer that a caller can act on:
 * - `PORTS_EXHAUSTED`: no free RTP/RTCP port pair in the configured range;
 * - `ANNOUNCEMENT_INVALID`: an announcement file that ffmpeg cannot turn into audio.
 */
export type MediaErrorCode = 'PORTS_EXHAUSTED' | 'ANNOUNCEMENT_INVALID';

export class MediaError extends RecgwError {
  declare readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
