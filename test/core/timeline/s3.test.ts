import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import type { TrailObject } from '../../../src/aws/trail-files.js'
import { Gaps } from '../../../src/core/context.js'
import { regionPrefixes, type S3Stats, windowObjects } from '../../../src/core/timeline/sources/s3.js'
import { emulatorClient, useMoto } from '../../support/emulator.js'
import { timelineContext } from './context.js'

const moto = useMoto()
const ACCOUNT = '111122223333'
const REGION_PREFIX = `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/`

/** A trail file's key delivered at `stamp` (YYYYMMDDTHHmm). */
const trailKey = (stamp: string) =>
  `${REGION_PREFIX}${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/${ACCOUNT}_CloudTrail_eu-west-1_${stamp}Z_AAAAAAAAAAAAAAAA.json.gz`

const newStats = (): S3Stats => ({
  listed: 0,
  selected: 0,
  outsideWindow: 0,
  digestFiles: 0,
  listCalls: 0,
  failed: 0,
})

describe('windowObjects (moto S3)', () => {
  it('lists every day of a window of years, its most recent days too, in a few dozen calls', async () => {
    const s3 = emulatorClient(S3Client, moto.endpoint(), { forcePathStyle: true })
    const bucket = 'long-trail'
    await s3.send(new CreateBucketCommand({ Bucket: bucket }))
    const inside = ['20261129T1005', '20160301T0000', '20151231T2350', '20210615T1200']
    const outside = ['20151231T2300', '20151230T1200']
    for (const stamp of [...inside, ...outside])
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: trailKey(stamp), Body: 'x' }))
    const { ctx } = await timelineContext(moto.endpoint())
    const now = Date.parse('2026-11-29T12:00:00Z')
    const prefixes = await regionPrefixes(ctx.aws, { bucket, prefix: '' }, {})
    expect(prefixes).toEqual([REGION_PREFIX])

    const read = async (window: { start: number | null; end: number | null }) => {
      const stats = newStats()
      const gaps = new Gaps()
      const keys: string[] = []
      for await (const o of windowObjects(
        ctx.aws,
        bucket,
        prefixes,
        window,
        now,
        stats,
        gaps,
      ) as AsyncIterable<TrailObject>)
        keys.push(o.key)
      return { keys: keys.sort(), stats, gaps: gaps.list }
    }
    // Before: only the oldest 3,700 days (to early 2026) were listed; the file of 2026-11-29 was
    // never seen and the run said nothing.
    const long = await read({ start: Date.parse('2016-01-01T00:00:00Z'), end: null })
    expect(long.keys).toEqual(inside.map(trailKey).sort())
    expect(long.gaps).toEqual([])
    expect(long.stats.outsideWindow).toBe(1) // 2015-12-31 23:00 is in the first day's folder, pruned by name
    expect(long.stats.listCalls).toBeLessThan(60)

    // A window to the year 3000 lists the year folders the bucket has, not a thousand guesses.
    const far = await read({
      start: Date.parse('2016-01-01T00:00:00Z'),
      end: Date.parse('3000-01-01T00:00:00Z'),
    })
    expect(far.keys).toEqual(inside.map(trailKey).sort())
    expect(far.stats.listCalls).toBeLessThan(30)
    // A week lists its days only.
    const week = await read({ start: Date.parse('2026-11-22T12:00:00Z'), end: null })
    expect(week.keys).toEqual([trailKey('20261129T1005')])
    expect(week.stats.listCalls).toBe(8)
  })
})
