import { describe, expect, it } from 'vitest'
import { type AdviceInput, recommend } from '../../../src/core/report/advice.js'
import { viewJournal } from '../../../src/core/report/journal-view.js'
import type { FindingView } from '../../../src/core/report/model.js'

function timelineFinding(title: string, tags: string[]): FindingView {
  return {
    source: 'timeline',
    level: 'high',
    title,
    kind: 'rule-id',
    target: 'arn:aws:sts::123456789012:assumed-role/r/f',
    detail: 'sts:GetCallerIdentity by the role from 203.0.113.45',
    count: 6,
    first: '2026-11-26T20:56:28.000Z',
    firstDisplay: '2026-11-26 20:56:28 UTC',
    last: null,
    lastDisplay: null,
    observedDisplay: 'time not recorded',
    references: [],
    tags,
  }
}

function input(timelineFindings: FindingView[]): AdviceInput {
  return {
    functions: [],
    roles: [],
    snapshotFindings: [],
    timelineFindings,
    journal: viewJournal([]),
    snapshotPresent: true,
    timelinePresent: true,
    timelineSources: ['api'],
    timelineSourceKinds: ['api'],
    timelineTotalEvents: 100,
    chainedAssumeRoles: [],
  }
}

describe('recommendations', () => {
  it('recommend restoring logging only when logging was tampered with, not for any defense-evasion tag', () => {
    // The stolen-role drill: stolen credentials are tagged defense-evasion (T1078), no log was touched.
    const stolen = timelineFinding('Function Role Credentials Used Outside Lambda', [
      'attack.credential-access',
      'attack.defense-evasion',
      'attack.t1078.004',
      'attack.t1552',
    ])
    expect(recommend(input([stolen])).map((r) => r.title)).not.toContain(
      'Restore logging the attacker disabled',
    )
    const deleted = timelineFinding('CloudWatch Log Group Or Stream Deleted', [
      'attack.defense-evasion',
      'attack.t1070',
    ])
    const stopped = timelineFinding('CloudTrail Logging Stopped Or Trail Deleted', [
      'attack.defense-evasion',
      'attack.t1562.008',
    ])
    for (const f of [deleted, stopped]) {
      const rec = recommend(input([stolen, f])).find(
        (r) => r.title === 'Restore logging the attacker disabled',
      )
      expect(rec?.because).toEqual([`${f.title} (6)`])
    }
  })
})
