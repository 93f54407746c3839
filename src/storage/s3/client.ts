/** The S3 client as the store configures it, kept apart so the store reads as the port it implements. */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  readonly region?: string;
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly maxAttempts?: number;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** Without these the SDK waits forever on a store that accepted the connection and went silent. */
const CONNECT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 120_000;

export function createS3Client(opts: S3ClientOptions): S3Client {
  return new S3Client({
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: { ...opts.credentials } } : {}),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
    // S3-compatible servers are addressed by path; virtual-host style needs wildcard DNS they rarely have.
    forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
    // Newer SDKs add CRC32 checksums to every request by default; S3-compatible servers do not all accept them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      requestTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    },
  });
}
