import { readFile, writeFile } from 'node:fs/promises'
import { withPermissions } from '../src/core/permissions-doc.js'

const path = new URL('../README.md', import.meta.url)
await writeFile(path, withPermissions(await readFile(path, 'utf8')))
console.log('README.md permissions section regenerated')
