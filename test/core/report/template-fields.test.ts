import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { CaseHandle } from '../../../src/core/case/case-folder.js'
import { buildReportModel } from '../../../src/core/report/build.js'
import type { ReportModel } from '../../../src/core/report/model.js'
import { compileReportTemplate, type ReportFormat } from '../../../src/core/report/render.js'
import { FirError } from '../../../src/errors.js'
import { tempDir } from '../../support/cli.js'
import { buildSampleCase } from '../../support/sample-case.js'

/** Renders `source` as a template named t.<format>.hbs; returns the text or the error thrown. */
function render(source: string, model: ReportModel, format: ReportFormat = 'md'): string | FirError {
  try {
    return compileReportTemplate(source, format, `t.${format}.hbs`).render(model)
  } catch (err) {
    if (err instanceof FirError) return err
    throw err
  }
}

function failure(source: string, model: ReportModel, format: ReportFormat = 'md'): FirError {
  const out = render(source, model, format)
  expect(out, `${source} rendered`).toBeInstanceOf(FirError)
  return out as FirError
}

describe('a field the view model does not have is an error wherever the template reads it', () => {
  let full: ReportModel
  let empty: ReportModel

  beforeAll(async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), events: 40, notes: false })
    full = await buildReportModel(sample.dir, { verify: false })
    const handle = await CaseHandle.init('EMPTY-1', { dir: join(await tempDir(), 'c'), firVersion: 't' })
    await handle.close()
    empty = await buildReportModel(handle.dir)
  })

  it('in a helper argument ({{md}}, {{mdcode}}, {{absentClass}}) and in #each, #if, #unless and #with', () => {
    for (const [source, where, path, why, format] of [
      ['{{md case.titel}}', '1:6', 'case.titel', 'case has no field titel', 'md'],
      ['# x\n  {{mdcode case.idd}}', '2:12', 'case.idd', 'case has no field idd', 'md'],
      ['{{#each findings.grups}}x{{/each}}', '1:9', 'findings.grups', 'findings has no field grups', 'md'],
      ['{{#if summary.nope}}x{{/if}}', '1:7', 'summary.nope', 'summary has no field nope', 'md'],
      ['{{#unless summary.nope}}x{{/unless}}', '1:11', 'summary.nope', 'summary has no field nope', 'md'],
      ['{{#with scope.windw}}x{{/with}}', '1:9', 'scope.windw', 'scope has no field windw', 'md'],
      ['{{#if x}}{{else}}y{{/if}}', '1:7', 'x', 'the view model has no field x', 'md'],
      [
        '<p class="{{absentClass summary.firstDetectionAbsnt}}">',
        '1:25',
        'summary.firstDetectionAbsnt',
        'summary has no field firstDetectionAbsnt',
        'html',
      ],
    ] as const) {
      const err = failure(source, full, format)
      expect(err.exitCode, source).toBe(2)
      expect(err.message, source).toBe(
        `unable to render template t.${format}.hbs: t.${format}.hbs:${where}: ${path}: ${why}`,
      )
    }
  })

  it('names the part of a longer path that is missing, and the block a relative field is read in', () => {
    expect(failure('{{md caes.title.x}}', full).message).toMatch(
      /t\.md\.hbs:1:6: caes\.title\.x: the view model has no field caes$/,
    )
    expect(
      failure('{{#each findings.groups}}\n{{#each items}}{{md titel}}{{/each}}{{/each}}', full).message,
    ).toMatch(/t\.md\.hbs:2:21: titel: an item of \{\{#each items\}\} \(line 2\) has no field titel$/)
    expect(failure('{{#with case}}{{md ../summry.headline}}{{/with}}', full).message).toMatch(
      /t\.md\.hbs:1:20: \.\.\/summry\.headline: the view model has no field summry$/,
    )
    expect(failure('{{#each findings.groups as |g|}}{{md g.lable}}{{/each}}', full).message).toMatch(
      /t\.md\.hbs:1:38: g\.lable: g has no field lable$/,
    )
    expect(failure('{{md @index}}', full).message).toMatch(
      /t\.md\.hbs:1:6: @index: @index is not defined here/,
    )
    expect(failure('{{md @root.cas.id}}', full).message).toMatch(
      /t\.md\.hbs:1:6: @root\.cas\.id: @root has no field cas$/,
    )
    // A text or a list has no fields either (a text's length is read as before).
    expect(failure('{{md case.title.x}}', full).message).toMatch(
      /case\.title\.x: case\.title is a text, which has no field x$/,
    )
    expect(failure('{{md findings.groups.label}}', full).message).toMatch(
      /findings\.groups\.label: findings\.groups is a list, which has no field label/,
    )
    expect(render('{{#if case.title.length}}y{{/if}}{{md findings.groups.length}}', full)).toBe('y4')
  })

  it('points at the right one of two identical blocks that read different lists', () => {
    // Handlebars compiles identical blocks once; the location must still be the one that failed.
    const err = failure(
      '{{#each findings.groups}}{{md label}}{{/each}}\n{{#each timeline.keyEvents}}{{md label}}{{/each}}',
      full,
    )
    expect(err.message).toMatch(
      /t\.md\.hbs:2:34: label: an item of \{\{#each timeline\.keyEvents\}\} \(line 2\) has no field label$/,
    )
  })

  it('a field that is null is absent: it renders as nothing or the {{else}}, and reading into it says to test it first', () => {
    expect(empty.scope.window).toBeNull()
    expect(
      render(
        '[{{md scope.window}}]{{#if scope.window}}{{md scope.window.text}}{{else}}no window{{/if}}{{#with scope.window}}w{{else}}-{{/with}}{{#each timeline.keyEvents}}e{{else}}no events{{/each}}{{#unless summary.firstDetection}} none{{/unless}}',
        empty,
      ),
    ).toBe('[]no window-no events none')
    const err = failure('{{md scope.window.text}}', empty)
    expect(err.message).toBe(
      'unable to render template t.md.hbs: t.md.hbs:1:6: scope.window.text: scope.window is null in this case (absent), so it has no field text',
    )
    expect(err.actions.join(' ')).toContain('{{#if scope.window}}')
  })

  it('tells where the fields are listed; the message never shows [object Object]', () => {
    const err = failure('<h1>\n{{case.titel}}</h1>', full, 'html')
    expect(err.message).toBe(
      'unable to render template t.html.hbs: t.html.hbs:2:3: case.titel: case has no field titel',
    )
    expect(err.message).not.toContain('[object Object]')
    expect(err.actions.join(' ')).toContain('docs/readme/report.md')
  })

  it('keeps prototype names unreadable, as nothing', () => {
    expect(render('x{{case.constructor}}{{__proto__}}{{md case.constructor}}y', full, 'md')).toBe('xy')
    expect(failure('{{md constructor.name}}', full).message).toMatch(
      /t\.md\.hbs:1:6: constructor\.name: constructor is not a field of the view model$/,
    )
  })
})
