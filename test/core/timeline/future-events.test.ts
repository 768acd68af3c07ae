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

describe('events with fields of another type than CloudTrail gives them', () => {
  it('keeps them as they are, counts them in the summary and warns with their ids (escaped)', async () => {
    const dir = join(await tempDir(), 'trail')
    await mkdir(dir)
    const base = {
      eventVersion: '1.08',
      userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/x', accountId: '123456789012' },
      eventTime: '2026-03-14T09:00:00Z',
      eventSource: 'lambda.amazonaws.com',
      eventName: 'GetFunction20150331v2',
      awsRegion: 'us-east-1',
      userAgent: 'aws-cli/2',
      requestParameters: { functionName: 'victim-fn' },
    }
    const records = [
      { ...base, eventID: 'ok-1' },
      { ...base, eventID: 'obj-name\u001b[2J', eventName: { x: 1 } },
      { ...base, eventID: 'list-agent', userAgent: ['a', 'b'] },
      { ...base, eventID: 'text-params', requestParameters: 'functionName=victim-fn' },
      { ...base, eventID: 'num-name', eventName: 12345 },
    ]
    await writeFile(join(dir, 't.json'), JSON.stringify({ Records: records }))
    const { ctx, lines } = await timelineContext()
    ctx.clock = new Clock(() => NOW)
    const { summary } = await collectTimeline(ctx, { sources: [dir], since: '3d' })
    // Before: 5 stored, nothing skipped, nothing said (eventName "", userAgent null, "12345").
    expect(summary.events.stored).toBe(5)
    expect(summary.skipped).toEqual({})
    expect(summary.events.malformed).toEqual({
      count: 4,
      ids: ['list-agent', 'num-name', 'obj-name\u001b[2J', 'text-params'],
      fields: ['userAgent', 'eventName', 'requestParameters'],
    })
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^warning: 4 events \(list-agent, num-name, obj-name\\e\[2J, text-params\) have fields of another type than CloudTrail gives them \(userAgent, eventName, requestParameters\): kept, /,
      ),
    )
    expect(renderTimelineSummary(summary, [])).toContain(
      'events    5 read: 5 in the timeline (4 with fields of the wrong type), 0 duplicates merged, 0 outside the window, 0 unrelated',
    )
    // A function's timeline keeps its events in the main thread: counted there too (the one whose
    // requestParameters are text does not name the function).
    const fn = await timelineContext()
    fn.ctx.clock = new Clock(() => NOW)
    const related = await collectTimeline(fn.ctx, {
      function: 'victim-fn',
      roles: ['victim-role'],
      sources: [dir],
      since: '3d',
    })
    expect(related.summary.events).toMatchObject({ stored: 4, unrelated: 1 })
    expect(related.summary.events.malformed).toMatchObject({ count: 3 })
  })
})
