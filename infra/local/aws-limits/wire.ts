import { randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Where a model of AWS's limits sits on an SDK client: at the wire, below the SDK's retries, like
 * an HTTP proxy in front of the emulator but inside the process. Per attempt, the model reads the
 * JSON request the SDK is about to sign and may let it through, send a smaller one (a batch
 * without its refused items), or answer it itself (a throttle, exactly as AWS words one) without it
 * reaching the emulator. The SDK parses that answer like any other, so it classifies a throttle
 * and retries it with its own backoff. Three middlewares:
 *   - per call (outermost): how many of the call's attempts the model refused;
 *   - per attempt, before signing: the model's verdict; a rewritten request is then signed as is;
 *   - per attempt, innermost: the model's answer instead of the emulator's, or the emulator's
 *     answer handed to the model (to charge what was consumed) and passed on as it returns it.
 */

export type Json = Record<string, unknown>;

export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: Json;
}

export interface Verdict {
  /** The request to send instead of the caller's. */
  body?: Json;
  /** The answer to give without sending anything: the request is refused before it is applied. */
  answer?: WireAnswer;
  /** Sees the emulator's answer; returns the body the caller gets. */
  settle?(answer: WireAnswer): Json | Promise<Json>;
  /** No answer came (the connection failed). */
  abandon?(): void;
}

export interface CallOutcome {
  /** Attempts the model answered itself. */
  refused: number;
  /** Whether the last attempt was one of them. */
  lastRefused: boolean;
  failed: boolean;
}

export interface WireModel {
  /** Whether the model looks at this operation: the action of the X-Amz-Target header (PutItem, ReceiveMessage). */
  handles(operation: string): boolean;
  admit(operation: string, body: Json): Promise<Verdict | undefined>;
  /** A call ended, after the SDK's retries. */
  ended?(outcome: CallOutcome): void;
}

interface WireRequest {
  headers: Record<string, string>;
  body?: unknown;
}

interface WireResponse {
  statusCode: number;
  headers: Record<string, string>;
  body?: unknown;
}

const JSON_TYPE = 'application/x-amz-json-1.0';

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseJson(bytes: string | Uint8Array): Json | undefined {
  try {
    // TextDecoder, not Buffer.from: the SDK's body is a Uint8Array whose valueOf() warns.
    const parsed: unknown = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The same request with another JSON body (the SDK reuses its request between attempts: it is not changed). */
function withBody(request: WireRequest, body: Json): WireRequest {
  const text = JSON.stringify(body);
  return { ...request, headers: { ...request.headers, 'content-length': String(Buffer.byteLength(text)) }, body: text };
}

/** An HTTP response carrying `body`, with the headers that describe it brought up to date. */
function withJson(status: number, headers: Record<string, string>, body: Json): WireResponse {
  const bytes = Buffer.from(JSON.stringify(body));
  const fixed: Record<string, string> = { ...headers, 'content-length': String(bytes.length) };
  if ('x-amz-crc32' in fixed) fixed['x-amz-crc32'] = String(crc32(bytes));
  return { statusCode: status, headers: fixed, body: bytes };
}

/** An answer of the model's own, with the headers AWS sends with one. */
export function answer(status: number, body: Json, headers: Record<string, string> = {}): WireAnswer {
  return { status, headers: { 'content-type': JSON_TYPE, 'x-amzn-requestid': randomUUID(), ...headers }, body };
}

async function readBody(body: unknown): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body);
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The emulator's answer handed to the verdict; a body that is not JSON passes unchanged. */
async function settled(response: WireResponse, settle: NonNullable<Verdict['settle']>): Promise<WireResponse> {
  const bytes = await readBody(response.body);
  const body = parseJson(bytes);
  if (!body) return { ...response, body: bytes };
  const { statusCode: status, headers } = response;
  return withJson(status, headers, await settle({ status, headers, body }));
}

type Stack = DynamoDBClient['middlewareStack'];
/** A middleware below the serializer (the last `add` overload); the one placed before signing has the same shape. */
type WireMiddleware = Parameters<Stack['add']>[0];

/** Puts `model` on the client's middleware stack under names starting with `name`. */
export function installWireModel(client: DynamoDBClient | SQSClient, name: string, model: WireModel): void {
  // Both clients' stacks take the same middlewares; the DynamoDB stack's type stands for both.
  const stack = client.middlewareStack as Stack;
  const calls = new WeakMap<object, CallOutcome>();
  const verdicts = new WeakMap<object, Verdict>();
  stack.add(
    (next, context) => async (args) => {
      const call: CallOutcome = { refused: 0, lastRefused: false, failed: false };
      calls.set(context, call);
      try {
        return await next(args);
      } catch (error) {
        call.failed = true;
        throw error;
      } finally {
        model.ended?.(call);
      }
    },
    { step: 'initialize', priority: 'high', name: `${name}Calls`, override: true },
  );
  const admission: WireMiddleware = (next, context) => async (args) => {
    const request = args.request as WireRequest;
    const operation = request.headers?.['x-amz-target']?.split('.').pop() ?? '';
    const readable = typeof request.body === 'string' || request.body instanceof Uint8Array;
    const body = readable && model.handles(operation) ? parseJson(request.body as string | Uint8Array) : undefined;
    const verdict = body ? await model.admit(operation, body) : undefined;
    const call = calls.get(context);
    if (call) {
      call.lastRefused = verdict?.answer !== undefined;
      if (call.lastRefused) call.refused++;
    }
    if (!verdict) return next(args);
    verdicts.set(context, verdict);
    return next(verdict.body ? { ...args, request: withBody(request, verdict.body) } : args);
  };
  stack.addRelativeTo(admission, {
    relation: 'before',
    toMiddleware: 'httpSigningMiddleware',
    name: `${name}Admission`,
    override: true,
  });
  stack.add(
    (next, context) => async (args) => {
      const verdict = verdicts.get(context);
      verdicts.delete(context);
      if (!verdict) return next(args);
      if (verdict.answer)
        return { response: withJson(verdict.answer.status, verdict.answer.headers, verdict.answer.body) };
      let result;
      try {
        result = await next(args);
      } catch (error) {
        verdict.abandon?.();
        throw error;
      }
      if (!verdict.settle) return result;
      return { ...result, response: await settled(result.response as WireResponse, verdict.settle) };
    },
    { step: 'deserialize', priority: 'low', name: `${name}Answer`, override: true },
  );
}
