/**
 * The timeline (DESIGN §5): CloudTrail events from LookupEvents, trail buckets and files, merged,
 * related to a function, normalised and flagged. The report and Athena/Lake engines reuse the
 * normaliser, the relatedness test, the exporters and the case file names from here.
 */
export {
  type ApiQuerySummary,
  collectTimeline,
  EVENTS_FILE,
  FINDINGS_FILE,
  type ProblemFile,
  type SourceSummary,
  SUMMARY_FILE,
  TIMELINE_DIR,
  type TimelineFindingEntry,
  type TimelineOptions,
  type TimelineSummary,
} from './collect.js'
export { CORRELATION_RULES, correlate } from './correlate.js'
export {
  DETECTOR_ANY,
  DETECTOR_LEARN,
  type DetectorMarks,
  learnedRole,
  loadRulePack,
  MergeDetector,
  type RulePack,
  readAwsIpRanges,
  statelessFindings,
  toEventFindings,
} from './detections.js'
export {
  CSV_COLUMNS,
  csvCell,
  EXPORT_FORMATS,
  Exporter,
  type ExportFormat,
  eventSummary,
  mdCell,
  parseExportFormat,
} from './export.js'
export { decodeBytes, decodeText, gunzipStrict, InputRefused } from './input.js'
export {
  actorOf,
  baseEventName,
  eventIdOf,
  eventTimeMs,
  normaliseRecord,
  sessionNameOf,
  withoutRaw,
} from './normalise.js'
export { buildEvent, ORIGIN_RANK, selectRecord } from './process.js'
export {
  Prefilter,
  Relatedness,
  type RelatedReason,
  type RoleRef,
  roleNameOfArn,
  roleNameOfSession,
  stringNamesFunction,
  type TimelineTarget,
} from './related.js'
export { COMMERCIAL_REGIONS, planFollowUps, planQueries, RegionPacer } from './sources/api.js'
export { renderTimelineSummary } from './summary-text.js'
export {
  firRequestIds,
  parseFunctionRef,
  parseRoleRef,
  resolveTarget,
} from './target.js'
export type {
  EventActor,
  EventFinding,
  FindingLevel,
  Origin,
  SkipReason,
  TimelineEvent,
  TimeWindow,
} from './types.js'
export {
  asFlag,
  classifySources,
  parseRegions,
  type SpellValue,
  type TimelineValueProblem,
  timelineValueProblems,
} from './values.js'
export {
  DELIVERY_MARGIN_AFTER_MS,
  DELIVERY_MARGIN_BEFORE_MS,
  deliveryTimeOf,
  inWindow,
  parseTimeBound,
  resolveWindow,
} from './window.js'
