import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..', '..')
const scripts: Record<string, string> = JSON.parse(
  readFileSync(path.join(root, 'package.json'), 'utf8'),
).scripts

describe('package.json scripts', () => {
  it('name only files the repository has (npm run bench once pointed at a runner that was never written)', () => {
    const missing: string[] = []
    for (const [name, command] of Object.entries(scripts)) {
      for (const file of command.match(/\b(?:bench|scripts|bin)\/[\w./-]+\.(?:[cm]?js|ts)\b/g) ?? []) {
        if (!existsSync(path.join(root, file))) missing.push(`${name}: ${file}`)
      }
    }
    expect(missing).toEqual([])
  })

  it('has a script for every benchmark, and `npm run bench` runs each of them', () => {
    const runner = readFileSync(path.join(root, 'bench', 'run-all.ts'), 'utf8')
    const listed = /const BENCHES = \[([^\]]*)\]/.exec(runner)?.[1] ?? ''
    const benches = readdirSync(path.join(root, 'bench'))
      .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts')
      .map((f) => f.slice(0, -3))
    expect(benches.length).toBeGreaterThan(0)
    for (const name of benches) {
      expect(scripts[`bench:${name}`], `bench:${name}`).toContain(`bench/${name}.ts`)
      expect(listed, `run-all runs ${name}`).toContain(`'${name}'`)
    }
  })
})

describe("README's Quick start", () => {
  it('names everything its two commands need on a fresh machine: the Node package.json requires, moto, and Chromium for npm test', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8')
    const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Prerequisites'))
    expect(quick).toContain('npm install && npx fir tabletop run public-url-backdoor\nnpm test\n')
    const engines: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node
    const node = /^>=(\d+\.\d+)/.exec(engines)?.[1]
    // Before: "Node 20+", though package.json (and npm test's dependencies) need 20.19, and no
    // word of the Chromium the report's browser test refuses to skip without.
    expect(quick).toContain(`Node ${node}+`)
    expect(quick).toContain('`moto[server]`')
    expect(quick).toContain('`chromium`')
    // The test's own hint names the same package.
    expect(readFileSync(path.join(root, 'test', 'core', 'report', 'browser.ts'), 'utf8')).toContain(
      'apt-get install -y chromium',
    )
  })
})
