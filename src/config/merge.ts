import { isMapping } from './check.js';

/**
 * Lays `over` onto `base` into a fresh tree: mappings merge key by key, lists
 * and values replace (a file's `lines` replaces the default lines, it does not
 * add to them), and an absent or null value leaves the base as it is, so an
 * emptied `sip:` section in a file means "defaults".
 */
export function mergeLayers(base: unknown, over: unknown): unknown {
  if (over === undefined || over === null) return clone(base);
  if (isMapping(base) && isMapping(over)) {
    const out: Record<string, unknown> = clone(base) as Record<string, unknown>;
    for (const [k, v] of Object.entries(over)) out[k] = mergeLayers(base[k], v);
    return out;
  }
  return clone(over);
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isMapping(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}
