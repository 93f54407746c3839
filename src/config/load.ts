/**
 * Where the configuration comes from, in order, each laid over the last: the
 * embedded defaults, the YAML file, `RECGW_*` environment variables, and
 * `overrides` (for tests and tools). Validated once; the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMapping } from './check.js';
import { DEFAULT_CONFIG_YAML } from './defaults.js';
import { applyEnvironment } from './env.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { mergeLayers } from './merge.js';
import type { GatewayConfig } from './types.js';
import { validateConfig } from './validate.js';
import { readYaml } from './yaml.js';

export { ConfigError, type ConfigProblem } from './errors.js';
export { DEFAULT_CONFIG_YAML } from './defaults.js';

export interface LoadOptions {
  /** YAML file; relative paths inside it resolve against its directory. Without it, the defaults alone. */
  readonly file?: string;
  /** Usually `process.env`; not read unless passed, so a test's environment never leaks in. */
  readonly env?: NodeJS.ProcessEnv;
  /** Laid over everything else. */
  readonly overrides?: unknown;
}

export function loadConfig(opts: LoadOptions = {}): GatewayConfig {
  const source = opts.file ?? 'built-in defaults';
  let tree = defaultsTree();
  let baseDir = process.cwd();
  if (opts.file !== undefined) {
    tree = mergeLayers(tree, readFile(opts.file));
    baseDir = dirname(resolve(opts.file));
  }
  const root = tree as Record<string, unknown>;
  const env = applyEnvironment(root, opts.env ?? {});
  const problems: ConfigProblem[] = [...env.problems];
  let merged: unknown = root;
  if (opts.overrides !== undefined) {
    if (isMapping(opts.overrides)) merged = mergeLayers(root, opts.overrides);
    else problems.push({ path: '', message: 'overrides must be a mapping of sections' });
  }
  return validateConfig(merged, { source, baseDir, origins: env.origins, earlier: problems });
}

/**
 * Validates a configuration given as an object (tests, the demo), laid over
 * the defaults like a file would be.
 * @param source names it in errors
 * @param opts.baseDir what relative file paths resolve against (default: the working directory)
 */
export function parseConfig(raw: unknown, source: string, opts: { readonly baseDir?: string } = {}): GatewayConfig {
  if (raw !== undefined && raw !== null && !isMapping(raw)) {
    throw new ConfigError(source, [{ path: '', message: 'must be a mapping of sections (sip, rtp, trunks, lines, ...)' }]);
  }
  return validateConfig(mergeLayers(defaultsTree(), raw), { source, baseDir: opts.baseDir ?? process.cwd() });
}

function readFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(err)})`;
    throw new ConfigError(file, [{ path: '', message: why }], { cause: err });
  }
  const read = readYaml(text);
  if (read.problems.length > 0) throw new ConfigError(file, read.problems);
  if (read.value !== undefined && read.value !== null && !isMapping(read.value)) {
    throw new ConfigError(file, [{ path: '', message: 'the file must hold a mapping of sections (sip, rtp, trunks, lines, ...)' }]);
  }
  return read.value;
}

let defaults: unknown;
function defaultsTree(): unknown {
  defaults ??= readYaml(DEFAULT_CONFIG_YAML).value;
  return mergeLayers(defaults, undefined);
}

/** What every `recgw` command runs on: the file given (the embedded defaults without one), with the process's environment over it. */
export function loadCommandConfig(file: string | undefined): GatewayConfig {
  return loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env });
}
