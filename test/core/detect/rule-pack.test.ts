import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { revokeDocument } from '../../../src/core/credentials/revoke-policy.js'
import {
  type CompiledRule,
  createDetector,
  type DetectorOptions,
  evaluate,
  loadBuiltinRules,
} from '../../../src/core/detect/index.js'
import { repoRoot } from './helpers.js'

const rulesDir = path.join(repoRoot, 'rules')
const files = readdirSync(rulesDir).filter((f) => f.endsWith('.yml'))
const rules = await loadBuiltinRules()
const byFile = new Map(rules.map((r) => [path.basename(r.file), r]))

interface Examples {
  options?: DetectorOptions
  match: unknown[]
  nomatch: unknown[]
}

/** Runs one example (a record, or `{sequence: [...]}`) through a fresh detector; did the rule fire? */
function fires(rule: CompiledRule, example: unknown, options: DetectorOptions = {}): boolean {
  const detector = createDetector([rule], options)
  const records = (example as { sequence?: unknown[] }).sequence ?? [example]
  let fired = false
  for (const r of records) if (detector.evaluate(r).some((f) => f.rule === rule.id)) fired = true
  if (detector.flush().some((f) => f.rule === rule.id)) fired = true
  return fired
}

describe("fir's rule pack (rules/)", () => {
  it('loads every file, with unique ids', () => {
    expect(files.length).toBeGreaterThanOrEqual(15)
    expect([...byFile.keys()].sort()).toEqual([...files].sort())
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length)
  })

  describe.each(files)('%s', (file) => {
    const rule = byFile.get(file)!
    const raw = YAML.parse(readFileSync(path.join(rulesDir, file), 'utf8'))

    it('carries the metadata a responder needs', () => {
      expect(raw.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(raw.title.length).toBeGreaterThan(10)
      expect(['experimental', 'test', 'stable']).toContain(raw.status)
      expect(['informational', 'low', 'medium', 'high', 'critical']).toContain(raw.level)
      expect(raw.description.length).toBeGreaterThan(80)
      expect(raw.author).toBeTruthy()
      expect(raw.date).toMatch(/^\d{4}-\d{2}-\d{2}$/)
      expect(raw.tags.length).toBeGreaterThan(0)
      for (const tag of raw.tags) expect(tag).toMatch(/^attack\.[a-z0-9.-]+$/)
      expect(raw.tags.some((t: string) => /^attack\.t\d{4}/.test(t))).toBe(true)
      expect(raw.falsepositives.length).toBeGreaterThan(0)
      expect(raw.logsource).toEqual({ product: 'aws', service: 'cloudtrail' })
    })

    it('matches Lambda event names by prefix, since they carry version suffixes (DESIGN §10)', () => {
      const lambda = JSON.stringify(raw.detection).includes('"eventSource":"lambda.amazonaws.com"')
      if (lambda && rule.eventNames) expect(rule.eventNames.exact).toEqual([])
    })

    it('documents fir extensions in the description', () => {
      if (raw.fir) expect(raw.description).toMatch(/fir extension/)
    })

    const examples = raw['fir-examples'] as Examples
    it('keeps at least one matching and one non-matching example', () => {
      expect(examples.match.length).toBeGreaterThan(0)
      expect(examples.nomatch.length).toBeGreaterThan(0)
    })
    it.each(examples.match.map((e, i) => [i, e]))('fires on matching example %i', (_i, example) => {
      expect(fires(rule, example, examples.options)).toBe(true)
    })
    it.each(examples.nomatch.map((e, i) => [i, e]))(
      'stays silent on non-matching example %i',
      (_i, example) => {
        expect(fires(rule, example, examples.options)).toBe(false)
      },
    )
  })

  it('the stateless evaluate() leaves out rules that need a detector', () => {
    const scoped = rules.filter((r) => r.needsDetector)
    expect(scoped.map((r) => path.basename(r.file)).sort()).toEqual([
      'lambda_role_assumed_not_by_lambda.yml',
      'lambda_role_session_outside_aws_ip_ranges.yml',
      'lambda_role_session_outside_lambda.yml',
      'secretsmanager_secret_read_burst.yml',
    ])
    for (const rule of scoped) {
      const examples = (rule.examples as Examples).match
      for (const e of examples) {
        const records = (e as { sequence?: unknown[] }).sequence ?? [e]
        for (const r of records) expect(evaluate(rules, r).map((f) => f.rule)).not.toContain(rule.id)
      }
    }
  })
})

describe('the IAM policy rules (fir.policy)', () => {
  const ADMIN = byFile.get('iam_admin_policy_granted.yml')!.id
  const INLINE = byFile.get('iam_inline_policy_put.yml')!.id
  const put = (policyDocument: unknown, policyName = 'p') => ({
    eventSource: 'iam.amazonaws.com',
    eventName: 'PutRolePolicy',
    requestParameters: { roleName: 'orders-api-role', policyName, policyDocument },
  })
  const rulesOn = (record: unknown) =>
    evaluate(rules, record)
      .map((f) => f.rule)
      .filter((r) => r === ADMIN || r === INLINE)

  it("does not call fir's revoke-sessions policy (a Deny of every action) an administrator grant", () => {
    // Before, the admin rule's regex matched "Action": ["*"] whatever the Effect: fir's own
    // revocation was reported as "Administrator Permissions Granted To An IAM Identity".
    const revoke = put(JSON.stringify(revokeDocument('2026-11-30T06:27:24Z')), 'fir-revoke-IR-42')
    expect(rulesOn(revoke)).toEqual([])
    expect(rulesOn(put('{"Statement":[{"Effect":"Allow","Action":["*"],"Resource":["*"]}]}'))).toEqual([
      ADMIN,
    ])
    expect(rulesOn(put('{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'))).toEqual(
      [INLINE],
    )
  })

  it('leaves a record without a readable document to the Sigma detection', () => {
    expect(rulesOn(put('{"Statement":[{"Effect":"Allow","Action":"*"'))).toEqual([ADMIN, INLINE])
    expect(
      rulesOn({
        eventSource: 'iam.amazonaws.com',
        eventName: 'AttachRolePolicy',
        requestParameters: { roleName: 'r', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      }),
    ).toEqual([ADMIN])
  })

  it('reads a long document it cannot parse up to each "Action" that follows', () => {
    // '"Action":[' repeated: the regular expressions used to read on from every "Action" to the end
    // of the document, quadratic (17 s for a forged 250 KB record); regex-shape.test.ts holds the
    // shape, this the meaning.
    const forged = '"Action":['.repeat(2_500)
    expect(rulesOn(put(forged))).toEqual([INLINE])
    expect(rulesOn(put(`${forged}"s3:GetObject", "*"]`))).toEqual([ADMIN, INLINE])
    expect(rulesOn(put(`{"Action":["s3:GetObject", ${forged}`))).toEqual([INLINE])
    const encoded = '%22Action%22%3A%5B'.repeat(1_400)
    expect(rulesOn(put(encoded))).toEqual([INLINE])
    expect(rulesOn(put(`${encoded}%22*%22%5D`))).toEqual([ADMIN, INLINE])
  })
})

describe("the build's parse of fir's rules (scripts/rule-cache.js)", () => {
  it('holds every builtin rule, each exactly as its YAML reads', async () => {
    const { BUILD_CACHE_FILE, parseRuleYaml, sha256 } = await import('../../../src/core/detect/load.js')
    const built = JSON.parse(
      readFileSync(path.join(repoRoot, 'dist/core/detect', BUILD_CACHE_FILE), 'utf8'),
    ) as Record<string, unknown>
    expect(Object.keys(built)).toHaveLength(files.length)
    for (const f of files) {
      const text = readFileSync(path.join(rulesDir, f), 'utf8')
      expect(built[sha256(text)], f).toEqual(parseRuleYaml(text))
    }
  })

  it('is not used for a rule whose text changed: that text is parsed from its YAML', async () => {
    // The built loader: the one that has the build's parse beside it.
    const built = pathToFileURL(path.join(repoRoot, 'dist/core/detect/load.js')).href
    const { parseRuleText } = (await import(built)) as typeof import('../../../src/core/detect/load.js')
    const text = readFileSync(path.join(rulesDir, files[0]!), 'utf8')
    const original = parseRuleText(text, 'a.yml')
    const edited = parseRuleText(text.replace(/^title: .*$/m, 'title: Edited After The Build'), 'b.yml')
    expect(edited.id).toBe(original.id)
    expect(edited.title).toBe('Edited After The Build')
    expect(original.title).not.toBe('Edited After The Build')
    // An edited text is checked against the schemas again: one that breaks them is refused.
    expect(() => parseRuleText(text.replace(/^level: .*$/m, 'level: apocalyptic'), 'c.yml')).toThrow(
      /does not follow the Sigma rule schema: level/,
    )
  })

  it("lets a process load fir's own pack without the schema library (each hunt thread starts ~0.1 s sooner)", () => {
    const dist = (p: string) => pathToFileURL(path.join(repoRoot, 'dist', p)).href
    // zod seen loaded either way: imported (an ESM resolve hook) or required (require's cache).
    const hook = `export async function resolve(s, c, next) {
  const r = await next(s, c)
  if (r.url.includes('/node_modules/zod/')) process.stderr.write('zod imported\\n')
  return r
}`
    const run = (then: string) => {
      const script = `import { createRequire, register } from 'node:module'
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})
const { loadRulePack } = await import(${JSON.stringify(dist('core/timeline/detections.js'))})
const pack = await loadRulePack([]);
${then}
const required = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/zod/'))
console.log(JSON.stringify({ rules: pack.all.length, zod: required.length > 0 }))`
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
      expect(r.status, r.stderr).toBe(0)
      return {
        ...(JSON.parse(r.stdout) as { rules: number; zod: boolean }),
        imported: r.stderr.includes('zod imported'),
      }
    }
    expect(run('')).toEqual({ rules: files.length, zod: false, imported: false })
    // The check sees zod when a rule does need it (one not in the build's cache).
    const { zod, imported } = run(
      `(await import(${JSON.stringify(dist('core/detect/schema.js'))})).ruleSchemas()`,
    )
    expect(zod || imported).toBe(true)
  })
})
