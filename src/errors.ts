/**
 * The few error classes of the gateway share one base with a stable `code`, so
 * callers and tests branch on the code, never on message text.
 */
export class RecgwError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** What went wrong, in words, whatever was thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
