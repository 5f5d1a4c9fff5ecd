import { z } from 'zod';
import { isWebhookType } from '../catalog/event-types.ts';
import {
  assertNotOwnListener,
  assertPublicAddress,
  BlockedAddressError,
  isIpLiteral,
  portOf,
  type Cidr,
  type OwnListeners,
} from '../delivery/ssrf.ts';
import type { CustomHeader, SignatureAlgo } from '../model.ts';
import { CONTROL_CHARACTER } from '../text.ts';
import { named, refuse, refusedAs, wrapped } from '../validation.ts';
import { customHeaders } from './headers.ts';
import { isArn, isRoleArn, parseAwsTarget, type AwsDestinationPolicy } from './destinations.ts';

/** The bodies of the endpoint routes, with Lago's rules and codes for each field. */

const MAX_URL_LENGTH = 2048;
const MAX_NAME_LENGTH = 255;
const MAX_RPS = 10_000;

/** Where webhooks may go: the addresses allowed besides public ones, whether plain http is, and the service's own listeners (local mode). */
export interface UrlPolicy {
  allow: readonly Cidr[];
  allowHttp: boolean;
  own?: OwnListeners;
  /** Which AWS destinations (SQS queue or EventBridge bus ARNs) endpoints may name. @default - none: every ARN is refused */
  aws?: AwsDestinationPolicy;
}

/** The address a URL's host literally names (localhost is loopback), or undefined for a name, checked on every delivery once resolved. */
function literalAddress(hostname: string): string | undefined {
  const name = hostname.replace(/\.$/, '');
  const host = name === 'localhost' || name.endsWith('.localhost') ? '127.0.0.1' : name;
  return isIpLiteral(host) ? host : undefined;
}

/** Whether a check of the guard refuses it. */
function refusedBy(check: () => void): boolean {
  try {
    check();
    return false;
  } catch (error) {
    if (!(error instanceof BlockedAddressError)) throw error;
    return true;
  }
}

/**
 * An absolute http(s) URL with a host and no credentials, stored in WHATWG serialization; or the
 * ARN of an SQS queue or an EventBridge bus (destinations.ts: whether the deployment delivers to it
 * is checked with its role, `aws_role_arn`).
 */
const webhookUrl = (policy: UrlPolicy) =>
  z
    .string(refusedAs('url_is_invalid'))
    .refine((raw) => raw.trim() !== '', { error: 'value_is_mandatory' })
    .max(MAX_URL_LENGTH)
    .transform((raw, ctx) => {
      const value = raw.trim();
      // An ARN is not a URL: the SSRF guard has nothing to check in it.
      if (isArn(value)) return parseAwsTarget(value) ? value : refuse(ctx, 'value_is_invalid');
      // The URL parser silently drops tabs and newlines, so they would make look-alike "unique" URLs;
      // a fragment is never sent to the receiver, so it is refused rather than stored.
      const url = CONTROL_CHARACTER.test(value) || value.includes('#') ? null : URL.parse(value);
      if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname || url.username || url.password)
        return refuse(ctx, 'url_is_invalid');
      if (url.protocol === 'http:' && !policy.allowHttp) return refuse(ctx, 'url_must_use_https');
      const address = literalAddress(url.hostname);
      if (address !== undefined && refusedBy(() => assertPublicAddress(address, policy.allow)))
        return refuse(ctx, 'address_is_not_public');
      if (address !== undefined && refusedBy(() => assertNotOwnListener(address, portOf(url), policy.own)))
        return refuse(ctx, 'address_is_this_service');
      // Stored (and compared for uniqueness) as serialized: HTTP://Example.com/./x and http://example.com/x are one endpoint.
      return url.href.length > MAX_URL_LENGTH ? refuse(ctx, 'url_is_invalid') : url.href;
    })
    .describe(
      "http(s) URL; a literal address must be public, and not one of local mode's own ports. Or, beyond Lago, the ARN of an SQS queue (`arn:aws:sqs:<region>:<account>:<name>`) or an EventBridge bus (`arn:aws:events:<region>:<account>:event-bus/<name>`), with `aws_role_arn`",
    );

/** null means every type, [] none; "*" means every type; values trimmed, lowercased, de-duplicated. */
const eventTypes = z
  .array(z.string())
  .transform((raw, ctx) => {
    const values = [...new Set(raw.map((v) => v.trim().toLowerCase()).filter((v) => v !== ''))];
    if (values.includes('*')) return null;
    return values.every(isWebhookType) ? values : refuse(ctx, 'value_is_invalid');
  })
  .nullable()
  .describe('Types from GET /api/v1/webhook_event_types; null or ["*"] for every type');

/** The fields of an endpoint; `stored` headers are those a masked value keeps. */
const endpointFields = (policy: UrlPolicy, stored?: readonly CustomHeader[] | null) =>
  z.object({
    webhook_url: webhookUrl(policy),
    // null is as if absent: jwt on a create, unchanged on an update.
    signature_algo: z
      .enum(['jwt', 'hmac'] as const satisfies readonly SignatureAlgo[])
      .nullish()
      .transform((algo) => algo ?? undefined)
      .describe('jwt (default) or hmac'),
    name: z
      .string()
      .max(MAX_NAME_LENGTH)
      .refine((name) => !CONTROL_CHARACTER.test(name))
      .transform((name) => (name.trim() === '' ? null : name))
      .nullish(),
    event_types: eventTypes.optional(),
    // null is not false.
    disabled: z
      .boolean({ error: 'value_is_invalid' })
      .optional()
      .describe('Beyond Lago: disable or enable the endpoint'),
    headers: customHeaders(stored).optional(),
    aws_role_arn: z
      .string()
      .trim()
      .refine(isRoleArn)
      .nullish()
      .describe(
        "Beyond Lago: the role (`arn:aws:iam::<account>:role/<name>`) assumed to deliver to an ARN `webhook_url`, with the organization's `lago_id` as its external id; null for a URL",
      ),
    max_rps: z
      .int({ error: 'value_is_invalid' })
      .min(1, { error: 'value_is_invalid' })
      .max(MAX_RPS, { error: 'value_is_invalid' })
      .nullish()
      .describe(`Beyond Lago: the most attempts a second its receiver gets, 1 to ${MAX_RPS}; null: no limit`),
  });

/** The body of a create: `{"webhook_endpoint": {...}}` with a webhook_url (built per request, as an update's is). */
export const createEndpointRequest = (policy: UrlPolicy) => wrapped('webhook_endpoint', endpointFields(policy));

/** The body of an update: only the fields present change; a masked header value keeps the `stored` one. */
export const updateEndpointRequest = (policy: UrlPolicy, stored: readonly CustomHeader[] | null | undefined) =>
  wrapped('webhook_endpoint', endpointFields(policy, stored).partial());

// Documented as on AWS by default; the rules a deployment's policy changes do not show in the document.
const DOCUMENTED: UrlPolicy = { allow: [], allowHttp: false };

export const CreateEndpointRequest = named('CreateEndpointRequest', createEndpointRequest(DOCUMENTED), {
  examples: [
    {
      webhook_endpoint: {
        webhook_url: 'https://example.com/webhooks',
        signature_algo: 'hmac',
        name: 'Billing',
        event_types: ['invoice.created', 'credit_note.created'],
      },
    },
  ],
});

export const UpdateEndpointRequest = named('UpdateEndpointRequest', updateEndpointRequest(DOCUMENTED, null), {
  examples: [{ webhook_endpoint: { name: 'Billing (EU)', event_types: ['*'] } }],
});

/** The query of a read: `reveal_headers=true` shows the custom headers' values; any other value does not (as always). */
export const EndpointQuery = z
  .object({
    reveal_headers: z
      .string()
      .optional()
      .transform((reveal) => reveal === 'true')
      .describe("`true`: the custom headers' values in plain text, for their owner; masked otherwise"),
  })
  .meta({ examples: [{ reveal_headers: 'true' }] });
