import { describe, expect, it } from 'vitest'
import { engineTimeline, renderEngineQuery } from '../../../src/core/athena/timeline.js'
import { testContext } from './context.js'

// Nothing listens here: a dry run that sent anything (GetCallerIdentity, say) would fail.
const NOWHERE = 'http://127.0.0.1:1'
const window = { since: '2026-11-25T00:00:00Z', until: '2026-11-27T00:00:00Z' }

describe('engineTimeline --dry-run', () => {
  it('sends nothing: without the account in an ARN or the case, the query shows a placeholder and says so', async () => {
    const { ctx } = await testContext(NOWHERE)
    for (const engine of ['athena', 'lake'] as const) {
      const r = await engineTimeline(ctx, {
        function: 'payments-webhook',
        roles: ['pay-role'],
        ...window,
        engine,
        ...(engine === 'athena' ? { athenaTable: 'cloudtrail.org_trail' } : { eventDataStore: 'abc-def' }),
        dryRun: true,
      })
      expect(r.dryRun).toBe(true)
      expect(r.query.partitions.accounts).toEqual(['<account>'])
      expect(r.query.rendered).toContain("IN ('<account>')")
      expect(r.query.rendered).toContain(":sts::<account>:assumed-role/pay-role/'")
      expect(renderEngineQuery(r.query)).toMatch(
        /^Account: <account> stands for the caller's account: a dry run asks AWS nothing/m,
      )
    }
    expect(ctx.aws.requestLog).toEqual([])
  })

  it("takes the account from the function's ARN", async () => {
    const { ctx } = await testContext(NOWHERE)
    const r = await engineTimeline(ctx, {
      function: 'arn:aws:lambda:eu-west-1:111122223333:function:payments-webhook',
      roles: ['pay-role'],
      ...window,
      engine: 'athena',
      athenaTable: 'cloudtrail.org_trail',
      dryRun: true,
    })
    expect(r.query.partitions.accounts).toEqual(['111122223333'])
    expect(r.query.rendered).not.toContain('<account>')
    expect(renderEngineQuery(r.query)).not.toMatch(/^Account: /m)
    expect(ctx.aws.requestLog).toEqual([])
  })
})
