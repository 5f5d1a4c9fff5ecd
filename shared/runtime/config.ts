import { z } from 'zod';
import {
  DEFAULT_RETRY_SCHEDULE,
  JITTER,
  MAX_DELAY_SECONDS,
  MAX_ROUND_SECONDS,
} from '../domain/delivery/retry-schedule.ts';
import { parseCidrs } from '../domain/delivery/ssrf.ts';

/** Delivery settings shared by AWS (Lambda environment) and local mode, read from the same names. */
export interface DeliveryConfig {
  /** Seconds to wait before each retry; attempts = length + 1. */
  retrySchedule: number[];
  timeoutMs: number;
  /** CIDRs exempt from the SSRF guard (local development). */
  allowCidrs: string[];
  webhookRetentionDays: number;
  /** Deliveries to plain http:// URLs are refused unless allowed (they are locally). */
  allowHttp: boolean;
  /** The `iss` claim of JWT signatures: the API's base URL, as Lago uses LAGO_API_URL. */
  issuer: string;
  /** A fast-lane attempt still running after this long is cut and its webhook moves to the slow lane. */
  fastLaneMs: number;
  /** An attempt still running after this long marks its endpoint slow: its next webhooks take the slow lane. */
  slowAfterMs: number;
  /** An endpoint whose every attempt failed this long is disabled automatically; 0 never. */
  autoDisableAfterSeconds: number;
}

/**
 * Every delivery setting's default, in one place: the environment schema below, the CDK stack's
 * props (infra/stack.ts) and local mode all take theirs from here.
 */
export const DELIVERY_DEFAULTS = {
  retrySchedule: DEFAULT_RETRY_SCHEDULE,
  timeoutMs: 15_000,
  allowCidrs: [],
  webhookRetentionDays: 90,
  allowHttp: false,
  issuer: 'http://localhost:3000',
  fastLaneMs: 3_000,
  slowAfterMs: 1_000,
  // 5 days, as Svix; at most 90.
  autoDisableAfterSeconds: 5 * 86_400,
} as const satisfies Readonly<Record<keyof DeliveryConfig, unknown>>;

const D = DELIVERY_DEFAULTS;

const scheduleSchema = z
  .string()
  .transform((raw) =>
    raw
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^\d+$/, 'must be whole seconds')
          .transform(Number)
          .pipe(z.number().int().min(0).max(MAX_DELAY_SECONDS)),
      )
      .max(24),
  );

const envSchema = z.object({
  WEBHOOK_RETRY_SCHEDULE: scheduleSchema.optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(D.timeoutMs),
  WEBHOOK_ALLOW_CIDRS: z
    .string()
    .default(D.allowCidrs.join(','))
    .transform((raw, ctx) => {
      try {
        return parseCidrs(raw).map((c) => c.source);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).optional(),
  /** The earlier name of WEBHOOK_RETENTION_DAYS, still read. */
  WEBHOOK_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).optional(),
  WEBHOOK_ALLOW_HTTP: z.enum(['true', 'false']).default(D.allowHttp ? 'true' : 'false'),
  API_BASE_URL: z.string().url().default(D.issuer),
  WEBHOOK_FAST_LANE_MS: z.coerce.number().int().min(100).max(60_000).default(D.fastLaneMs),
  WEBHOOK_SLOW_AFTER_MS: z.coerce.number().int().min(50).max(60_000).default(D.slowAfterMs),
  WEBHOOK_AUTO_DISABLE_AFTER: z.coerce
    .number()
    .int()
    .min(0)
    .max(90 * 86_400)
    .default(D.autoDisableAfterSeconds),
});

export class ConfigError extends Error {}

export function deliveryConfigFromEnv(env: Record<string, string | undefined> = process.env): DeliveryConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  const c = parsed.data;
  // Marked slow before it is cut, an endpoint's next webhooks skip the fast lane; the other way round they would all hold it.
  if (c.WEBHOOK_SLOW_AFTER_MS > c.WEBHOOK_FAST_LANE_MS)
    throw new ConfigError('invalid configuration: WEBHOOK_SLOW_AFTER_MS must not be longer than WEBHOOK_FAST_LANE_MS');
  const retrySchedule = c.WEBHOOK_RETRY_SCHEDULE ?? [...D.retrySchedule];
  const longest = retrySchedule.reduce((sum, wait) => sum + wait, 0) * (1 + JITTER);
  if (longest > MAX_ROUND_SECONDS) {
    throw new ConfigError(
      `invalid configuration: WEBHOOK_RETRY_SCHEDULE: the waits add up to more than ${MAX_ROUND_SECONDS / 86_400} days with jitter`,
    );
  }
  return {
    retrySchedule,
    timeoutMs: c.WEBHOOK_TIMEOUT_MS,
    allowCidrs: c.WEBHOOK_ALLOW_CIDRS,
    webhookRetentionDays: c.WEBHOOK_RETENTION_DAYS ?? c.WEBHOOK_LOG_RETENTION_DAYS ?? D.webhookRetentionDays,
    allowHttp: c.WEBHOOK_ALLOW_HTTP === 'true',
    issuer: c.API_BASE_URL,
    fastLaneMs: c.WEBHOOK_FAST_LANE_MS,
    slowAfterMs: c.WEBHOOK_SLOW_AFTER_MS,
    autoDisableAfterSeconds: c.WEBHOOK_AUTO_DISABLE_AFTER,
  };
}

/** The environment a deployment passes to its functions, the inverse of `deliveryConfigFromEnv`. */
export function deliveryConfigToEnv(config: DeliveryConfig): Record<string, string> {
  return {
    WEBHOOK_RETRY_SCHEDULE: config.retrySchedule.join(','),
    WEBHOOK_TIMEOUT_MS: String(config.timeoutMs),
    WEBHOOK_ALLOW_CIDRS: config.allowCidrs.join(','),
    WEBHOOK_RETENTION_DAYS: String(config.webhookRetentionDays),
    WEBHOOK_ALLOW_HTTP: String(config.allowHttp),
    API_BASE_URL: config.issuer,
    WEBHOOK_FAST_LANE_MS: String(config.fastLaneMs),
    WEBHOOK_SLOW_AFTER_MS: String(config.slowAfterMs),
    WEBHOOK_AUTO_DISABLE_AFTER: String(config.autoDisableAfterSeconds),
  };
}
