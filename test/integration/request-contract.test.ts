// Every request the OpenAPI document describes, sent to the local service: each body's and query's example is accepted
// (2xx), and variants that break the documented schema (a required field missing, a wrong type, a value out of range)
// get the documented refusal in Lago's shape: a 422 naming that field alone, or a 400 where the request cannot be read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Document } from './contract.ts';
import { createEndpoint, createOrg, request, stack, type Org } from './helpers.ts';
import { Receiver } from '../support/receiver.ts';

interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  examples?: unknown[];
}
interface Parameter {
  name: string;
  in: string;
  schema: JsonSchema;
  example?: unknown;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, unknown>;
}

/** A request that breaks the schema in one place, and the field a 422 must name (none: the request is a 400). */
interface Variant {
  what: string;
  value: unknown;
  field?: string;
  code?: string;
}

let document: Document & { paths: Record<string, Record<string, Operation>> };
let org: Org;
let endpointId: string;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  document = (await request<typeof document>('GET', '/api/v1/openapi.json')).body;
  org = await createOrg('Request contract');
  endpointId = await createEndpoint(org, { webhook_url: receiver.url });
});

afterAll(async () => {
  await receiver.stop();
});

const resolve = (schema: JsonSchema): JsonSchema =>
  schema.$ref ? resolve(document.components.schemas[schema.$ref.split('/').pop()!] as JsonSchema) : schema;
/** The schema's alternatives, null left out. */
const branches = (schema: JsonSchema): JsonSchema[] =>
  (schema.anyOf ?? [schema]).map(resolve).filter((branch) => branch.type !== 'null');
const jsonType = (value: unknown) => (Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value);
const isWrapper = (schema: JsonSchema) => schema.type === 'object' && schema.properties !== undefined;

/** Values the schema's one non-null alternative refuses by its range: length, bounds, enum, pattern, item count. */
function outOfRange(schema: JsonSchema, example: unknown): [string, unknown][] {
  const [branch] = branches(schema);
  if (!branch) return [];
  const found: [string, unknown][] = [];
  if (branch.enum) found.push(['not in the enum', 'not-a-member']);
  if (branch.pattern) found.push([`not matching ${branch.pattern}`, '!']);
  if (branch.maxLength !== undefined) found.push(['too long', 'x'.repeat(branch.maxLength + 1)]);
  if (branch.minLength) found.push(['too short', 'x'.repeat(branch.minLength - 1)]);
  if (branch.minimum !== undefined) found.push(['below the minimum', branch.minimum - 1]);
  if (branch.maximum !== undefined && branch.maximum < Number.MAX_SAFE_INTEGER)
    found.push(['above the maximum', branch.maximum + 1]);
  const items = Array.isArray(example) ? example : [];
  if (branch.minItems) found.push(['too few items', items.slice(0, branch.minItems - 1)]);
  // Distinct values (a query's list drops repeats), or copies of an example object (a batch's events).
  if (branch.maxItems !== undefined)
    found.push([
      'too many items',
      Array.from({ length: branch.maxItems + 1 }, (_, i) => (typeof items[0] === 'object' ? items[0] : `v${i}`)),
    ]);
  if (branch.items?.enum) found.push(['an item not in the enum', ['not-a-member']]);
  if (branch.items?.pattern) found.push(['an item not matching the pattern', ['!']]);
  return found;
}

/** A value of a JSON type the schema does not take. */
function wrongType(schema: JsonSchema): unknown {
  const taken = new Set(
    (schema.anyOf ?? [schema])
      .map(resolve)
      .flatMap((b) => [b.type ?? []].flat())
      .map((t) => (t === 'integer' ? 'number' : t)),
  );
  return [12345, 'not-valid', true, ['x'], { x: 1 }].find((value) => !taken.has(jsonType(value)));
}

const withField = (body: unknown, path: string[], value: unknown): unknown => {
  const copy = structuredClone(body) as Record<string, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
};

/** The body's variants, field by field; a wrapper object's own fields are named without it, as Lago does. */
function bodyVariants(schema: JsonSchema, example: unknown, path: string[] = []): Variant[] {
  const object = resolve(schema);
  const sample = path.reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], example);
  return Object.entries(object.properties ?? {}).flatMap(([name, property]): Variant[] => {
    const at = [...path, name];
    const field = resolve(property);
    const required = object.required?.includes(name);
    if (isWrapper(field))
      return [
        ...(required ? [{ what: `${name} missing`, value: withField(example, at, undefined) }] : []),
        { what: `${name} not an object`, value: withField(example, at, 'x') },
        ...bodyVariants(field, example, at),
      ];
    const value = (sample as Record<string, unknown>)[name];
    return [
      ...(required
        ? [
            {
              what: `${name} missing`,
              value: withField(example, at, undefined),
              field: name,
              code: 'value_is_mandatory',
            },
          ]
        : []),
      { what: `${name} of the wrong type`, value: withField(example, at, wrongType(field)), field: name },
      ...outOfRange(field, value).map(([what, bad]) => ({
        what: `${name} ${what}`,
        value: withField(example, at, bad),
        field: name,
      })),
    ];
  });
}

/** The organization's own ids in place of the examples' ones. */
function ours(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ours);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      key === 'organization_id' ? org.id : key === 'webhook_endpoint_id' ? endpointId : ours(v),
    ]),
  );
}

// Only endpoint routes and the operator's organization routes take a body or a query with an id in their path.
const pathOf = (template: string) =>
  template.replace('{lago_id}', template.startsWith('/admin/v1/organizations/') ? org.id : endpointId);
const tokenFor = (path: string) => (path.startsWith('/admin/') ? stack().adminToken : org.apiKey);
const send = (method: string, path: string, body?: unknown) =>
  request<Record<string, unknown>>(method, path, { token: tokenFor(path), ...(body !== undefined ? { body } : {}) });

function queryString(values: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (Array.isArray(value)) for (const v of value) params.append(`${name}[]`, String(v));
    else params.append(name, String(value));
  }
  return params.toString();
}

/** What may be created by an accepted example is removed, so examples never pile up against the organization's limits. */
async function tidy(method: string, template: string, body: Record<string, unknown>) {
  if (method === 'POST' && template === '/api/v1/webhook_endpoints') {
    const id = (body.webhook_endpoint as { lago_id: string }).lago_id;
    expect((await send('DELETE', `/api/v1/webhook_endpoints/${id}`)).status).toBe(200);
  }
}

function expectRefused(
  res: { status: number; body: Record<string, unknown> },
  variant: Variant,
  documents422: boolean,
  where: string,
) {
  const what = `${where}: ${variant.what} -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`;
  if (variant.field === undefined || !documents422) {
    expect(res.status, what).toBe(400);
    expect(res.body, what).toEqual({ status: 400, error: expect.stringMatching(/^BadRequest: /) });
    return;
  }
  expect(res.status, what).toBe(422);
  expect(res.body, what).toMatchObject({ status: 422, error: 'Unprocessable Entity', code: 'validation_errors' });
  const details = res.body.error_details as Record<string, string[]>;
  expect(Object.keys(details), what).toEqual([variant.field]);
  if (variant.code) expect(details[variant.field], what).toEqual([variant.code]);
}

const operations = () =>
  Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), template, op })),
  );

describe('documented request bodies', () => {
  it('accept their examples, and refuse what breaks their schema in the documented way', async () => {
    const bodies = operations().filter(({ op }) => op.requestBody);
    expect(bodies.length).toBeGreaterThan(8);
    let refused = 0;
    for (const { method, template, op } of bodies) {
      const where = `${method} ${template}`;
      const schema = op.requestBody!.content['application/json'].schema;
      const examples = resolve(schema).examples;
      expect(examples?.length, `${where} has an example`).toBeGreaterThan(0);
      const path = pathOf(template);
      for (const example of examples!.map(ours)) {
        const accepted = await send(method, path, example);
        expect(accepted.status, `${where} ${JSON.stringify(accepted.body).slice(0, 300)}`).toBeGreaterThanOrEqual(200);
        expect(accepted.status, where).toBeLessThan(300);
        // A batch is accepted as a whole, and its example's events each on their own.
        for (const result of (accepted.body.results ?? []) as { status: number }[])
          expect(result.status, where).toBe(202);
        await tidy(method, template, accepted.body);
        const variants = [{ what: 'a body that is not an object', value: [example] }, ...bodyVariants(schema, example)];
        for (const variant of variants)
          expectRefused(await send(method, path, variant.value), variant, '422' in op.responses, where);
        refused += variants.length;
      }
      if (!op.requestBody!.required)
        expect((await send(method, path)).status, `${where} without a body`).toBeLessThan(300);
    }
    // Every field of every body was broken in one way or more.
    expect(refused).toBeGreaterThan(60);
  });
});

describe('documented queries', () => {
  it('accept their examples, and refuse what breaks their parameters in the documented way', async () => {
    const queries = operations().filter(({ op }) => op.parameters?.some((p) => p.in === 'query'));
    expect(queries.length).toBeGreaterThan(2);
    let refused = 0;
    for (const { method, template, op } of queries) {
      const where = `${method} ${template}`;
      const parameters = op.parameters!.filter((p) => p.in === 'query');
      const example = Object.fromEntries(parameters.filter((p) => 'example' in p).map((p) => [p.name, p.example]));
      expect(Object.keys(example).length, `${where} has an example`).toBeGreaterThan(0);
      const path = pathOf(template);
      const accepted = await send(method, `${path}?${queryString(example)}`);
      expect(accepted.status, `${where} ${JSON.stringify(accepted.body).slice(0, 300)}`).toBe(200);
      for (const parameter of parameters) {
        const { schema } = parameter;
        const variants: Variant[] = [
          ...(schema.type === 'integer' ? [{ what: 'not a number', value: 'abc', field: parameter.name }] : []),
          ...outOfRange(schema, example[parameter.name]).map(([what, value]) => ({
            what,
            value,
            field: parameter.name,
          })),
        ];
        for (const variant of variants) {
          const res = await send(method, `${path}?${queryString({ ...example, [parameter.name]: variant.value })}`);
          expectRefused(res, { ...variant, what: `${parameter.name} ${variant.what}` }, '422' in op.responses, where);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(10);
  });
});

it("delivers what the accepted examples sent: the test event's, the publish's and the batch's webhooks", async () => {
  const delivered = await receiver.waitFor(3);
  expect(delivered).toHaveLength(3);
  expect(delivered.filter((r) => r.body.includes('"INV-001"'))).toHaveLength(1);
  expect(delivered.filter((r) => r.body.includes('"inv_2"'))).toHaveLength(1);
});
