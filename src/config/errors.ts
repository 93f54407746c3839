import { RecgwError } from '../errors.js';

/** One bad field: `path` names it the way the file spells it (`lines[0].target`), or a YAML position. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Everything wrong with a configuration, found in one pass, so an operator
 * fixes the file once instead of once per start attempt.
 */
export class ConfigError extends RecgwError {
  declare readonly code: 'CONFIG_INVALID';
  readonly source: string;
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[], options?: ErrorOptions) {
    const lines = problems.map((p) => `  - ${p.path === '' ? '' : `${p.path}: `}${p.message}`);
    super('CONFIG_INVALID', `invalid configuration (${source}):\n${lines.join('\n')}`, options);
    this.source = source;
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}
