import { validationFailed, type ValidationDetails } from './errors.ts';

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

/** A positive whole number from a query parameter: `fallback` when absent, at most `max`; anything else is recorded in `details`. */
function positive(
  params: URLSearchParams,
  name: string,
  fallback: number,
  max: number,
  details: ValidationDetails,
): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) < 1) {
    details[name] = ['value_is_invalid'];
    return fallback;
  }
  return Math.min(Number(raw), max);
}

export const perPage = (params: URLSearchParams, details: ValidationDetails): number =>
  positive(params, 'per_page', DEFAULT_PER_PAGE, MAX_PER_PAGE, details);

/** A page-numbered list's page and size (the endpoints list, as Lago's); a 422 naming each invalid one. */
export function parsePage(params: URLSearchParams): { page: number; perPage: number } {
  const details: ValidationDetails = {};
  const page = { page: positive(params, 'page', 1, MAX_PAGE, details), perPage: perPage(params, details) };
  if (Object.keys(details).length > 0) throw validationFailed(details);
  return page;
}

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
