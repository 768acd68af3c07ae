import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { builtinRulesDir, evaluate, loadBuiltinRules, loadRuleDir } from '../../../src/core/detect/index.js'
import { FirError } from '../../../src/errors.js'
import { fixtures, repoRoot } from './helpers.js'

const ruleDir = path.join(fixtures, 'rule-dir')

describe('loadRuleDir', () => {
  it('loads every usable rule under a folder (recursively) and refuses the rest with reasons', async () => {
    const { rules, refused } = await loadRuleDir(ruleDir)
    expect(rules.map((r) => r.title).sort()).toEqual(['Test Rule In A Subfolder', 'Test Rule Trail Stopped'])
    const reasons = Object.fromEntries(refused.map((r) => [path.relative(ruleDir, r.file), r.reason]))
    expect(Object.keys(reasons).sort()).toEqual([
      'aggregation.yml',
      'aliases.yml',
      'bad-level.yml',
      'broken.yml',
      'collection.yml',
      'correlation.yml',
      'placeholder.yml',
      'unresolved-alias.yml',
      'windows.yml',
      'z-duplicate-id.yml',
    ])
    expect(reasons['aggregation.yml']).toMatch(/aggregation/)
    expect(reasons['placeholder.yml']).toMatch(/\|expand/)
    expect(reasons['bad-level.yml']).toMatch(/schema: level/)
    expect(reasons['broken.yml']).toMatch(/not valid YAML/)
    // The YAML library throws on these only while building the value; they ended the whole run
    // ("unexpected error: Excessive alias count … this is a bug in fir") instead of refusing a file.
    expect(reasons['aliases.yml']).toBe(
      'it could not be read as YAML: Excessive alias count indicates a resource exhaustion attack',
    )
    expect(reasons['unresolved-alias.yml']).toMatch(/^it could not be read as YAML: Unresolved alias/)
    expect(reasons['collection.yml']).toMatch(/2 YAML documents/)
    expect(reasons['correlation.yml']).toMatch(/correlation rule/)
    expect(reasons['windows.yml']).toMatch(
      /logsource is category 'process_creation', product 'windows'; fir matches AWS CloudTrail records only/,
    )
    expect(reasons['z-duplicate-id.yml']).toMatch(/already used by .*good\.yml/)
  })

  it('loads a single rule file too', async () => {
    const { rules, refused } = await loadRuleDir(path.join(ruleDir, 'good.yml'))
    expect(rules).toHaveLength(1)
    expect(refused).toEqual([])
    expect(evaluate(rules, { eventName: 'StopLogging' })).toEqual([
      {
        rule: '6f0d3c1e-8a55-4e0b-9a61-0b8f3d2c4a71',
        title: 'Test Rule Trail Stopped',
        level: 'high',
        tags: ['attack.defense-evasion'],
      },
    ])
  })

  it('fails with a usage error and a next step when the folder does not exist', async () => {
    const err = await loadRuleDir(path.join(ruleDir, 'nope')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FirError)
    expect((err as FirError).message).toMatch(/^unable to load rules from .*nope: no such file or folder$/)
    expect((err as FirError).exitCode).toBe(2)
    expect((err as FirError).actions[0]).toMatch(/--rules/)
  })

  describe('with files written at test time', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fir-detect-'))
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('falls back to the file name as id when a rule has neither id nor name, and medium as level', async () => {
      await writeFile(
        path.join(dir, 'no-id.yml'),
        'title: No Id\nlogsource: { product: aws }\ndetection:\n  s: { eventName: X }\n  condition: s\n',
      )
      const { rules } = await loadRuleDir(path.join(dir, 'no-id.yml'))
      expect(rules[0]).toMatchObject({ id: 'no-id', level: 'medium', tags: [] })
    })

    it('refuses a condition nested deeper than the parser and matcher recurse, and loads the rest', async () => {
      const nested = path.join(dir, 'nested')
      await mkdir(nested)
      const rule = (condition: string) =>
        `title: Nested\nlogsource: { product: aws }\ndetection:\n  s: { eventName: X }\n  condition: ${condition}\n`
      await writeFile(path.join(nested, 'nots.yml'), rule(`${'not '.repeat(20_000)}s`))
      await writeFile(path.join(nested, 'parens.yml'), rule(`${'('.repeat(20_000)}s${')'.repeat(20_000)}`))
      await writeFile(path.join(nested, 'ok.yml'), rule(`${'not ('.repeat(32)}s${')'.repeat(32)}`))
      const { rules, refused } = await loadRuleDir(nested)
      expect(rules.map((r) => path.basename(r.file))).toEqual(['ok.yml'])
      expect(refused.map((r) => path.basename(r.file))).toEqual(['nots.yml', 'parens.yml'])
      for (const r of refused)
        expect(r.reason).toMatch(/nests parentheses or 'not' more than 64 levels deep$/)
    })

    it('refuses a rule file larger than 1 MiB without parsing it', async () => {
      const big = path.join(dir, 'big.yml')
      await writeFile(big, `title: Big\n# ${'x'.repeat(1024 * 1024)}\n`)
      const { refused } = await loadRuleDir(big)
      expect(refused[0]?.reason).toMatch(/larger than/)
    })

    it('walks a link to a folder (once, loops cut), and refuses a FIFO named .yml, linked or named, without opening it', async () => {
      // Before: a link to a folder was not walked (its rules never loaded), and a FIFO named .yml
      // was opened with a blocking read: the run hung, the case lock held.
      const rules = path.join(dir, 'linked')
      const real = path.join(dir, 'real-rules')
      await mkdir(rules)
      await mkdir(real)
      await copyFile(path.join(ruleDir, 'good.yml'), path.join(real, 'good.yml'))
      await symlink(real, path.join(rules, 'rules_link'))
      await symlink(rules, path.join(real, 'back')) // a loop: real-rules/back → linked
      const { rules: loaded, refused } = await loadRuleDir(rules)
      expect(loaded).toHaveLength(1)
      expect(refused).toEqual([])

      const fifo = path.join(dir, 'pipe.fifo.yml')
      execFileSync('mkfifo', [fifo])
      const named = await loadRuleDir(fifo).catch((e: unknown) => e)
      expect(named).toBeInstanceOf(FirError)
      expect((named as FirError).exitCode).toBe(2)
      expect((named as FirError).message).toBe(
        `unable to load rules from ${fifo}: it is a named pipe (FIFO), not a rule file (not opened)`,
      )
      await symlink(fifo, path.join(real, 'evil.yml'))
      const walked = await loadRuleDir(rules).catch((e: unknown) => e)
      expect(walked).toBeInstanceOf(FirError)
      expect((walked as FirError).exitCode).toBe(2)
      expect((walked as FirError).message).toBe(
        `unable to load rules from ${rules}: ${path.join(rules, 'rules_link', 'evil.yml')} is a symbolic link to a named pipe (FIFO), not a rule file (not opened)`,
      )
    })
  })
})

describe('loadBuiltinRules', () => {
  it('finds the repo rules/ folder from the module (src and dist share the layout)', async () => {
    expect(builtinRulesDir()).toBe(path.join(repoRoot, 'rules'))
    const rules = await loadBuiltinRules()
    expect(rules.length).toBeGreaterThanOrEqual(15)
  })

  it('reads the pack once a process and gives every caller its own list of the same rules', async () => {
    const first = await loadBuiltinRules()
    const count = first.length
    first.push(first[0]!)
    const second = await loadBuiltinRules()
    expect(second).not.toBe(first)
    expect(second.length).toBe(count)
    expect(second[0]).toBe(first[0])
  })

  const built = path.join(repoRoot, 'dist/core/detect/load.js')
  it.skipIf(!existsSync(built))('finds the same folder from the built module in dist/', async () => {
    const mod = (await import(pathToFileURL(built).href)) as { builtinRulesDir(): string }
    expect(mod.builtinRulesDir()).toBe(path.join(repoRoot, 'rules'))
  })
})
