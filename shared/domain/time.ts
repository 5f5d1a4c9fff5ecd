/** Times as the API shows them: the domain keeps epoch milliseconds, these render them. */

/** Seconds precision, as Lago renders times. */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The time truncated to the second: what Lago keeps of a time it sets (a creation, a disable by request). */
export const toSecond = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** Full precision: milliseconds included. */
export const isoMs = (ms: number): string => new Date(ms).toISOString();
