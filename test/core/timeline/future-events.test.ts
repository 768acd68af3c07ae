import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Clock } from '../../../src/core/common/clock.js'
import { collectTimeline } from '../../../src/core/timeline/collect.js'
import { renderTimelineSummary } from '../../../src/core/timeline/summary-text.js'
import { tempDir } from '../../support/cli.js'
import { timelineContext } from './context.js'

const NOW = Date.parse('2026-03-14T12:00:00Z')

/** A trail file of one GetFunction record a time. */
async function trail(times: string[]): Promise<string> {
  const dir = join(await tempDir(), 'trail')
  await mkdir(dir)
  const records = times.map((eventTime, i) => ({
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/x', accountId: '123456789012' },
    eventTime,
    eventSource: 'lambda.amazonaws.com',
    eventName: 'GetFunction20150331v2',
    awsRegion: 'us-east-1',
    eventID: `e-${i}`,
    eventType: 'AwsApiCall',
  }))
  await writeFile(join(dir, 't.json'), JSON.stringify({ Records: records }))
  return dir
}

describe('events dated after the run', () => {
  it('keeps them, counts them in the summary and warns; the window without --until reads open-ended, not "now"', async () => {
    const src = await trail(['2026-03-14T09:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z'])
    const { ctx, lines } = await timelineContext()
    ctx.clock = new Clock(() => NOW)
    const { summary } = await collectTimeline(ctx, { sources: [src], since: '3d' })
    expect(summary.window).toEqual({ since: '2026-03-11T12:00:00.000Z', until: null })
    expect(summary.events.stored).toBe(3)
    expect(summary.events.future).toEqual({ count: 2, last: '+275760-09-13T00:00:00.000Z' })
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^warning: 2 events are dated in the future, later than this run read them \(the latest \+275760-09-13T00:00:00\.000Z\): kept, .*a forged record/,
      ),
    )
    const text = renderTimelineSummary(summary, [])
    expect(text).toContain('window    2026-03-11T12:00:00.000Z → open-ended (UTC, no --until)')
    expect(text).not.toContain('→ now')
    expect(text).toContain(
      'events    3 read: 3 in the timeline (2 dated in the future), 0 duplicates merged, 0 outside the window, 0 unrelated',
    )
  })

  it('says nothing of the future when every event is in the past or minutes ahead (a slow clock), and shows --until as the end', async () => {
    // Four minutes ahead: a laptop's clock running a little slow, not a record from the future.
    const src = await trail(['2026-03-14T09:00:00Z', '2026-03-14T12:04:00Z'])
    const { ctx, lines } = await timelineContext()
    ctx.clock = new Clock(() => NOW)
    const open = await collectTimeline(ctx, { sources: [src] })
    expect(open.summary.events.stored).toBe(2)
    expect(open.summary.events.future).toEqual({ count: 0, last: null })
    const { summary } = await collectTimeline(ctx, { sources: [src], until: '2026-03-14T10:00:00Z' })
    expect(summary.events.future).toEqual({ count: 0, last: null })
    expect(lines.filter((l) => l.includes('future'))).toEqual([])
    const text = renderTimelineSummary(summary, [])
    expect(text).toContain('window    the beginning → 2026-03-14T10:00:00.000Z (UTC)')
    expect(text).toContain(
      'events    2 read: 1 in the timeline, 0 duplicates merged, 1 outside the window, 0 unrelated',
    )
  })
})
