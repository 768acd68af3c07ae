import { BaseSequencer, type TestSpecification } from 'vitest/node'

/**
 * Known to run longest, yet small files: first, wherever vitest would put them. Without timings
 * from an earlier run (a clean clone, CI) vitest orders files by size, which started the
 * SIGKILL-and-resume test (a minute of CLI processes) and the LookupEvents pacing test (half a
 * minute, mostly waiting on its 2 requests/s) last, each left running alone on a worker.
 */
const SLOWEST = ['test/commands/playbook-resume.test.ts', 'test/core/timeline/lookup-throughput.test.ts']

/**
 * Test files that run the built CLI (test/commands/) before the rest, the slowest known first:
 * the many short unit files then fill in around them rather than wait at the end.
 */
export class CommandsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const rank = (f: TestSpecification) => {
      const rel = f.moduleId.slice(f.project.config.root.length + 1)
      if (SLOWEST.includes(rel)) return 0
      return rel.startsWith('test/commands/') ? 1 : 2
    }
    // Array.prototype.sort is stable: vitest's own order holds within each rank.
    return sorted.sort((a, b) => rank(a) - rank(b))
  }
}
