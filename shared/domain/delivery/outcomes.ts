/**
 * How an attempt reads: the statuses that deliver a webhook, and the errors the sender records on
 * an attempt or a webhook. Written only here; the store derives an attempt's error back from its
 * status (shared/adapters/dynamodb/webhook-items.ts).
 */

/** Lago's: any other answer, another 2xx included, fails the attempt. */
const SUCCESS_STATUSES: readonly number[] = [200, 201, 202, 204];

export const isSuccessStatus = (status: number | null): boolean => status !== null && SUCCESS_STATUSES.includes(status);

export const DELIVERY_ERRORS = {
  /** The receiver answered, with a status that is not a success. */
  unexpectedStatus: (status: number) => `unexpected http status ${status}`,
  /** A fast-lane attempt cut at its budget; the slow lane makes it again in full. */
  cutInFastLane: (ms: number) => `no response within ${ms} ms in the fast lane; moved to the slow lane`,
  /** The webhook's endpoint is gone: the webhook fails without an attempt. */
  endpointDeleted: 'the webhook endpoint was deleted',
  /** Our side failed while sending (a bug, not the receiver): still a failed attempt, so the round advances. */
  internal: (message: string) => `internal: ${message}`,
} as const;
