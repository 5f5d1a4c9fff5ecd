import { getEndpoint } from '../endpoints/endpoints.ts';
import { notFound } from '../errors.ts';
import { exampleFor } from '../catalog/event-examples.ts';
import { parseBody } from '../validation.ts';
import { TestEventRequest } from './schemas.ts';
import type { WebhookDeps } from './deps.ts';
import { envelope, publishEvents } from './publish.ts';
import { detail } from './views.ts';

/**
 * Test events: a signed example of a webhook type, sent to one endpoint only (whatever types it
 * listens to), through the same publish core, queue and sender as any webhook. The webhook is
 * marked `test: true`.
 */
export async function publishTest(
  deps: Pick<WebhookDeps, 'store' | 'queue' | 'logger' | 'metrics' | 'now' | 'journal' | 'afterStore' | 'rateLimits'>,
  organizationId: string,
  endpointId: string,
  body: unknown,
) {
  const endpoint = await getEndpoint(deps.store, organizationId, endpointId);
  const { webhook_type } = parseBody(TestEventRequest, body);
  await deps.rateLimits.take('test_event', organizationId, endpoint.id);
  const example = exampleFor(webhook_type);
  const input = {
    organization_id: organizationId,
    webhook_type,
    object_type: example.object_type,
    object: example.object,
  };
  const [outcome] = await publishEvents(deps, [input], { endpointId: endpoint.id, test: true });
  if (!outcome || 'error' in outcome) throw outcome?.error;
  const [webhook] = outcome.webhooks;
  // The endpoint was deleted between the read and the publish.
  if (!webhook) throw notFound('webhook_endpoint');
  deps.logger.info(
    { organization_id: organizationId, endpoint_id: endpoint.id, webhook_id: webhook.id, webhook_type },
    'test event sent',
  );
  return { webhook: detail({ ...webhook, payload: envelope(input) }) };
}
