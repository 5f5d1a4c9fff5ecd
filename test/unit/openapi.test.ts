// The OpenAPI document: a valid OpenAPI 3.1 document (checked by a validator of the specification), one operation per
// organization and operator route of the route table and none other, and bodies generated from the zod schemas; and the
// test events' examples: one per category of the catalog, each a body the publish route accepts.
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#shared/runtime/routes.ts';
import { WEBHOOK_EVENT_TYPES } from '#shared/domain/catalog/event-catalog.ts';
import { EXAMPLE_CATEGORIES, exampleFor } from '#shared/domain/catalog/event-examples.ts';
import { WEBHOOK_TYPES } from '#shared/domain/catalog/event-types.ts';
import { ApiError } from '#shared/domain/errors.ts';
import { openApiDocument, undescribedRoutes } from '#shared/runtime/openapi.ts';
import { parseBody } from '#shared/domain/validation.ts';
import { CreateEndpointRequest, UpdateEndpointRequest } from '#shared/domain/endpoints/schemas.ts';
import { OrganizationRequest, RotateRequest } from '#shared/domain/organizations/schemas.ts';
import {
  BatchEnvelope,
  PublishRequest,
  RecoverRequest,
  RedriveRequest,
  TestEventRequest,
} from '#shared/domain/webhooks/schemas.ts';
import { lagoError } from '#shared/runtime/http.ts';

describe('the OpenAPI document', () => {
  const document = openApiDocument(ROUTES);

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every /api/v1 and /admin/v1 route of the route table, and nothing else', () => {
    const described = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const expected = ROUTES.filter((r) => r.path.startsWith('/api/v1/') || r.path.startsWith('/admin/v1/')).map(
      (r) => `${r.method} ${r.path}`,
    );
    expect(described.sort()).toEqual(expected.sort());
    expect(undescribedRoutes(ROUTES)).toEqual([]);
    // A route added without a description still appears, with its errors only, so the document never fails to build.
    const extra = [...ROUTES, { method: 'GET', path: '/api/v1/undocumented', fn: 'api' } as const];
    expect(undescribedRoutes(extra)).toEqual(['GET /api/v1/undocumented']);
    expect(openApiDocument(extra).paths['/api/v1/undocumented']).toMatchObject({
      get: { summary: 'Not described yet' },
    });
  });

  it("gives every operation Lago's error shapes, an API key but for the document itself, and its request body", () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(operations) as [
        string,
        { security: unknown[]; responses: Record<string, unknown>; requestBody?: unknown },
      ][]) {
        for (const status of ['400', '413', '500', '503'])
          expect(op.responses[status], `${method} ${path} ${status}`).toBeDefined();
        if (path === '/api/v1/openapi.json') expect(op.security).toEqual([]);
        else expect(op.security).toEqual([{ [path.startsWith('/admin/') ? 'operator' : 'organization']: [] }]);
      }
    }
    const test = document.paths['/api/v1/webhook_endpoints/{lago_id}/test']!.post as {
      requestBody: unknown;
      responses: Record<string, unknown>;
    };
    expect(test.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/TestEventRequest' } } },
    });
    expect(test.responses['422']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ValidationError' } } },
    });
    expect(document.components.schemas.TestEventRequest).toMatchObject({
      required: ['webhook_type'],
      properties: { webhook_type: { enum: [...WEBHOOK_TYPES] } },
    });
  });
});

describe('the requests in the document', () => {
  const document = openApiDocument(ROUTES);
  const schemas = document.components.schemas as Record<string, Record<string, unknown>>;
  const requests = Object.keys(schemas).filter((id) => id.endsWith('Request'));

  it('give every request body examples that match its JSON Schema', () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: document.components });
    expect(requests.length).toBeGreaterThan(5);
    for (const id of requests) {
      const examples = schemas[id]!.examples as unknown[] | undefined;
      expect(examples?.length, id).toBeGreaterThan(0);
      const validate = ajv.compile({ $ref: `doc#/components/schemas/${id}` });
      for (const example of examples ?? [])
        expect(validate(example), `${id}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('describe every field of a request with a type, an enum or a reference', () => {
    const undescribed = (schema: Record<string, unknown>, at: string): string[] => {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.entries(properties).flatMap(([name, field]) =>
        ['type', 'anyOf', '$ref', 'enum'].some((key) => key in field)
          ? undescribed(field, `${at}.${name}`)
          : [`${at}.${name}`],
      );
    };
    expect(requests.flatMap((id) => undescribed(schemas[id]!, id))).toEqual([]);
  });

  it('give each query parameter a type, and each query an example', () => {
    for (const [path, operations] of Object.entries(document.paths))
      for (const [method, op] of Object.entries(operations) as [string, { parameters?: Record<string, unknown>[] }][]) {
        const query = (op.parameters ?? []).filter((p) => p.in === 'query');
        for (const parameter of query)
          expect((parameter.schema as { type?: string }).type, `${method} ${path}`).toBeDefined();
        if (query.length)
          expect(
            query.some((p) => 'example' in p),
            `${method} ${path}`,
          ).toBe(true);
      }
  });
});

describe('parseBody', () => {
  const refusal = (body: unknown) => {
    try {
      parseBody(TestEventRequest, body);
    } catch (error) {
      if (error instanceof ApiError) return lagoError(error);
    }
    return undefined;
  };

  it("turns the schema's refusals into Lago's shape", () => {
    expect(parseBody(TestEventRequest, { webhook_type: 'invoice.created', extra: 1 })).toEqual({
      webhook_type: 'invoice.created',
    });
    expect(refusal({})).toEqual({
      status: 422,
      body: {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { webhook_type: ['value_is_mandatory'] },
      },
    });
    expect(refusal({ webhook_type: null })?.body.error_details).toEqual({ webhook_type: ['value_is_mandatory'] });
    expect(refusal({ webhook_type: 'nope' })?.body.error_details).toEqual({ webhook_type: ['value_is_invalid'] });
    expect(refusal({ webhook_type: 3 })?.body.error_details).toEqual({ webhook_type: ['value_is_invalid'] });
    expect(refusal('invoice.created')).toEqual({
      status: 400,
      body: { status: 400, error: 'BadRequest: body must be a JSON object' },
    });
  });

  it('answers a body that is not an object with a 400 on every request, never a crash', () => {
    const bodies = [
      CreateEndpointRequest,
      UpdateEndpointRequest,
      PublishRequest,
      BatchEnvelope,
      RecoverRequest,
      TestEventRequest,
      OrganizationRequest,
      RotateRequest,
      RedriveRequest,
    ];
    for (const schema of bodies)
      for (const body of [null, [], 'x', 1, true]) {
        const error = (() => {
          try {
            parseBody(schema, body);
          } catch (e) {
            return e;
          }
        })();
        expect(error, JSON.stringify(body)).toBeInstanceOf(ApiError);
        expect((error as ApiError).kind).toBe('bad_request');
      }
  });
});

describe('test event examples', () => {
  it('has its own example for every category of the catalog', () => {
    const categories = [...new Set(WEBHOOK_EVENT_TYPES.map((t) => t.category))];
    expect(categories.filter((c) => !EXAMPLE_CATEGORIES.includes(c))).toEqual([]);
  });

  it('gives every type of the catalog a body the publish route accepts', () => {
    for (const type of WEBHOOK_TYPES) {
      const example = exampleFor(type);
      expect(
        PublishRequest.safeParse({
          organization_id: '0190a0a0-0000-7000-8000-000000000000',
          webhook_type: type,
          ...example,
        }).success,
        type,
      ).toBe(true);
      expect(['webhook_type', 'object_type', 'organization_id']).not.toContain(example.object_type);
    }
  });
});
