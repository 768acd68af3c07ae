import { UsageError } from '../../errors.js'

/** Commercial regions enabled in every account by default. */
export const DEFAULT_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'sa-east-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-north-1',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
] as const

/** Opt-in regions: an account that has not enabled one rejects its credentials there. */
export const OPT_IN_REGIONS = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
] as const

export const ALL_REGIONS: readonly string[] = [...DEFAULT_REGIONS, ...OPT_IN_REGIONS]

const REGION_RE = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/

export function isOptInRegion(region: string): boolean {
  return (OPT_IN_REGIONS as readonly string[]).includes(region)
}

/**
 * `all` (every commercial region fir knows; opt-in regions an account has not enabled are skipped,
 * not gaps) or a comma-separated list of region names.
 */
export function parseRegions(
  value: string | undefined,
  fallback: string,
): { regions: string[]; all: boolean } {
  const v = (value ?? fallback).trim()
  if (v === 'all') return { regions: [...ALL_REGIONS], all: true }
  const regions = [
    ...new Set(
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ]
  if (regions.length === 0) {
    throw new UsageError('unable to read --regions: it names no region', {
      actions: ['pass --regions all, or --regions us-east-1,eu-west-1'],
    })
  }
  for (const r of regions) {
    if (!REGION_RE.test(r)) {
      throw new UsageError(`unable to read --regions: ${JSON.stringify(r)} is not an AWS region name`, {
        actions: ['pass --regions all, or region names like us-east-1,eu-west-1'],
      })
    }
  }
  return { regions, all: false }
}
