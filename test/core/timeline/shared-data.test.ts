/**
 * Real third-party CloudTrail data (../shared/data, see each PROVENANCE.md; never copied into the
 * project): every record loads through the PATH source, the documentation's non-JSON blocks are
 * refused cleanly, and the key event of every Stratus Red Team Lambda and IAM technique is flagged.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { baseEventName, eventIdOf } from '../../../src/core/timeline/normalise.js'
import type { TimelineEvent } from '../../../src/core/timeline/types.js'
import { REPO_ROOT } from '../../support/cli.js'
import { timelineContext } from './context.js'

const DATA = resolve(REPO_ROOT, '..', 'shared', 'data')
const STRATUS = join(DATA, 'stratus-red-team')
const DOCS = join(DATA, 'aws-docs-examples')
const present = existsSync(STRATUS) && existsSync(DOCS)
if (!present) console.warn(`skipping the shared-data timeline tests: ${DATA} is not there`)

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(p)))
    else out.push(p)
  }
  return out.sort()
}

type Rec = Record<string, unknown>

/** Records of a file as the test reads them itself (independently of fir's reader). */
function recordsOf(doc: unknown): { records: Rec[]; digest: boolean } {
  if (Array.isArray(doc)) return { records: doc as Rec[], digest: false }
  const o = doc as Rec
  if (Array.isArray(o.Records)) return { records: o.Records as Rec[], digest: false }
  if (Array.isArray(o.Events))
    return { records: (o.Events as Rec[]).map((e) => JSON.parse(String(e.CloudTrailEvent))), digest: false }
  if ('digestStartTime' in o) return { records: [], digest: true }
  return { records: [o], digest: false }
}

describe.skipIf(!present)('shared CloudTrail data', () => {
  it('loads every record of Stratus Red Team and the AWS documentation; refuses the .txt blocks as invalid JSON', async () => {
    const { ctx, dir } = await timelineContext()
    const files = [...(await walk(join(STRATUS, 'detonation-logs'))), ...(await walk(DOCS))].filter((f) =>
      /\.(json|txt)$/.test(f),
    )
    const txt = files.filter((f) => f.endsWith('.txt'))
    expect(txt.length).toBeGreaterThan(0)
    const { summary } = await collectTimeline(ctx, {
      sources: [join(STRATUS, 'detonation-logs'), DOCS, ...txt],
    })
    const events = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TimelineEvent)
    const ids = new Set(events.map((e) => e.id))
    let insights = 0
    let digests = 0
    let loaded = 0
    for (const f of files.filter((x) => x.endsWith('.json'))) {
      const { records, digest } = recordsOf(JSON.parse(await readFile(f, 'utf8')))
      if (digest) digests++
      for (const r of records) {
        if (r.eventType === 'AwsCloudTrailInsight') {
          insights++
          continue
        }
        expect(ids.has(eventIdOf(r)), `${f}: ${String(r.eventName)} ${String(r.eventID)}`).toBe(true)
        loaded++
      }
    }
    expect(loaded).toBeGreaterThan(300)
    expect(summary.skipped['insights-record']).toBe(insights)
    expect(summary.skipped['digest-file']).toBe(digests)
    expect(summary.skipped['invalid-json']).toBe(txt.length)
    for (const t of txt) {
      const p = summary.problemFiles.find((x) => x.file === t)
      expect(p?.refused?.reason, t).toBe('invalid-json')
    }
    expect(summary.skipped['no-event-time'] ?? 0).toBe(0)
    expect(summary.skipped['not-cloudtrail'] ?? 0).toBe(0)
    expect(summary.gaps).toEqual([])
  })

  it('flags the key event of every Stratus Red Team Lambda and IAM technique', async () => {
    const map = JSON.parse(
      await readFile(join(STRATUS, 'derived_technique_event_map.json'), 'utf8'),
    ) as Record<string, { cloudtrail_events: string[]; detonation_log?: string }>
    const techniques = Object.entries(map).filter(
      ([id, t]) => /^aws\.[a-z-]+\.(lambda|iam)-/.test(id) && t.detonation_log,
    )
    expect(techniques.length).toBeGreaterThanOrEqual(9)
    const { ctx, dir } = await timelineContext()
    await collectTimeline(ctx, { sources: [join(STRATUS, 'detonation-logs')] })
    const events = (await readFile(join(dir, 'timeline', 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TimelineEvent)
    const byId = new Map(events.map((e) => [e.id, e]))
    const unflagged: string[] = []
    for (const [id, t] of techniques) {
      const records = JSON.parse(
        await readFile(join(STRATUS, 'detonation-logs', `${id}.json`), 'utf8'),
      ) as Rec[]
      const keyNames = new Set(t.cloudtrail_events.map((e) => baseEventName(e.split(':')[1] ?? e)))
      const keyEvents = records.filter((r) => keyNames.has(baseEventName(String(r.eventName))))
      expect(keyEvents.length, id).toBeGreaterThan(0)
      const flagged = keyEvents.filter((r) => (byId.get(String(r.eventID))?.findings.length ?? 0) > 0)
      if (flagged.length === 0) unflagged.push(`${id} (${[...keyNames].join(', ')})`)
    }
    expect(unflagged).toEqual([])
  })
})
