import { z } from 'zod';
import { badRequest, validationFailed, type ValidationDetails } from './errors.ts';

/**
 * Every request body and query is read by a zod schema, which also documents it: the OpenAPI document
 * (shared/runtime/openapi.ts) is generated from the same schemas. This module holds what they share: the registry
 * of the document's components, and the one place where a schema's refusals become Lago's errors.
 *
 * A refusal's message is Lago's code for the field refused. Unless the schema names a more exact one (`refusedAs`,
 * `refuse`), a field absent or null is `value_is_mandatory`, and anything else wrong with it `value_is_invalid`.
 * A body that is not an object, or Lago's wrapper object (`webhook_endpoint`) missing, is a 400 instead
 * (`unreadable`), as Rails answers a missing `params.require`.
 */

/** Lago's validation codes, and those of the fields beyond Lago. */
export type LagoCode =
  | 'value_is_mandatory'
  | 'value_is_invalid'
  | 'url_is_invalid'
  | 'url_must_use_https'
  | 'address_is_not_public'
  | 'address_is_this_service'
  | 'header_name_is_invalid'
  | 'header_name_is_reserved'
  | 'header_name_is_duplicated'
  | 'header_value_is_invalid'
  | 'header_value_is_too_long'
  | 'too_many_headers'
  | 'too_many_values'
  | 'invalid_date'
  | 'must_be_after_from_date'
  | `window_exceeds_${number}_days`;

/** The document's named components (request and response bodies). */
export const components = z.registry<{ id: string }>();
/** What a component is, and examples of it, by id (field descriptions come from `.describe()`). */
export const documentation = new Map<string, { description?: string; examples?: unknown[] }>();

export function named<T extends z.ZodType>(
  id: string,
  schema: T,
  docs: { description?: string; examples?: z.input<T>[] } = {},
): T {
  components.add(schema, { id });
  documentation.set(id, docs);
  return schema;
}

/** A field whose refusals are `code`, but for an absent or null value, which stays `value_is_mandatory`. */
export const refusedAs = (code: LagoCode) => ({
  error: (issue: z.core.$ZodRawIssue) => (issue.input === undefined || issue.input === null ? undefined : code),
});

/** Refuses the value a transform or refinement is reading with `code`. */
export function refuse(ctx: z.core.$RefinementCtx, code: LagoCode): never {
  ctx.addIssue(code);
  return z.NEVER;
}

// A message with this mark refuses the request as a whole (a 400), not one of its fields.
const UNREADABLE = 'BadRequest: ';

/** An object schema's refusal when it does not get an object at all: Lago's 400 `BadRequest: <sentence>`. */
export const unreadable = (sentence: string) => ({ error: `${UNREADABLE}${sentence}` });

/** A body whose fields sit in the object `key` (Lago's `{"webhook_endpoint": {...}}`); read it with `parseWrapped`. */
export function wrapped<K extends string, F extends z.ZodObject>(key: K, fields: F) {
  const inner = z.object(fields.shape as F['shape'], unreadable(`param is missing or the value is empty: ${key}`));
  return z.object({ [key]: inner } as Record<K, typeof inner>);
}

/**
 * Lists in a query, whose values are read from every `name` and `name[]` parameter. A list used in a query schema
 * as `queryList` made it; one wrapped again (`.describe()`) gets the first value only, never a crash.
 */
const lists = new WeakSet<z.ZodType>();

/** Values a query's list may hold: each becomes an index partition or a filter term. */
const MAX_LIST_VALUES = 20;

/**
 * A list in a query: repeated (`statuses[]=a&statuses[]=b`) or comma-separated (`statuses=a,b`), values trimmed and
 * de-duplicated, at most MAX_LIST_VALUES of them (`too_many_values`); none at all is absent.
 */
export function queryList<T extends z.ZodType<string>>(item: T, description: string) {
  const schema = z
    .preprocess(
      (raw: unknown) => {
        const given = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
        const values = [...new Set(given.flatMap((v) => String(v).split(',')).map((v) => v.trim()))];
        const present = values.filter((v) => v !== '');
        return present.length > 0 ? present : undefined;
      },
      z
        .array(item)
        .max(MAX_LIST_VALUES, { error: 'too_many_values' satisfies LagoCode })
        .optional(),
    )
    .describe(`${description}: repeated as \`[]\` parameters or comma-separated; at most ${MAX_LIST_VALUES} values`);
  lists.add(schema);
  return schema;
}

/** A body checked against its schema, refusals in Lago's shape. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return check(schema, body, 1);
}

/** A body made by `wrapped(key, …)`, checked: refusals name the fields inside the wrapper; answers those fields. */
export function parseWrapped<K extends string, T extends z.ZodType<Record<K, unknown>>>(
  key: K,
  schema: T,
  body: unknown,
): z.output<T>[K] {
  return check(schema, body, 2)[key];
}

/**
 * A query checked against its schema (an object of its parameters): a parameter absent or empty is absent; a list
 * (`queryList`) gets all its values, any other parameter its first.
 */
export function parseQuery<T extends z.ZodObject>(schema: T, params: URLSearchParams): z.output<T> {
  const query = Object.fromEntries(
    Object.entries(schema.shape).map(([name, field]) => [
      name,
      lists.has(field) ? [...params.getAll(`${name}[]`), ...params.getAll(name)] : params.get(name) || undefined,
    ]),
  );
  return check(schema, query, 1);
}

/**
 * The code of a refusal whose schema names none: the body itself not an object is a 400; a field (`depth` deep: 2
 * when the fields sit in a wrapper) absent or null is mandatory; anything else, in the field or inside it, invalid.
 */
const defaultCode =
  (depth: number): z.core.$ZodErrorMap =>
  (issue) => {
    const at = issue.path?.length ?? 0;
    if (at === 0) return `${UNREADABLE}body must be a JSON object`;
    const absent = issue.input === undefined || issue.input === null;
    return absent && at === depth ? 'value_is_mandatory' : 'value_is_invalid';
  };

function check<T extends z.ZodType>(schema: T, input: unknown, depth: number): z.output<T> {
  const result = schema.safeParse(input, { error: defaultCode(depth) });
  if (result.success) return result.data;
  const whole = result.error.issues.find((issue) => issue.message.startsWith(UNREADABLE));
  if (whole) throw badRequest(whole.message.slice(UNREADABLE.length));
  const details: ValidationDetails = {};
  // Each field refused is named once, with its first refusal.
  for (const issue of result.error.issues) details[String(issue.path[depth - 1] ?? 'base')] ??= [issue.message];
  throw validationFailed(details);
}
