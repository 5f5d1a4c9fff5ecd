/**
 * Errors are values: a domain function throws an ApiError with a kind and the details Lago's
 * shape needs; `toLagoError` (shared/runtime/http.ts) is the one place that turns it into a response.
 */
export type ErrorKind =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'not_allowed'
  | 'conflict'
  | 'payload_too_large'
  | 'validation'
  | 'too_many_requests'
  | 'unavailable';

export type ValidationDetails = Record<string, string[]>;

/** A limit that was reached: how many its window allows, and the whole seconds until the window resets. */
export interface RateLimited {
  limit: number;
  retryAfterSeconds: number;
}

export class ApiError extends Error {
  readonly kind: ErrorKind;
  readonly code: string | undefined;
  readonly details: ValidationDetails | undefined;
  /** Sent as `Retry-After`: when trying again may succeed. */
  readonly retryAfterSeconds: number | undefined;
  /** A rate limit that was reached: also sent as `X-RateLimit-*`. */
  readonly rateLimited: RateLimited | undefined;

  constructor(
    kind: ErrorKind,
    options: {
      message?: string;
      code?: string;
      details?: ValidationDetails;
      retryAfterSeconds?: number;
      rateLimited?: RateLimited;
    } = {},
  ) {
    super(options.message ?? kind);
    this.kind = kind;
    this.code = options.code;
    this.details = options.details;
    this.rateLimited = options.rateLimited;
    this.retryAfterSeconds = options.retryAfterSeconds ?? options.rateLimited?.retryAfterSeconds;
  }
}

export const badRequest = (message: string) => new ApiError('bad_request', { message });
export const unauthorized = () => new ApiError('unauthorized');
export const forbidden = (code: string) => new ApiError('forbidden', { code });
export const notFound = (resource: string) => new ApiError('not_found', { code: `${resource}_not_found` });
export const notAllowed = (code: string) => new ApiError('not_allowed', { code });
/** The request collides with the resource's state: another request changed it, or it must change first. */
export const conflict = (code: string, message: string, retryAfterSeconds?: number) =>
  new ApiError('conflict', { code, message, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
export const payloadTooLarge = (message: string) => new ApiError('payload_too_large', { message });
export const validationFailed = (details: ValidationDetails) => new ApiError('validation', { details });
export const unavailable = (message: string) => new ApiError('unavailable', { message });
export const tooManyRequests = (message: string, rateLimited: RateLimited) =>
  new ApiError('too_many_requests', { code: 'rate_limited', message, rateLimited });
