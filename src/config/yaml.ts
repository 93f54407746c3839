/**
 * YAML text to a plain tree, with the positions of syntax errors, and with
 * text fields kept as written: unquoted `number: 0800` or `+4930...` would
 * otherwise lose its leading zero or plus on the way through a YAML integer.
 */
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { ConfigProblem } from './errors.js';
import { shapeAt, type Shape } from './shape.js';

export interface YamlRead {
  readonly value: unknown;
  readonly problems: readonly ConfigProblem[];
}

/** @param at where in the configuration this text goes (`[]` for a whole file, `['lines']` for RECGW_LINES) */
export function readYaml(text: string, at: readonly (string | number)[] = []): YamlRead {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return { path: pos ? `line ${pos.line}, column ${pos.col}` : '', message: firstSentence(e.message) };
      }),
    };
  }
  const shape = shapeAt(at);
  if (shape && doc.contents) keepText(doc.contents, shape);
  return { value: doc.toJS({ maxAliasCount: 100 }) as unknown, problems: [] };
}

/** yaml's message repeats the position and a code frame; the position is in `path` already. */
function firstSentence(message: string): string {
  const cut = message.indexOf(' at line ');
  return cut > 0 ? message.slice(0, cut) : (message.split('\n')[0] ?? message);
}

function keepText(node: Node, shape: Shape): void {
  if (isMap(node) && shape.kind === 'map') {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      const child = typeof key === 'string' ? shape.keys[key] : undefined;
      if (child && pair.value && typeof pair.value === 'object') keepText(pair.value as Node, child);
    }
  } else if (isSeq(node) && shape.kind === 'list') {
    for (const item of node.items) if (item && typeof item === 'object') keepText(item as Node, shape.item);
  } else if (isScalar(node) && shape.kind === 'leaf' && shape.text && typeof node.value === 'number' && node.source !== undefined) {
    node.value = node.source;
  }
}
