import { z } from 'zod';

/**
 * Page sizes, the same on every list (webhook endpoints, webhooks). As Lago: absent means 20, and a
 * size above the largest is served at the largest rather than refused (Lago's Kaminari serves any
 * size; this service stops at 100, and the answer's `per_page` says what was used). Unlike Lago,
 * anything that is not a positive whole number is a 422, not silently the default.
 */
export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 100;

/** The highest page number a page-numbered list accepts. */
const MAX_PAGE = 1_000_000;

/**
 * A positive whole number from a query parameter, digits only (not `1e3`, ` 5` or `0x10`); a larger one than `max`
 * is served at `max`, so the document gives no maximum.
 */
const positive = (max: number) =>
  z
    .preprocess(
      (raw) => (typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : raw),
      z.number().min(1).meta({ type: 'integer' }),
    )
    .transform((n) => Math.min(n, max));

export const perPage = positive(MAX_PER_PAGE)
  .default(DEFAULT_PER_PAGE)
  .describe(`${DEFAULT_PER_PAGE} by default; a larger size than ${MAX_PER_PAGE} is served at ${MAX_PER_PAGE}`);

/** A page-numbered list's query (the endpoints list, as Lago's). */
export const PageQuery = z
  .object({ page: positive(MAX_PAGE).default(1).describe('From 1'), per_page: perPage })
  .meta({ examples: [{ page: 1, per_page: 20 }] });

export interface PageRequest {
  page: number;
  perPage: number;
}

export function pageMeta(page: PageRequest, total: number) {
  const totalPages = Math.ceil(total / page.perPage);
  return {
    current_page: page.page,
    next_page: page.page < totalPages ? page.page + 1 : null,
    prev_page: page.page > 1 ? page.page - 1 : null,
    total_pages: totalPages,
    total_count: total,
  };
}
