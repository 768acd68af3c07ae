/**
 * The clock fir reasons with. Local time may be wrong (laptops drift, VMs resume); `awsNow()` is
 * local time corrected by the offset observed in AWS's own `Date` response headers, which is what
 * the session revocation cutoff must use (DESIGN §4).
 */
export class Clock {
  private offsetMs: number | undefined

  constructor(private readonly local: () => number = Date.now) {}

  now(): Date {
    return new Date(this.local())
  }

  /** Records a server Date header (second resolution) seen at local time `seenAt`. */
  observeServerDate(header: string, seenAt = this.local()): void {
    const server = Date.parse(header)
    if (Number.isNaN(server)) return
    // The header truncates to the second; +500 ms centres the estimate.
    this.offsetMs = server + 500 - seenAt
  }

  /** Milliseconds AWS's clock is ahead of ours, when a response has been seen. */
  get skewMs(): number | undefined {
    return this.offsetMs
  }

  awsNow(): Date {
    return new Date(this.local() + (this.offsetMs ?? 0))
  }
}
