// Page sizes and numbers, the same on every list: absent is the default, above the largest is the largest, anything else is invalid.
import { describe, expect, it } from 'vitest';
import { ApiError, type ValidationDetails } from '#shared/domain/errors.ts';
import { DEFAULT_PER_PAGE, MAX_PER_PAGE, pageMeta, PageQuery } from '#shared/domain/pagination.ts';
import { parseQuery } from '#shared/domain/validation.ts';

/** The page and size read, or the 422's details. */
const read = (query: string): { page: number; perPage: number; details: ValidationDetails } => {
  try {
    const { page, per_page: perPage } = parseQuery(PageQuery, new URLSearchParams(query));
    return { page, perPage, details: {} };
  } catch (error) {
    if (!(error instanceof ApiError) || error.kind !== 'validation') throw error;
    return { page: 0, perPage: 0, details: error.details ?? {} };
  }
};

describe('pagination', () => {
  it('takes the default when absent or empty', () => {
    expect(read('')).toEqual({ perPage: DEFAULT_PER_PAGE, page: 1, details: {} });
    expect(read('per_page=&page=')).toEqual({ perPage: DEFAULT_PER_PAGE, page: 1, details: {} });
  });

  it('serves a size above the largest at the largest, as Lago serves any size', () => {
    expect(read('per_page=100').perPage).toBe(MAX_PER_PAGE);
    expect(read('per_page=101').perPage).toBe(MAX_PER_PAGE);
    expect(read(`per_page=${'9'.repeat(16)}`)).toEqual({ perPage: MAX_PER_PAGE, page: 1, details: {} });
  });

  it('refuses what is not a positive whole number', () => {
    for (const raw of ['0', '-1', '1.5', 'ten', '1e3', '%00', ' 5', '9'.repeat(17)]) {
      expect(read(`per_page=${raw}&page=${raw}`).details, raw).toEqual({
        per_page: ['value_is_invalid'],
        page: ['value_is_invalid'],
      });
    }
  });
});

describe('pageMeta', () => {
  it('describes the first, a middle and the last page', () => {
    expect(pageMeta({ page: 1, perPage: 10 }, 25)).toEqual({
      current_page: 1,
      next_page: 2,
      prev_page: null,
      total_pages: 3,
      total_count: 25,
    });
    expect(pageMeta({ page: 2, perPage: 10 }, 25)).toEqual({
      current_page: 2,
      next_page: 3,
      prev_page: 1,
      total_pages: 3,
      total_count: 25,
    });
    expect(pageMeta({ page: 3, perPage: 10 }, 25)).toEqual({
      current_page: 3,
      next_page: null,
      prev_page: 2,
      total_pages: 3,
      total_count: 25,
    });
  });

  it('describes an empty list and a page past the end', () => {
    expect(pageMeta({ page: 1, perPage: 20 }, 0)).toEqual({
      current_page: 1,
      next_page: null,
      prev_page: null,
      total_pages: 0,
      total_count: 0,
    });
    expect(pageMeta({ page: 5, perPage: 10 }, 20)).toEqual({
      current_page: 5,
      next_page: null,
      prev_page: 4,
      total_pages: 2,
      total_count: 20,
    });
  });
});
