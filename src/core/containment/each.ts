import { AccessDeniedError, FirError } from '../../errors.js'

/** One change of a step's several (a statement, a URL, a mapping) that AWS refused. */
export interface Refused {
  /** What it was: `$LATEST/pub-b`, `mapping 1f2e…`. */
  label: string
  err: FirError
}

/**
 * Runs `change` on each item, going on past a refusal: one statement, URL or mapping AWS refuses
 * to change must not leave the others open. Returns the items' results in order (undefined for a
 * refused one) and the refusals; any other error stops at once.
 */
export async function changeEach<T, R>(
  items: readonly T[],
  label: (item: T) => string,
  change: (item: T) => Promise<R>,
): Promise<{ results: (R | undefined)[]; refused: Refused[] }> {
  const results: (R | undefined)[] = []
  const refused: Refused[] = []
  for (const item of items) {
    try {
      results.push(await change(item))
    } catch (err) {
      if (!(err instanceof FirError)) throw err
      refused.push({ label: label(item), err })
      results.push(undefined)
    }
  }
  return { results, refused }
}

/**
 * The error for the changes AWS refused, naming each, and how many others were made: `denied`
 * when every refusal was a denial, else the first failure's kind. The step journals it with the
 * state read again after it, so undo reverts only what was changed (a gap, exit 4).
 * `what`: `remove … public statements from function f`; `made`: `removed`.
 */
export function notAllChanged(
  what: { verb: string; things: string; made: string },
  refused: Refused[],
  made: number,
): FirError {
  const first = refused[0]!.err
  if (refused.length === 1 && made === 0) return first
  const message = `unable to ${what.verb} ${refused.length} of ${refused.length + made} ${what.things}: ${refused
    .map((f) => `${f.label}: ${f.err.message}`)
    .join('; ')}; the other ${made} ${made === 1 ? 'was' : 'were'} ${what.made}`
  const denials = refused.map((f) => f.err).filter((e) => e instanceof AccessDeniedError)
  if (denials.length === refused.length) {
    const actions = [...new Set(denials.flatMap((e) => e.iamActions))]
    return new AccessDeniedError(message, actions, { cause: first, actions: first.actions })
  }
  return new FirError(first.code, message, { cause: first, actions: first.actions, exitCode: first.exitCode })
}
