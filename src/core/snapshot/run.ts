import type { AwsClients } from '../../aws/clients.js'
import type { EvidenceSet } from '../case/evidence-store.js'
import { leakedValueHashes } from '../case/secrets.js'
import { sha256Hex } from '../common/hash.js'
import type { FirContext } from '../context.js'
import { Once, type RegionPacers } from './pacing.js'
import type { Recorder } from './recorder.js'
import type { Finding, FindingKind, FindingLevel } from './types.js'

/** Settings of one snapshot run, defaults applied. */
export interface RunSettings {
  qualifier?: string
  logHours: number
  logLimit: number
  versionConcurrency: number
  functionConcurrency: number
}

/** Everything one snapshot run shares between functions: the set, the recorder, caches, findings. */
export class SnapshotRun {
  readonly findings: Finding[] = []
  /**
   * The SHA-256s of the values the case's sweeps declared leaked (a sweep's own snapshot runs after
   * it journaled its indicators): an environment value with one is a secret (scanEnvironments).
   */
  readonly leakedValues: ReadonlySet<string>
  private readonly caches = new Map<string, Once<string, unknown>>()

  constructor(
    readonly ctx: FirContext,
    readonly set: EvidenceSet,
    readonly rec: Recorder,
    readonly settings: RunSettings,
    /** CloudWatch Logs allows about 5 FilterLogEvents a second per account and region. */
    readonly logsPacers: RegionPacers,
    readonly now: Date,
    /** The caller's account (a layer of this account is read by name, another's by ARN). */
    readonly callerAccount: string,
  ) {
    this.leakedValues = leakedValueHashes(ctx.case.journal.all())
  }

  /**
   * A run-wide memo, by name: one download per distinct package, one role per ARN, one layer per
   * version ARN, one trail lookup per region.
   */
  cache<V>(name: string): Once<string, V> {
    let c = this.caches.get(name)
    if (!c) {
      c = new Once<string, unknown>()
      this.caches.set(name, c)
    }
    return c as Once<string, V>
  }

  clients(region: string): AwsClients {
    return this.ctx.aws.forRegion(region)
  }

  /** Adds a finding with a stable id (kind + hash of target and key), once. */
  addFinding(f: {
    kind: FindingKind
    level: FindingLevel
    title: string
    target: string
    key: string
    detail: Record<string, unknown>
    evidence: string[]
  }): void {
    const id = `${f.kind}-${sha256Hex(`${f.target}\u0000${f.key}`).slice(0, 12)}`
    if (this.findings.some((x) => x.id === id)) return
    this.findings.push({
      id,
      kind: f.kind,
      level: f.level,
      title: f.title,
      target: f.target,
      detail: f.detail,
      evidence: [...new Set(f.evidence)].sort(),
    })
  }
}
