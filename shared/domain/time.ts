/** Times as the API shows them. */

/** Seconds precision, as Lago renders times. */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
