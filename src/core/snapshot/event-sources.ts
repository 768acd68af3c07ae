import {
  type EventSourceMappingConfiguration,
  type ListEventSourceMappingsCommandOutput,
  listEventSourceMappings,
} from '../../aws/lambda.js'
import { safeSegment } from '../case/evidence-store.js'
import type { Gap } from '../context.js'
import { isFunctionOrQualifier } from '../identity.js'
import type { SnapshotRun } from './run.js'
import type { EventSourceMappingSummary } from './types.js'

/** The event source mappings of one region, as listed: every mapping, the files, the gap if any. */
interface RegionMappings {
  mappings: EventSourceMappingConfiguration[]
  files: string[]
  gap?: Gap
}

/**
 * Lists the event source mappings of a region once per run, every page stored as AWS returned it
 * (`lambda/<region>/list-event-source-mappings.page-N.json`): a mapping attached to an alias or a
 * version is missed by a listing filtered by the function's name, so the region is listed whole
 * and each function keeps its own from it (as `fir contain` does).
 */
function regionMappings(run: SnapshotRun, region: string): Promise<RegionMappings> {
  return run.cache<RegionMappings>('event-source-mappings').get(region, async () => {
    const res = await run.rec.pages<ListEventSourceMappingsCommandOutput>(
      {
        call: 'lambda:ListEventSourceMappings',
        target: region,
        what: `event source mappings of ${region}`,
        file: `lambda/${safeSegment(region)}/list-event-source-mappings`,
        region,
        paced: true,
      },
      (onPage, pace) => listEventSourceMappings(run.clients(region), onPage, pace),
    )
    return {
      mappings: res.pages.flatMap((p) => p.EventSourceMappings ?? []),
      files: res.files,
      ...(res.gap ? { gap: res.gap } : {}),
    }
  })
}

/**
 * The event source mappings of a function, its versions and its aliases (DESIGN §3), each naming
 * the qualifier it is attached to; a failed listing is a gap of the function too (in `sink`), so
 * its event sources read `unknown:`, not `none`.
 */
export async function collectEventSources(
  run: SnapshotRun,
  region: string,
  functionArn: string,
  sink: Gap[],
): Promise<EventSourceMappingSummary[]> {
  const listed = await regionMappings(run, region)
  if (listed.gap) run.rec.gap(listed.gap, sink)
  return listed.mappings
    .filter((m) => isFunctionOrQualifier(m.FunctionArn ?? '', functionArn))
    .map((m) => {
      const qualifier = m.FunctionArn?.split(':')[7]
      return {
        ...(m.UUID ? { uuid: m.UUID } : {}),
        ...(m.EventSourceArn ? { source: m.EventSourceArn } : {}),
        ...(m.State ? { state: m.State } : {}),
        ...(qualifier ? { qualifier } : {}),
      }
    })
}
