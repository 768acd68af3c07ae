import { UsageError } from '../../errors.js'
import { COMMERCIAL_REGIONS } from './sources/api.js'
import { probeLocal } from './sources/local.js'
import { parseS3Uri } from './sources/s3.js'
import { resolveWindow } from './window.js'

/**
 * How a run's values are named in its messages: `--since` for `fir timeline`, `since` for a
 * playbook step's `with` (which has no flags).
 */
export type SpellValue = (name: 'since' | 'until' | 'source' | 'regions') => string

export const asFlag: SpellValue = (name) => `--${name}`

/** Sorts the sources: `api`, s3:// URIs (refused when not well formed) and local paths. */
export function classifySources(sources: string[]): { api: boolean; s3: string[]; local: string[] } {
  const out = { api: false, s3: [] as string[], local: [] as string[] }
  for (const s of sources) {
    if (s === 'api') out.api = true
    else if (s.startsWith('s3://')) {
      parseS3Uri(s)
      out.s3.push(s)
    } else out.local.push(s === '-' ? '/dev/stdin' : s) // `-`: stdin, as most tools take it
  }
  return out
}

/** `r1,r2` or `all` (every commercial region); empty or absent: the defaults. */
export function parseRegions(
  value: string | undefined,
  defaults: string[],
  spell: SpellValue = asFlag,
): string[] {
  if (value === undefined || value.trim() === '') return [...new Set(defaults)]
  if (value.trim() === 'all') return [...COMMERCIAL_REGIONS]
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const r of list) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(r)) {
      throw new UsageError(
        `unable to use ${spell('regions')} ${JSON.stringify(value)}: ${JSON.stringify(r)} is not a region name`,
        {
          actions: [`pass ${spell('regions')} us-east-1,eu-west-1 or ${spell('regions')} all`],
        },
      )
    }
  }
  return [...new Set(list)]
}

/** A value of a run that `fir timeline` refuses before its first AWS call, and why. */
export interface TimelineValueProblem {
  value: 'since' | 'until' | 'source' | 'regions'
  /** The source refused (value `source`). */
  source?: string
  message: string
}

/**
 * Everything `fir timeline` refuses of these values before its first AWS call, by the very
 * functions it refuses them with: each source (an s3:// URI well formed, a local path there and
 * not a terminal), the window (ages or ISO times, not in the future, until after since) and the
 * region names. Every problem, each naming its value. A playbook's timeline.collect step is
 * checked with this before the run changes anything (its spec's preflight), so the two agree.
 */
export async function timelineValueProblems(
  values: { since?: string; until?: string; sources?: string[]; regions?: string },
  now: number,
  spell: SpellValue = asFlag,
): Promise<TimelineValueProblem[]> {
  const problems: TimelineValueProblem[] = []
  const refused = (value: TimelineValueProblem['value'], err: unknown, source?: string): void => {
    if (!(err instanceof UsageError)) throw err
    problems.push({ value, ...(source !== undefined ? { source } : {}), message: err.message })
  }
  for (const source of values.sources ?? []) {
    try {
      await probeLocal(classifySources([source]).local)
    } catch (err) {
      refused('source', err, source)
    }
  }
  let since = values.since
  if (since !== undefined) {
    try {
      resolveWindow({ since }, now, spell)
    } catch (err) {
      refused('since', err)
      since = undefined
    }
  }
  if (values.until !== undefined) {
    try {
      resolveWindow({ since, until: values.until }, now, spell)
    } catch (err) {
      refused('until', err)
    }
  }
  if (values.regions !== undefined) {
    try {
      parseRegions(values.regions, [], spell)
    } catch (err) {
      refused('regions', err)
    }
  }
  return problems
}
