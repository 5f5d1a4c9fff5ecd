import type { Lane, LaneMapping } from '../domain/delivery/policy.ts';
import { JITTER, MAX_ROUND_SECONDS } from '../domain/delivery/retry-schedule.ts';
import { ConfigError, settingDefaults, settingsFromEnv, settingsToEnv, type SettingValues } from './settings.ts';

export { ConfigError } from './settings.ts';

/**
 * The delivery settings, which AWS (the functions' environment) and local mode read from the same
 * names. Each is declared in shared/runtime/settings.ts, with its variable, default and docs.
 */
export type DeliveryConfig = SettingValues<'delivery'>;

/** Every delivery setting's default, from the settings table. */
export const DELIVERY_DEFAULTS: Readonly<DeliveryConfig> = settingDefaults('delivery');

/**
 * The delivery settings from an environment, falling back to `defaults` (local mode's), then to
 * the table's. Throws a ConfigError naming the variable of a value that does not parse, or breaks
 * a rule between two settings.
 */
export function deliveryConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
  defaults: Partial<DeliveryConfig> = {},
): DeliveryConfig {
  const config = settingsFromEnv('delivery', env, defaults);
  // Marked slow before it is cut, an endpoint's next webhooks skip the fast lane; the other way round they would all hold it.
  if (config.slowAfterMs > config.fastLaneMs)
    throw new ConfigError('invalid configuration: WEBHOOK_SLOW_AFTER_MS must not be longer than WEBHOOK_FAST_LANE_MS');
  const longest = config.retrySchedule.reduce((sum, wait) => sum + wait, 0) * (1 + JITTER);
  if (longest > MAX_ROUND_SECONDS) {
    throw new ConfigError(
      `invalid configuration: WEBHOOK_RETRY_SCHEDULE: the waits add up to more than ${MAX_ROUND_SECONDS / 86_400} days with jitter`,
    );
  }
  return config;
}

/** The environment a deployment passes to its functions, the inverse of `deliveryConfigFromEnv`. */
export const deliveryConfigToEnv = (config: Partial<DeliveryConfig>): Record<string, string> =>
  settingsToEnv('delivery', config);

/** Each lane's capacity, from the settings: the CDK event source mappings and the local pollers both follow it. */
export const laneMappings = (config: DeliveryConfig): Record<Lane, LaneMapping> => ({
  fast: { batchSize: config.fastLaneBatchSize, maxConcurrency: config.fastLaneConcurrency },
  slow: { batchSize: config.slowLaneBatchSize, maxConcurrency: config.slowLaneConcurrency },
});
