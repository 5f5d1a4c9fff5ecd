// Covers shared/domain/validation.ts: where zod's refusals become Lago's codes, for plain and wrapped bodies and for queries, including schemas wrapped again by .describe().
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ApiError } from '#shared/domain/errors.ts';
import { parseBody, parseQuery, parseWrapped, queryList, wrapped } from '#shared/domain/validation.ts';

/** The 422's details, or the 400's message. */
function refusal(parse: () => unknown): unknown {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return error.kind === 'validation' ? error.details : error.message;
  }
  throw new Error('accepted');
}

describe('parseBody and parseWrapped', () => {
  const fields = z.object({ a: z.string(), b: z.number().optional() });

  it('names the field refused, mandatory when absent and invalid otherwise', () => {
    expect(refusal(() => parseBody(fields, {}))).toEqual({ a: ['value_is_mandatory'] });
    expect(refusal(() => parseBody(fields, { a: 'x', b: 'y' }))).toEqual({ b: ['value_is_invalid'] });
    expect(refusal(() => parseBody(fields, []))).toBe('body must be a JSON object');
  });

  it('names the fields inside a wrapper, even when the schema is described again', () => {
    for (const schema of [wrapped('thing', fields), wrapped('thing', fields).describe('x')]) {
      expect(refusal(() => parseWrapped('thing', schema, { thing: {} }))).toEqual({ a: ['value_is_mandatory'] });
      expect(refusal(() => parseWrapped('thing', schema, {}))).toBe('param is missing or the value is empty: thing');
      expect(parseWrapped('thing', schema, { thing: { a: 'x' } })).toEqual({ a: 'x' });
    }
  });
});

describe('parseQuery', () => {
  it('reads a list from repeated and comma-separated parameters', () => {
    const schema = z.object({ s: queryList(z.string(), 'statuses') });
    expect(parseQuery(schema, new URLSearchParams('s[]=a&s=b,c&s=a'))).toEqual({ s: ['a', 'b', 'c'] });
  });

  it('reads the first value of a list described again, and never throws for it', () => {
    const schema = z.object({ s: queryList(z.string(), 'statuses').describe('again') });
    expect(parseQuery(schema, new URLSearchParams('s=a,b&s=c'))).toEqual({ s: ['a', 'b'] });
  });
});
