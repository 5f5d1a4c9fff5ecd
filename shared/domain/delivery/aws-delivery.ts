import { isLocalTarget, isOwnQueue, parseAwsTarget, roleAllowed } from '../endpoints/destinations.ts';
import type { Webhook, WebhookEndpoint } from '../model.ts';
import type { PostResult } from '../ports.ts';
import type { SenderDeps } from './sender-deps.ts';

/**
 * The post stage of an attempt to an AWS destination (an endpoint whose `webhook_url` is an ARN):
 * the same body and signatures as an HTTP attempt, sent by assuming the customer's role, and read
 * back as an HTTP answer, so settle, record, retries and the log treat both alike.
 */

/** The signature headers an SQS message carries as attributes (SQS allows 10; custom headers stay HTTP's). */
const ATTRIBUTE_HEADERS = [
  'X-Lago-Signature',
  'X-Lago-Signature-Algorithm',
  'X-Lago-Unique-Key',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
] as const;

/** STS takes session names of 2 to 64 characters of [\w+=,.@-]. */
const sessionName = (endpointId: string) => `lago-webhooks-${endpointId}`.slice(0, 64);

export async function sendToAwsDestination(
  deps: Pick<SenderDeps, 'deliverToAws' | 'awsDestinations'>,
  webhook: Pick<Webhook, 'id' | 'organization_id' | 'payload' | 'webhook_type' | 'attempt_count'>,
  endpoint: WebhookEndpoint,
  headers: Record<string, string>,
  timing: { timeoutMs: number; cut?: AbortSignal },
): Promise<PostResult> {
  const target = parseAwsTarget(endpoint.webhook_url);
  if (!target) return { ok: false, kind: 'blocked', error: 'not an SQS queue or EventBridge bus ARN' };
  if (isOwnQueue(deps.awsDestinations, target))
    return { ok: false, kind: 'blocked', error: 'the queue is one of this service’s own' };
  const local = isLocalTarget(deps.awsDestinations, target);
  const roleArn = endpoint.aws_role_arn ?? null;
  // The allow-list may have shrunk since the endpoint was written: checked again on every delivery.
  if (!local && (roleArn === null || !roleAllowed(deps.awsDestinations, roleArn)))
    return {
      ok: false,
      kind: 'blocked',
      error: `the role ${roleArn ?? '(none)'} is not allowed by this deployment (WEBHOOK_AWS_DESTINATION_ROLES)`,
    };
  return deps.deliverToAws({
    target,
    // The organization's id is its external id: another organization naming this role sends its own, which the trust policy refuses.
    role:
      local || roleArn === null
        ? null
        : { arn: roleArn, externalId: webhook.organization_id, sessionName: sessionName(endpoint.id) },
    body: webhook.payload,
    attributes: Object.fromEntries(
      ATTRIBUTE_HEADERS.flatMap((name) => (headers[name] === undefined ? [] : [[name, headers[name]]])),
    ),
    webhookType: webhook.webhook_type,
    // One group per endpoint keeps its webhooks in order. One id per attempt: the SDK's own retries of a send are one
    // message, while each attempt (a retry, a resend) is a new one, as over HTTP (receivers dedupe on the unique key).
    fifo: { groupId: endpoint.id, deduplicationId: `${webhook.id}-${webhook.attempt_count + 1}` },
    ...timing,
  });
}
