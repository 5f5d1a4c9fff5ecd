import { tooManyRequests } from '../errors.ts';
import type { RateCounters, WindowCounter } from '../ports.ts';

/**
 * Rate limits on the organization routes whose work goes beyond their own request: test events (per
 * organization and per endpoint), retry and resend, recover, and HMAC token rotation. Publishing and
 * deliveries are not limited. Each limit counts in fixed windows, as Lago's own API does (its
 * `X-RateLimit-Reset` is the seconds left in the window): one counter item per organization, action and
 * window, taken with one conditional write, so a limited request costs one write and nothing else does.
 * A request is counted once it is known to be valid (after its 404s and 422s), just before its work.
 */

export type LimitedAction = 'test_event' | 'redelivery' | 'recovery' | 'rotation';

/** How many of an action a window allows an organization, and one endpoint of it; 0 is no limit. */
interface ActionLimit {
  windowMs: number;
  organization: number;
  endpoint?: number;
}

export type RateLimitPolicy = Record<LimitedAction, ActionLimit>;

const WHAT: Record<LimitedAction, string> = {
  test_event: 'test events',
  redelivery: 'retries and resends',
  recovery: 'recover calls',
  rotation: 'HMAC token rotations',
};

const ORGANIZATION = 'organization';
const endpointCounter = (endpointId: string) => `endpoint#${endpointId}`;

const per = (windowMs: number) =>
  windowMs === 3_600_000 ? 'an hour' : windowMs === 60_000 ? 'a minute' : `per ${windowMs / 1000} s`;

export class RateLimits {
  private readonly counters: RateCounters;
  private readonly policy: RateLimitPolicy;
  private readonly now: () => number;

  constructor(counters: RateCounters, policy: RateLimitPolicy, now: () => number) {
    this.counters = counters;
    this.policy = policy;
    this.now = now;
  }

  /** Counts one `action` of the organization (and of its endpoint); a 429 with the seconds to wait when a limit is reached. */
  async take(action: LimitedAction, organizationId: string, endpointId?: string): Promise<void> {
    const { windowMs, organization, endpoint = 0 } = this.policy[action];
    const counters: WindowCounter[] = [
      ...(organization > 0 ? [{ name: ORGANIZATION, limit: organization }] : []),
      ...(endpointId !== undefined && endpoint > 0 ? [{ name: endpointCounter(endpointId), limit: endpoint }] : []),
    ];
    const [first] = counters;
    if (!first) return;
    const nowMs = this.now();
    const startMs = nowMs - (nowMs % windowMs);
    const full = await this.counters.take({ organizationId, action, startMs, endMs: startMs + windowMs }, counters);
    if (full.length === 0) return;
    // The endpoint's limit, when both are reached: the one its caller can do something about.
    const reached = counters.find((c) => c.name !== ORGANIZATION && full.includes(c.name)) ?? first;
    const retryAfterSeconds = Math.max(1, Math.ceil((startMs + windowMs - nowMs) / 1000));
    const scope = reached.name === ORGANIZATION ? 'for an organization' : 'to one endpoint';
    throw tooManyRequests(
      `at most ${reached.limit} ${WHAT[action]} ${per(windowMs)} ${scope}; retry in ${retryAfterSeconds} s`,
      { limit: reached.limit, retryAfterSeconds },
    );
  }
}
