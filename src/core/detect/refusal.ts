/**
 * Why a rule cannot be used: thrown while compiling a rule, caught by the loader and reported as
 * `{file, reason}`. Never escapes the detect module.
 */
export class RuleRefusal extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'RuleRefusal'
  }
}

export function refuse(reason: string): never {
  throw new RuleRefusal(reason)
}
