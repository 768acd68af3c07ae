import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildReportModel } from '../../src/core/report/build.js'
import { runFir, tempDir } from '../support/cli.js'

/**
 * The real chain, as a responder runs it: `fir tabletop run` seeds a local moto with a compromised
 * function and runs the lambda-compromise playbook for real (snapshot, contain, revoke, timeline
 * from trail logs, rotation, report.render); then `fir report` re-renders the case. The report must
 * show what those commands wrote, in every section.
 */
describe('fir report after the real snapshot → contain → timeline chain', () => {
  it('fills every section from what the other commands wrote', { timeout: 300_000 }, async () => {
    const cwd = await tempDir()
    const dir = join(cwd, 'cases', 'DRILL-1')
    const drill = await runFir(['tabletop', 'run', 'stolen-role-credentials', '--case', dir, '--json'], {
      cwd,
      timeoutMs: 280_000,
    })
    expect(drill.code, drill.stderr.slice(-2000)).toBe(0)
    // The drill's own report is a step of the playbook run: the run is running, not stopped.
    const drillMd = await readFile(join(dir, 'reports', 'report.md'), 'utf8')
    expect(drillMd).toMatch(
      /^- Playbook lambda-compromise \(run [^)]+\): running — this report is its step \d+ of \d+ \(report\); done so far: seal applied, /m,
    )
    expect(drillMd).not.toContain('not finished')

    const r = await runFir(['report', '--case', dir, '--json'], { cwd })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json.result.integrityOk).toBe(true)

    const model = await buildReportModel(dir)
    expect(model.readProblems).toEqual([])
    for (const name of ['scope', 'roles', 'findings', 'timeline', 'actions', 'evidence'] as const) {
      expect(model[name].present, `${name}: ${model[name].absentReason}`).toBe(true)
    }
    const fn = model.scope.functions[0]!
    expect(fn.arn).toMatch(/^arn:aws:lambda:us-east-1:\d{12}:function:/)
    expect(fn.codeSha256Hex).toMatch(/^[0-9a-f]{64}$/)
    expect(model.roles.roles[0]!.sessionsRevoked).toBe(true)
    expect(model.summary.status.code).toBe('contained')
    expect(model.timeline.totalEvents).toBeGreaterThan(10)
    expect(model.timeline.eventsWithFindings).toBeGreaterThan(0)
    expect(model.timeline.keyEvents.length).toBeGreaterThan(0)
    expect(model.timeline.chart).not.toBeNull()
    expect(model.findings.groups.flatMap((g) => g.items).some((f) => f.source === 'timeline')).toBe(true)
    const throttle = model.actions.items.find((a) => a.action === 'containment.throttle')!
    expect(throttle.outcome).toBe('applied')
    expect(throttle.after).toContain('0')
    expect(model.actions.playbooks[0]).toMatch(/^lambda-compromise \(run .+\): seal applied/)
    expect(model.evidence.sets[0]!.manifestSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(model.evidence.integrity!.ok).toBe(true)
    expect(model.limits.items.map((l) => l.title)).toContain('Chained sessions are not revoked')
    // No log was tampered with in this drill: stolen credentials are not "logging disabled".
    expect(model.recommendations.items.map((r) => r.title)).not.toContain(
      'Restore logging the attacker disabled',
    )

    const html = await readFile(join(dir, 'reports', 'report.html'), 'utf8')
    const md = await readFile(join(dir, 'reports', 'report.md'), 'utf8')
    // Every fact cell says something: an open window ends when the timeline ran, empty lists say none.
    expect(md).toMatch(
      /^- Timeline window: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC → now \(\d{4}-.+ UTC, when the timeline ran\)$/m,
    )
    expect(md).toContain('| Versions | none published ($LATEST only) |')
    for (const text of [md, drillMd]) {
      const blank = text
        .split('\n')
        .filter((l) => l.startsWith('|') && /\|\s*\|/.test(l.replace(/\\\|/g, 'x')))
      expect(blank).toEqual([])
    }
    expect(html.match(/<(td|dd)[^>]*>\s*<\/\1>/g) ?? []).toEqual([])
    for (const text of [html, md]) {
      expect(text).not.toMatch(/undefined|\[object Object\]|\bNaN\b/)
      expect(text).not.toContain('No timeline was collected')
      expect(text).toContain(fn.arn)
    }
    expect((await runFir(['case', 'verify', '--case', dir], { cwd })).code).toBe(0)
  })
})
