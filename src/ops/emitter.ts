import { EventEmitter } from 'node:events';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;
/** Interfaces qualify too: a mapped constraint needs no index signature. */
export type EventMap<E> = { [K in keyof E]: Listener };

/**
 * A type-checked EventEmitter. `safeEmit` never lets a listener's throw escape
 * into the emitter (a socket handler, a timer), where it would take the whole
 * process down; the throw is reported through `onListenerError` instead.
 */
export class TypedEmitter<E extends EventMap<E>> {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(50);
  }

  on<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.ee.on(event, listener);
    return this;
  }

  once<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.ee.once(event, listener);
    return this;
  }

  off<K extends keyof E & string>(event: K, listener: E[K]): this {
    this.ee.off(event, listener);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.ee.listenerCount(event);
  }

  removeAllListeners(): this {
    this.ee.removeAllListeners();
    return this;
  }

  /** Returns true when at least one listener ran. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: Parameters<E[K]>): boolean {
    // rawListeners() keeps once() wrappers, which unregister themselves when called.
    const listeners = this.ee.rawListeners(event) as Listener[];
    for (const l of listeners) {
      try {
        l(...args);
      } catch (err) {
        this.onListenerError(event, err);
      }
    }
    return listeners.length > 0;
  }

  /** Override to log; the default keeps the process alive and says so on stderr. */
  protected onListenerError(event: string, err: unknown): void {
    process.emitWarning(`listener for '${event}' threw: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  }
}
