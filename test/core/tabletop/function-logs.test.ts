import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs'
import { describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import { planFunctionLogs } from '../../../src/core/tabletop/function-logs.js'
import { loadScenario, type Scenario } from '../../../src/core/tabletop/scenario.js'
import { seedScenario } from '../../../src/core/tabletop/seed.js'
import { emulatorClient, useMoto } from '../../support/emulator.js'
import { resetMoto } from '../../support/moto.js'

const moto = useMoto()
const GROUP = '/aws/lambda/orders-admin-export'

async function seed(scenario: Scenario, now: Date) {
  await resetMoto(moto.endpoint())
  const aws = await AwsClients.create({ endpoint: moto.endpoint(), region: 'us-east-1', emulatorOnly: true })
  const result = await seedScenario(aws, scenario, { now })
  const logs = emulatorClient(CloudWatchLogsClient, moto.endpoint())
  const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/' }))
  return { result, logs, groupNames: (groups.logGroups ?? []).map((g) => g.logGroupName) }
}

describe('tabletop seeding: the function log group', () => {
  it('public-url-backdoor: the log group holds START/END/REPORT lines at every invocation the trail records', async () => {
    const now = new Date()
    const { scenario } = await loadScenario('public-url-backdoor')
    const { result, logs, groupNames } = await seed(scenario, now)
    expect(groupNames).toEqual([GROUP])

    const invokes = result.records.filter((r) => r.eventName === 'Invoke' && !r.errorCode)
    expect(invokes.length).toBeGreaterThan(0)
    const events: { timestamp?: number; message?: string; logStreamName?: string }[] = []
    let nextToken: string | undefined
    do {
      const page = await logs.send(
        new FilterLogEventsCommand({
          logGroupName: GROUP,
          startTime: now.getTime() - 15 * 86_400_000,
          nextToken,
        }),
      )
      events.push(...(page.events ?? []))
      nextToken = page.nextToken
    } while (nextToken)
    expect(events.length).toBe(3 * invokes.length)
    expect(result.logGroups).toEqual([
      { name: GROUP, streams: expect.any(Number), events: events.length, deleted: false },
    ])

    // Each invocation's request id (as its trail record carries it) starts a request shortly after the call.
    for (const r of invokes) {
      const id = String(r.requestID)
      const start = events.find((e) => e.message === `START RequestId: ${id} Version: $LATEST\n`)
      expect(start, id).toBeDefined()
      const at = Date.parse(String(r.eventTime))
      expect(start!.timestamp!).toBeGreaterThanOrEqual(at)
      expect(start!.timestamp!).toBeLessThan(at + 60_000)
      expect(events.filter((e) => e.message?.startsWith(`REPORT RequestId: ${id}\tDuration: `))).toHaveLength(
        1,
      )
      expect(start!.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/)
    }
    // The nightly export's memory size, as the function was created with.
    expect(events.find((e) => e.message?.startsWith('REPORT'))?.message).toContain('Memory Size: 512 MB')
  })

  it('a story that deletes the log group leaves it absent (and says so)', async () => {
    const { scenario } = await loadScenario('public-url-backdoor')
    const deleting: Scenario = {
      ...scenario,
      story: [
        ...scenario.story,
        { at: '-1m', actor: 'contractor', call: 'logs:DeleteLogGroup', with: { logGroupName: GROUP } },
      ],
    }
    const { result, groupNames } = await seed(deleting, new Date())
    expect(groupNames).toEqual([])
    expect(result.logGroups).toEqual([{ name: GROUP, streams: 0, events: 0, deleted: true }])
    const deletion = result.records.find((r) => r.eventName === 'DeleteLogGroup')
    expect(deletion?.eventSource).toBe('logs.amazonaws.com')
  })
})

describe('planFunctionLogs', () => {
  const now = new Date('2026-03-10T12:00:00Z')
  const at = (iso: string, requestId: string) => ({ functionName: 'fn', time: new Date(iso), requestId })

  it('reuses a warm environment, starts a new stream after a quiet spell, and keeps each stream in order', () => {
    const [plan] = planFunctionLogs(
      [{ name: 'fn', memorySize: 256 }],
      [
        at('2026-03-10T09:00:00Z', 'c'),
        at('2026-03-10T08:00:00Z', 'a'),
        at('2026-03-10T08:00:00.010Z', 'b'),
        at('2026-02-01T00:00:00Z', 'too-old'),
      ],
      new Map(),
      now,
    )
    expect(plan!.streams.map((s) => s.events.length)).toEqual([6, 3])
    expect(plan!.streams[0]!.logStreamName.startsWith('2026/03/10/[$LATEST]')).toBe(true)
    for (const s of plan!.streams) {
      const ts = s.events.map((e) => e.timestamp)
      expect(ts).toEqual([...ts].sort((x, y) => x - y))
    }
    const reports = plan!.streams.flatMap((s) => s.events).filter((e) => e.message.startsWith('REPORT'))
    expect(reports.map((r) => r.message.includes('Init Duration'))).toEqual([true, false, true])
    expect(reports.every((r) => r.message.includes('Memory Size: 256 MB'))).toBe(true)
  })

  it('a deleted group keeps only what was invoked after the deletion', () => {
    const deleted = new Map([['/aws/lambda/fn', new Date('2026-03-10T10:00:00Z')]])
    const [plan] = planFunctionLogs(
      [{ name: 'fn' }],
      [at('2026-03-10T09:00:00Z', 'before'), at('2026-03-10T11:00:00Z', 'after')],
      deleted,
      now,
    )
    const messages = plan!.streams.flatMap((s) => s.events.map((e) => e.message))
    expect(messages.some((m) => m.includes('before'))).toBe(false)
    expect(messages.filter((m) => m.includes('after'))).toHaveLength(3)
    expect(plan!.deletedAt).toEqual(deleted.get('/aws/lambda/fn'))
  })
})
