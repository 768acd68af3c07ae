import { classifyFailure, gapReason, isFunctionNotFound } from '../../aws/errors.js'
import type { EvidenceSet } from '../case/evidence-store.js'
import { WriteOnceError } from '../common/fs-safe.js'
import { scrubAndCut } from '../common/redact.js'
import type { Gap, Gaps } from '../context.js'
import type { RegionPacers } from './pacing.js'

/** One API call the snapshot made, and what became of it (written to `calls.json`). */
export interface CallRecord {
  call: string
  target: string
  outcome: 'stored' | 'absent' | 'gap'
  files: string[]
  requestIds: string[]
  reason?: string
}

/** What to call and where to store it. */
export interface CallSpec {
  /** The IAM action of the call, e.g. `lambda:GetPolicy` (named in gaps). */
  call: string
  /** The ARN or name the call is about. */
  target: string
  /** What is missing when it fails, for the gap: "resource policy of f:$LATEST". */
  what: string
  /** Path in the set; for paged calls the base (`…/list-aliases` → `list-aliases.page-1.json`). */
  file: string
  region?: string
  /** Take a Lambda control-plane token before each request. */
  paced?: boolean
  /**
   * A not-found answer is a fact (no policy, no URL), not a gap; unless it says the function or
   * qualifier itself was not found (`isFunctionNotFound`): then nothing was read, and it is a gap.
   */
  absentOk?: boolean
  /** Also add the gap here (the function's own gap list). */
  sink?: Gap[]
}

export type Fetched<T> =
  | { status: 'stored'; value: T; file: string }
  | { status: 'absent'; reason: string }
  | { status: 'gap'; gap: Gap }

function requestIdOf(value: unknown): string | undefined {
  return (value as { $metadata?: { requestId?: string } })?.$metadata?.requestId
}

/**
 * Makes the snapshot's read calls: each response is stored verbatim, one file per call (the SDK's
 * $metadata dropped), every call is listed in `calls.json`, and a failed call becomes a gap — the
 * run goes on. Lambda calls wait for their region's token bucket.
 */
export class Recorder {
  readonly calls: CallRecord[] = []

  constructor(
    readonly set: EvidenceSet,
    private readonly gaps: Gaps,
    readonly pacers: RegionPacers,
  ) {}

  /** Adds a gap to the run and to `sink`. */
  gap(gap: Gap, sink?: Gap[]): Gap {
    this.gaps.add(gap)
    if (sink && !sink.some((g) => g.what === gap.what && g.call === gap.call)) sink.push(gap)
    return gap
  }

  private fail<T>(spec: CallSpec, err: unknown, files: string[]): Fetched<T> {
    const cause = (err as { cause?: unknown })?.cause ?? err
    const kind = classifyFailure(cause)
    const reason =
      cause === err && !(err as { $metadata?: unknown }).$metadata
        ? scrubAndCut(`${kind}: ${(err as Error)?.message ?? String(err)}`, 500, '')
        : gapReason(cause)
    // The function (or the qualifier) is gone, deleted since the run began: what was asked of it
    // (its policy, its URL) was not read. A gap, not "none".
    if (kind === 'not-found' && spec.absentOk && !isFunctionNotFound(cause)) {
      this.calls.push({
        call: spec.call,
        target: spec.target,
        outcome: 'absent',
        files,
        requestIds: [],
        reason,
      })
      return { status: 'absent', reason }
    }
    this.calls.push({ call: spec.call, target: spec.target, outcome: 'gap', files, requestIds: [], reason })
    const gap = this.gap({ what: spec.what, call: spec.call, reason }, spec.sink)
    return { status: 'gap', gap }
  }

  /** One request, stored as `spec.file`. */
  async one<T>(spec: CallSpec, fn: () => Promise<T>): Promise<Fetched<T>> {
    let value: T
    try {
      if (spec.paced) await this.pacers.for(spec.region).take()
      value = await fn()
    } catch (err) {
      return this.fail(spec, err, [])
    }
    return this.store(spec, value)
  }

  /** A failure that happened before the set existed (e.g. while resolving targets), as a gap or absence. */
  failed<T>(spec: CallSpec, err: unknown): Fetched<T> {
    return this.fail(spec, err, [])
  }

  /**
   * Stores a response fetched earlier (before the set existed), as `spec.file`. A file already
   * there (two items given one path) is a gap, like a page that cannot be stored: the first file
   * stays, and the rest of the snapshot goes on.
   */
  async store<T>(spec: CallSpec, value: T): Promise<Fetched<T>> {
    const requestId = requestIdOf(value)
    try {
      await this.set.writeJson(spec.file, value, {
        call: spec.call,
        target: spec.target,
        ...(spec.region ? { region: spec.region } : {}),
        ...(requestId ? { requestId } : {}),
      })
    } catch (err) {
      if (err instanceof WriteOnceError) return this.fail(spec, err, [])
      throw err
    }
    this.calls.push({
      call: spec.call,
      target: spec.target,
      outcome: 'stored',
      files: [spec.file],
      requestIds: requestId ? [requestId] : [],
    })
    return { status: 'stored', value, file: spec.file }
  }

  /**
   * A paginated call: `run` receives the page sink and the pacing hook; each page is stored as it
   * arrives (`<file>.page-<n>.json`), so pages already fetched survive a failure on a later page.
   */
  async pages<P>(
    spec: CallSpec,
    run: (onPage: (page: P) => Promise<void>, pace?: () => Promise<void>) => Promise<unknown>,
  ): Promise<{ status: 'stored' | 'absent' | 'gap'; pages: P[]; files: string[]; gap?: Gap }> {
    const pages: P[] = []
    const files: string[] = []
    const requestIds: string[] = []
    const onPage = async (page: P) => {
      const file = `${spec.file}.page-${pages.length + 1}.json`
      const requestId = requestIdOf(page)
      await this.set.writeJson(file, page, {
        call: spec.call,
        target: spec.target,
        ...(spec.region ? { region: spec.region } : {}),
        ...(requestId ? { requestId } : {}),
      })
      pages.push(page)
      files.push(file)
      if (requestId) requestIds.push(requestId)
    }
    try {
      await run(onPage, spec.paced ? () => this.pacers.for(spec.region).take() : undefined)
    } catch (err) {
      const failed = this.fail(spec, err, files)
      return failed.status === 'gap'
        ? { status: 'gap', pages, files, gap: failed.gap }
        : { status: 'absent', pages, files }
    }
    this.calls.push({ call: spec.call, target: spec.target, outcome: 'stored', files, requestIds })
    return { status: 'stored', pages, files }
  }
}
