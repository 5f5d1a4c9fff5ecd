/**
 * Token buckets, one per key, created full: each refills at `unitsPerSecond` up to `burstUnits`.
 * A request is admitted while each of its keys holds what it needs (at most the burst, so an item
 * larger than the burst still passes on a full bucket). What it needs is taken on admission and
 * corrected once the actual units are known, which may leave a bucket in debt: DynamoDB, too, only
 * learns the size of what it reads while serving the request. Hand-written: no maintained limiter
 * takes units after the fact or lets a bucket go below zero.
 */

export interface Rate {
  unitsPerSecond: number;
  burstUnits: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
  /** The wall-clock second `used` counts, and the units consumed in it. */
  second: number;
  used: number;
}

export interface Peak {
  key: string;
  units: number;
}

/** Buckets are dropped once full and idle (a full bucket is a new one), checked every so many admissions. */
const PRUNE_EVERY = 4096;

export class KeyBuckets {
  readonly rate: Rate;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();
  private peak: Peak | undefined;
  private admissions = 0;

  constructor(rate: Rate, now: () => number) {
    this.rate = rate;
    this.now = now;
  }

  /** The first key that does not hold what it needs now (undefined: all do); takes nothing. */
  lacking(needs: ReadonlyMap<string, number>): string | undefined {
    if (++this.admissions % PRUNE_EVERY === 0) this.prune();
    for (const [key, units] of needs) if (this.bucket(key).tokens < Math.min(units, this.rate.burstUnits)) return key;
    return undefined;
  }

  /** Takes units from a key; negative units give some back, never above the burst. */
  take(key: string, units: number): void {
    const bucket = this.bucket(key);
    bucket.tokens = Math.min(this.rate.burstUnits, bucket.tokens - units);
  }

  /** Counts units a key actually consumed, for the highest units in one second. */
  consumed(key: string, units: number): void {
    const bucket = this.bucket(key);
    const second = Math.floor(bucket.at / 1000);
    if (second !== bucket.second) {
      bucket.second = second;
      bucket.used = 0;
    }
    bucket.used += units;
    if (!this.peak || bucket.used > this.peak.units) this.peak = { key, units: bucket.used };
  }

  /** The most units one key consumed within one wall-clock second. */
  peakPerSecond(): Peak | undefined {
    return this.peak && { ...this.peak };
  }

  /** The key's bucket, refilled up to now. */
  private bucket(key: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.rate.burstUnits, at: now, second: Math.floor(now / 1000), used: 0 };
      this.buckets.set(key, bucket);
      return bucket;
    }
    const refill = (Math.max(0, now - bucket.at) / 1000) * this.rate.unitsPerSecond;
    bucket.tokens = Math.min(this.rate.burstUnits, bucket.tokens + refill);
    bucket.at = now;
    return bucket;
  }

  private prune(): void {
    const second = Math.floor(this.now() / 1000);
    for (const [key, bucket] of this.buckets) {
      const full = bucket.tokens + ((this.now() - bucket.at) / 1000) * this.rate.unitsPerSecond >= this.rate.burstUnits;
      if (full && bucket.second < second) this.buckets.delete(key);
    }
  }
}
