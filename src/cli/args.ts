/**
 * Command-line arguments for every `recgw` command, parsed one strict way:
 * `--name value` options, boolean flags and positionals; an unknown option, a
 * missing value or an option given twice is a UsageError (exit 2 with usage).
 */
import { parseArgs } from 'node:util';
import { messageOf } from '../errors.js';

export class UsageError extends Error {}

export interface ParsedArgs {
  /** Options that take a value, keyed as written (`--dir`). */
  readonly values: ReadonlyMap<string, string>;
  readonly flags: ReadonlySet<string>;
  readonly positionals: readonly string[];
}

export function parseCommandArgs(
  args: readonly string[],
  spec: { readonly values?: readonly string[]; readonly flags?: readonly string[]; readonly positionals?: number },
): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const v of spec.values ?? []) options[v.replace(/^--/, '')] = { type: 'string' };
  for (const f of spec.flags ?? []) options[f.replace(/^--/, '')] = { type: 'boolean' };
  let tokens;
  try {
    ({ tokens } = parseArgs({ args: [...args], options, strict: true, allowPositionals: (spec.positionals ?? 0) > 0, tokens: true }));
  } catch (err) {
    throw new UsageError(messageOf(err));
  }
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const name = `--${t.name}`;
    if (values.has(name) || flags.has(name)) throw new UsageError(`${name} given twice`);
    if (t.value === undefined) flags.add(name);
    // parseArgs takes `--out --format` as --out with the value "--format": a value never starts with --.
    else if (t.value.startsWith('--')) throw new UsageError(`${name} needs a value`);
    else values.set(name, t.value);
  }
  if (positionals.length > (spec.positionals ?? 0)) throw new UsageError(`unexpected argument '${positionals[spec.positionals ?? 0] ?? ''}'`);
  return { values, flags, positionals };
}

export function required(args: ParsedArgs, name: string): string {
  const v = args.values.get(name);
  if (v === undefined) throw new UsageError(`${name} is required`);
  return v;
}

/** A UTC day given to `option`, as the store's folders name days; a usage error names the option otherwise. */
export function dayArg(option: string, value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new UsageError(`${option} is a day, YYYY-MM-DD`);
  return value;
}
