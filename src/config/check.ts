/**
 * The primitives validation is made of. Each reader records a problem and
 * returns a harmless stand-in instead of throwing, so one pass finds every bad
 * field; the caller throws one ConfigError at the end if any were found.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { ConfigProblem } from './errors.js';
import { closestKey, formatPath, keysOf, shapeAt } from './shape.js';

export type Path = readonly (string | number)[];
export type Mapping = Readonly<Record<string, unknown>>;

export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Checker {
  readonly problems: ConfigProblem[] = [];

  /**
   * @param origins which environment variable set which path, so a bad value
   *   is traced to the variable rather than to a file that never held it
   * @param baseDir what relative file paths resolve against
   */
  constructor(
    private readonly origins: ReadonlyMap<string, string>,
    private readonly baseDir: string,
  ) {}

  fail(path: Path, message: string): void {
    const where = formatPath(path);
    const origin = this.originOf(where);
    this.problems.push({ path: where, message: origin ? `${message} (set by ${origin})` : message });
  }

  /** A mapping whose keys all belong at `path`; unknown keys are named, with the nearest known one. */
  mapping(v: unknown, path: Path): Mapping {
    if (v === undefined || v === null) return {};
    if (!isMapping(v)) {
      this.fail(path, 'must be a mapping of keys');
      return {};
    }
    const shape = shapeAt(path);
    const known = shape ? keysOf(shape) : [];
    for (const key of Object.keys(v)) {
      if (known.includes(key)) continue;
      const near = closestKey(key, known);
      this.fail([...path, key], near ? `unknown key; did you mean '${near}'?` : `unknown key; expected one of ${known.join(', ')}`);
    }
    return v;
  }

  list(v: unknown, path: Path, what: string): readonly unknown[] {
    if (Array.isArray(v) && v.length > 0) return v;
    this.fail(path, `must be a non-empty list of ${what}`);
    return [];
  }

  /** A list that may be empty or left out (then empty). */
  optionalList(v: unknown, path: Path, what: string): readonly unknown[] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    this.fail(path, `must be a list of ${what}`);
    return [];
  }

  integer(v: unknown, path: Path, min: number, max: number, message: string): number {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    this.fail(path, message);
    return min;
  }

  boolean(v: unknown, path: Path): boolean {
    if (typeof v === 'boolean') return v;
    this.fail(path, v === undefined ? 'is required: true or false' : 'must be true or false');
    return false;
  }

  string(v: unknown, path: Path, what = 'a non-empty string'): string {
    if (typeof v === 'string' && v.trim() !== '') return v;
    this.fail(path, v === undefined ? `is required: ${what}` : `must be ${what}`);
    return '';
  }

  oneOf<T extends string>(v: unknown, path: Path, allowed: readonly T[]): T {
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    this.fail(path, `must be one of ${allowed.join(', ')}`);
    return allowed[0] as T;
  }

  address(v: unknown, path: Path): string {
    if (typeof v === 'string' && isIP(v) !== 0) return v;
    this.fail(path, 'must be an IPv4 or IPv6 address literal');
    return '';
  }

  /** A file that exists and can be read now, as an absolute path; better found at start-up than on the first call. */
  readableFile(v: unknown, path: Path): string {
    const file = this.string(v, path, 'a file path');
    if (file === '') return '';
    const absolute = this.absolute(file);
    try {
      if (!statSync(absolute).isFile()) {
        this.fail(path, `is not a file: ${absolute}`);
        return absolute;
      }
      accessSync(absolute, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.fail(path, code === 'ENOENT' ? `file not found: ${absolute}` : `cannot read ${absolute} (${code ?? String(err)})`);
    }
    return absolute;
  }

  absolute(file: string): string {
    return isAbsolute(file) ? file : resolve(this.baseDir, file);
  }

  private originOf(where: string): string | undefined {
    let best: string | undefined;
    let bestLength = -1;
    for (const [path, name] of this.origins) {
      const covers = where === path || where.startsWith(`${path}.`) || where.startsWith(`${path}[`);
      if (covers && path.length > bestLength) {
        best = name;
        bestLength = path.length;
      }
    }
    return best;
  }
}
