/**
 * Environment overrides: `RECGW_SIP__PORT=5070` sets `sip.port`. Segments are
 * separated by `__` and matched to the camelCase keys ignoring case
 * (`RECGW_RTP__PORTMIN` → `rtp.portMin`); list entries are numbered
 * (`RECGW_LINES__0__TARGET`). Values are read as YAML (`RECGW_SIP__TRANSPORTS=[udp]`),
 * except text fields, which are taken as written so `0800` and `#` survive.
 *
 * A variable is ours when it has a `__` or names a whole section
 * (`RECGW_LINES=[...]`); other RECGW_ variables (a test's switches) are left alone.
 */
import type { ConfigProblem } from './errors.js';
import { isMapping } from './check.js';
import { closestKey, CONFIG_SHAPE, formatPath, keysOf, type Shape } from './shape.js';
import { readYaml } from './yaml.js';

const PREFIX = 'RECGW_';

export interface EnvApplied {
  /** Formatted path → the variable that set it, to name it in errors. */
  readonly origins: Map<string, string>;
  readonly problems: ConfigProblem[];
}

/** Writes the overrides into `tree` (a private copy owned by the loader). */
export function applyEnvironment(tree: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvApplied {
  const applied: EnvApplied = { origins: new Map(), problems: [] };
  const sections = keysOf(CONFIG_SHAPE);
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    if (!name.startsWith(PREFIX) || raw === undefined) continue;
    const segments = name.slice(PREFIX.length).split('__');
    const namesSection = sections.some((s) => s.toLowerCase() === segments[0]?.toLowerCase());
    if (segments.length === 1 && !namesSection) continue;
    const target = resolve(segments);
    if (typeof target === 'string') {
      applied.problems.push({ path: name, message: target });
      continue;
    }
    const value = parseValue(raw, target.path, target.shape);
    if (value.problem !== undefined) {
      applied.problems.push({ path: name, message: value.problem });
      continue;
    }
    const problem = setAt(tree, target.path, value.value);
    if (problem !== undefined) applied.problems.push({ path: name, message: problem });
    else applied.origins.set(formatPath(target.path), name);
  }
  return applied;
}

/** The configuration path a variable names, or why it names none. */
function resolve(segments: readonly string[]): { path: (string | number)[]; shape: Shape } | string {
  let shape: Shape = CONFIG_SHAPE;
  const path: (string | number)[] = [];
  for (const seg of segments) {
    if (shape.kind === 'list') {
      if (!/^\d+$/.test(seg)) return `'${seg}' should be an entry number of ${formatPath(path)} (0, 1, ...)`;
      path.push(Number(seg));
      shape = shape.item;
    } else if (shape.kind === 'map') {
      const key = Object.keys(shape.keys).find((k) => k.toLowerCase() === seg.toLowerCase());
      const child = key === undefined ? undefined : shape.keys[key];
      if (key === undefined || !child) {
        const where = path.length === 0 ? 'the configuration' : formatPath(path);
        const near = closestKey(seg, Object.keys(shape.keys));
        return `'${seg}' is no key of ${where}; ${near ? `did you mean '${near.toUpperCase()}'?` : `it has ${Object.keys(shape.keys).join(', ')}`}`;
      }
      path.push(key);
      shape = child;
    } else {
      return `${formatPath(path)} is a single value; nothing lies below it`;
    }
  }
  return { path, shape };
}

function parseValue(raw: string, path: readonly (string | number)[], shape: Shape): { value?: unknown; problem?: string } {
  if (shape.kind === 'leaf' && shape.text && !/^\s*['"]/.test(raw)) return { value: raw };
  const read = readYaml(raw, path);
  const first = read.problems[0];
  if (first) return { problem: `cannot read the value as YAML: ${first.message}` };
  return { value: read.value };
}

function setAt(tree: Record<string, unknown>, path: readonly (string | number)[], value: unknown): string | undefined {
  let node: unknown = tree;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i] as string | number;
    const next = path[i + 1];
    const container = node as Record<string | number, unknown>;
    if (Array.isArray(container) && typeof seg === 'number' && seg > container.length) {
      return `${formatPath(path.slice(0, i))} has ${container.length} entries; the next one is number ${container.length}`;
    }
    let child = container[seg];
    const wantList = typeof next === 'number';
    if (wantList ? !Array.isArray(child) : !isMapping(child)) {
      child = wantList ? [] : {};
      container[seg] = child;
    }
    node = child;
  }
  const last = path[path.length - 1];
  if (last === undefined) return 'names no key';
  const container = node as Record<string | number, unknown>;
  if (Array.isArray(container) && typeof last === 'number' && last > container.length) {
    return `${formatPath(path.slice(0, -1))} has ${container.length} entries; the next one is number ${container.length}`;
  }
  container[last] = value;
  return undefined;
}
