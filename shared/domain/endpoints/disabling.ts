import { isoMs, isoSeconds } from '../time.ts';

/** The reason a disable by request stores and shows (an automatic one explains the failures). */
export const DISABLED_BY_REQUEST = 'disabled by request';

/**
 * When an endpoint was disabled, as the API shows it and the store keeps it: a disable by request is
 * set to the second, as Lago sets times; an automatic one keeps its milliseconds, the same time its
 * operational event carries.
 */
export const disabledAtIso = (disabledAtMs: number, reason: string | null | undefined): string =>
  reason === DISABLED_BY_REQUEST ? isoSeconds(disabledAtMs) : isoMs(disabledAtMs);
