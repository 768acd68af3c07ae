import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadRuleDir } from '../../../src/core/detect/index.js'
import {
  ruleSchemas,
  SIGMA_DATE_PATTERN,
  SIGMA_DESCRIPTION_MAX,
  SIGMA_LEVELS,
  SIGMA_NAME_MAX,
  SIGMA_RELATED_TYPES,
  SIGMA_REQUIRED,
  SIGMA_STATUSES,
  SIGMA_TAG_PATTERN,
  SIGMA_TITLE_MAX,
} from '../../../src/core/detect/schema.js'
import { sharedData } from './helpers.js'

const sigma = path.join(sharedData, 'sigma')
const present = existsSync(sigma)
if (!present)
  console.warn(`skipping the SigmaHQ corpus tests: ${sigma} is absent (third-party data is not shipped)`)

function ymlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return ymlFiles(full)
    return /\.ya?ml$/.test(name) ? [full] : []
  })
}

describe.skipIf(!present)('the SigmaHQ CloudTrail rules in ../shared/data/sigma', () => {
  it('loads every rule in rules/', async () => {
    const files = ymlFiles(path.join(sigma, 'rules'))
    expect(files.length).toBeGreaterThan(40)
    const { rules, refused } = await loadRuleDir(path.join(sigma, 'rules'))
    expect(refused).toEqual([])
    expect(rules).toHaveLength(files.length)
    for (const r of rules) expect(r.id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('refuses each rule in unsupported/ with the reason (timeframe, aggregation, near)', async () => {
    const files = ymlFiles(path.join(sigma, 'unsupported'))
    const { rules, refused } = await loadRuleDir(path.join(sigma, 'unsupported'))
    expect(rules).toEqual([])
    expect(refused.map((r) => r.file).sort()).toEqual(files.sort())
    for (const r of refused) expect(r.reason).toMatch(/timeframe|aggregation|near/)
    expect(
      refused.find((r) => r.file.endsWith('aws_lambda_function_created_or_invoked.yml'))?.reason,
    ).toMatch(/'near'/)
  })

  it('refuses each rule in rules-placeholder/ because |expand needs a pipeline', async () => {
    const files = ymlFiles(path.join(sigma, 'rules-placeholder'))
    const { rules, refused } = await loadRuleDir(path.join(sigma, 'rules-placeholder'))
    expect(rules).toEqual([])
    expect(refused).toHaveLength(files.length)
    for (const r of refused) expect(r.reason).toMatch(/\|expand modifier/)
  })
})

const schemaFile = path.join(sigma, 'specification-json-schema', 'sigma-detection-rule-schema.json')

describe.skipIf(!existsSync(schemaFile))(
  'fir’s Sigma schema in code agrees with the published JSON schema',
  () => {
    const schema = present ? JSON.parse(readFileSync(schemaFile, 'utf8')) : {}
    const consts = (prop: { oneOf: Array<{ const: string }> }) => prop.oneOf.map((o) => o.const).sort()

    it('has the same required fields, enums, patterns and limits', () => {
      expect([...SIGMA_REQUIRED].sort()).toEqual([...schema.required].sort())
      expect([...SIGMA_LEVELS].sort()).toEqual(consts(schema.properties.level))
      expect([...SIGMA_STATUSES].sort()).toEqual(consts(schema.properties.status))
      expect([...SIGMA_RELATED_TYPES].sort()).toEqual(consts(schema.properties.related.items.properties.type))
      expect(SIGMA_TAG_PATTERN).toBe(schema.properties.tags.items.pattern)
      expect(SIGMA_DATE_PATTERN).toBe(schema.properties.date.pattern)
      expect(SIGMA_DATE_PATTERN).toBe(schema.properties.modified.pattern)
      expect(SIGMA_TITLE_MAX).toBe(schema.properties.title.maxLength)
      expect(SIGMA_NAME_MAX).toBe(schema.properties.name.maxLength)
      expect(SIGMA_DESCRIPTION_MAX).toBe(schema.properties.description.maxLength)
      expect(schema.properties.detection.required).toEqual(['condition'])
    })

    it('knows every property the JSON schema defines', () => {
      expect(Object.keys(ruleSchemas().sigmaRule.shape).sort()).toEqual(Object.keys(schema.properties).sort())
    })
  },
)
