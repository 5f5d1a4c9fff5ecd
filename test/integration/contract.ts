import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * Checks responses against the service's OpenAPI 3.1 document (JSON Schema 2020-12, with Ajv):
 * the route and status must be documented, and the body must match the documented schema. The
 * integration helpers run every response they receive through it.
 */

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => void;

interface MediaType {
  schema?: unknown;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
export interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

const DOCUMENT_ID = 'https://lago-webhooks.invalid/openapi.json';
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

export class ContractError extends Error {}

class Contract {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: { path: string; pattern: RegExp; params: number }[];
  private readonly document: Document;

  constructor(document: Document) {
    this.document = document;
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    // The whole document, so `#/components/schemas/...` references resolve inside it.
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    this.templates = Object.keys(document.paths)
      .map((path) => ({
        path,
        pattern: new RegExp(
          `^${path
            .split('/')
            .map((s) => (/^\{\w+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
            .join('/')}$`,
        ),
        params: (path.match(/\{/g) ?? []).length,
      }))
      // The most specific template wins, as with the gateway (hmac_key before {lago_id}).
      .sort((a, b) => a.params - b.params);
  }

  private validator(ref: string): ValidateFunction {
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${ref}` });
      this.compiled.set(ref, validate);
    }
    return validate;
  }

  /** Throws a ContractError telling what does not match; returns quietly for a conforming response. */
  check(method: string, url: string, status: number, contentType: string | null, text: string): void {
    const path = new URL(url, 'http://x').pathname.replace(/(.)\/+$/, '$1');
    const where = `${method} ${path} → ${status}`;
    // The console's static files are not part of the API.
    if (path === '/console' || path.startsWith('/console/')) return;
    const template = this.templates.find(
      (t) => t.pattern.test(path) && this.document.paths[t.path]![method.toLowerCase()],
    );
    // No route: the gateway's Lago-shaped refusals (404 route_not_found, 400 for an unreadable target).
    const schemaRef = template
      ? this.responseSchema(template.path, method, status, contentType, where)
      : pointer('', 'components', 'schemas', 'LagoError');
    if (schemaRef === undefined) {
      if (text !== '')
        throw new ContractError(
          `${where}: the document gives this response no body, but it has one: ${text.slice(0, 200)}`,
        );
      return;
    }
    let body: unknown = text;
    if (!contentType?.startsWith('text/plain')) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new ContractError(`${where}: the body is not JSON (${contentType}): ${text.slice(0, 200)}`);
      }
    }
    const validate = this.validator(schemaRef);
    if (!validate(body)) {
      const errors = (validate.errors ?? [])
        .map(
          (e) =>
            `${e.instancePath || '(body)'} ${e.message ?? ''}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
        )
        .join('; ');
      throw new ContractError(
        `${where}: the body does not match the OpenAPI document: ${errors}\nbody: ${text.slice(0, 500)}`,
      );
    }
  }

  private responseSchema(
    path: string,
    method: string,
    status: number,
    contentType: string | null,
    where: string,
  ): string | undefined {
    const operation = this.document.paths[path]![method.toLowerCase()]!;
    const key =
      String(status) in operation.responses ? String(status) : 'default' in operation.responses ? 'default' : undefined;
    if (!key)
      throw new ContractError(
        `${where}: the document does not list status ${status} for ${method} ${path} (it lists ${Object.keys(operation.responses).join(', ')})`,
      );
    const content = operation.responses[key]!.content;
    if (!content) return undefined;
    const mediaType = (contentType ?? '').split(';')[0]!.trim();
    if (!content[mediaType])
      throw new ContractError(
        `${where}: the content type ${contentType} is not documented (${Object.keys(content).join(', ')})`,
      );
    return pointer('', 'paths', path, method.toLowerCase(), 'responses', key, 'content', mediaType, 'schema');
  }
}

let shared: Promise<Contract> | undefined;

/** The contract of the stack at `baseUrl`, read once from GET /api/v1/openapi.json. */
export function contractOf(baseUrl: string): Promise<Contract> {
  shared ??= fetch(`${baseUrl}/api/v1/openapi.json`)
    .then(async (response) => {
      if (response.status !== 200) throw new Error(`GET /api/v1/openapi.json: ${response.status}`);
      return new Contract((await response.json()) as Document);
    })
    .catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
  return shared;
}
