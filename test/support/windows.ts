// Rate limits count in fixed windows (shared/domain/organizations/rate-limits.ts): a burst a test makes must fall in one.

/** Waits, if need be, for the next window of `windowMs` to begin, so that `needMs` of it are left for the test. */
export async function withinOneWindow(windowMs: number, needMs = 15_000): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}
