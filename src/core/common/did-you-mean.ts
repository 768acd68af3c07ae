import { escapeTerminal } from './text.js'

/**
 * Levenshtein distance, for "did you mean"; gives up (returns `limit + 1`) as soon as the distance
 * must exceed `limit`. `cost` counts the cells computed.
 */
function distance(a: string, b: string, limit: number, cost: { cells: number }): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  const row = new Uint32Array(b.length + 1)
  for (let j = 0; j <= b.length; j++) row[j] = j
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    let rowMin = i
    const ca = a.charCodeAt(i - 1)
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!
      const d = Math.min(tmp + 1, row[j - 1]! + 1, prev + (ca === b.charCodeAt(j - 1) ? 0 : 1))
      row[j] = d
      if (d < rowMin) rowMin = d
      prev = tmp
    }
    cost.cells += b.length
    if (rowMin > limit) return limit + 1
  }
  return row[b.length]!
}

/**
 * "Did you mean" for one file. The work is bounded: a file with thousands of misspelt names
 * (generated, or hostile) gets suggestions for the first ones, then plain messages, instead of a
 * comparison of every name with every other (quadratic: minutes for a few thousand steps).
 */
export class Suggester {
  private readonly cost = { cells: 0 }
  /** `budget`: distance-table cells this file may compute, far more than any hand-written file needs. */
  constructor(private readonly budget = 5_000_000) {}

  /** ` (did you mean "x"?)`, or '' when no candidate is close or the budget is spent. */
  suggest(word: string, candidates: Iterable<string>): string {
    const best = this.closest(word, candidates)
    return best !== undefined ? ` (did you mean ${JSON.stringify(escapeTerminal(best))}?)` : ''
  }

  /**
   * The candidate `word` begins, when it begins only one (`creds:revok` → `creds:revoke-sessions`:
   * a name typed in part is too far from the whole in edits); else the nearest to `word`, when one
   * is close enough; else undefined.
   */
  closest(word: string, candidates: Iterable<string>): string | undefined {
    const w = word.toLowerCase()
    const list = [...candidates]
    if (w.length >= 2) {
      const starting = list.filter((c) => c.toLowerCase().startsWith(w))
      if (starting.length === 1) return starting[0]
    }
    const limit = Math.max(2, Math.floor(word.length / 3))
    let best: string | undefined
    let bestD = limit + 1
    for (const c of list) {
      if (this.cost.cells >= this.budget) break
      this.cost.cells += 1
      const d = distance(w, c.toLowerCase(), bestD - 1, this.cost)
      if (d < bestD) {
        bestD = d
        best = c
      }
    }
    return best
  }
}

export function didYouMean(word: string, candidates: Iterable<string>): string {
  return new Suggester().suggest(word, candidates)
}

/** The one candidate `word` begins, else the nearest to it (a misspelt command, name or key), when one is close enough. */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  return new Suggester().closest(word, candidates)
}
