import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildReportModel } from '../../src/core/report/build.js'
import type { ReportModel } from '../../src/core/report/model.js'
import * as sources from '../../src/core/report/render.js'
import { tempDir } from '../support/cli.js'
import { buildSampleCase } from '../support/sample-case.js'

const ROOT = resolve(import.meta.dirname, '../..')
// The built renderer: the one that has the build's compiled templates beside it.
const built = (await import(pathToFileURL(join(ROOT, 'dist/core/report/render.js')).href)) as typeof sources
const FORMATS = ['html', 'md'] as const

/** What rendering `model` with fir's own template of `format` gives: its text, or its error. */
function rendered(renderer: typeof sources, format: 'html' | 'md', model: ReportModel): string {
  const path = renderer.builtinTemplatePath(format)
  const template = renderer.compileReportTemplate(readFileSync(path, 'utf8'), format, `report.${format}.hbs`)
  try {
    return template.render(model)
  } catch (err) {
    const e = err as { message: string; actions?: string[] }
    return `error: ${e.message} | ${(e.actions ?? []).join(' | ')}`
  }
}

describe("the build's compiled report templates (scripts/template-cache.js)", () => {
  let model: ReportModel
  beforeAll(async () => {
    const sample = await buildSampleCase({ parent: await tempDir(), hostile: true, events: 40 })
    model = await buildReportModel(sample.dir)
  })

  it("holds fir's own templates as their text now reads", () => {
    const cache = JSON.parse(
      readFileSync(join(ROOT, 'dist/core/report', built.TEMPLATE_CACHE_FILE), 'utf8'),
    ) as Record<string, unknown>
    const keys = FORMATS.map((f) =>
      sources.templateCacheKey(readFileSync(sources.builtinTemplatePath(f), 'utf8'), f),
    )
    expect(Object.keys(cache).sort()).toEqual(keys.sort())
  })

  it('render what compiling the template renders, and name a missing field the same way', () => {
    const { case: _, ...noCase } = model
    for (const format of FORMATS) {
      const text = rendered(built, format, model)
      expect(text.startsWith('error:'), text.slice(0, 300)).toBe(false)
      expect(text).toBe(rendered(sources, format, model))
      const missing = rendered(built, format, noCase as ReportModel)
      expect(missing).toMatch(
        new RegExp(
          `^error: unable to render template report\\.${format}\\.hbs: report\\.${format}\\.hbs:\\d+:\\d+: case\\.\\w+: the view model has no field case`,
        ),
      )
      expect(missing).toBe(rendered(sources, format, noCase as ReportModel))
    }
  })

  it('is not used for a template whose text changed: that text is checked and compiled', () => {
    const text = readFileSync(built.builtinTemplatePath('md'), 'utf8')
    expect(() => built.compileReportTemplate(`${text}{{{raw}}}`, 'md', 'edited.md.hbs')).toThrow(
      /^unable to use template edited\.md\.hbs: edited\.md\.hbs:\d+:\d+: unescaped output/,
    )
    const edited = built.compileReportTemplate(text.replace(/^# /m, '# Edited: '), 'md', 'edited.md.hbs')
    expect(edited.render(model)).toMatch(/^# Edited: /m)
  })
})
