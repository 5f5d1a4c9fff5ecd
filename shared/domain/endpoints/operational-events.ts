import type { OperationalEvent } from '../ports.ts';
import { isoMs } from '../time.ts';

/**
 * Operational events: an endpoint disabled automatically, an endpoint recovering after failures, an
 * endpoint's circuit breaker opening and closing.
 * On AWS they go to EventBridge's default bus, where an operator routes them (email, Slack, the
 * organization); locally they are lines in DATA_DIR/operational-events.jsonl. Both carry the same
 * source, detail-type and detail.
 */

export const OPERATIONAL_EVENT_SOURCE = 'lago-webhooks-aws';

export const DETAIL_TYPES: Record<OperationalEvent['type'], string> = {
  'endpoint.disabled': 'Webhook Endpoint Disabled',
  'endpoint.recovered': 'Webhook Endpoint Recovered',
  'endpoint.circuit_opened': 'Webhook Endpoint Circuit Opened',
  'endpoint.circuit_closed': 'Webhook Endpoint Circuit Closed',
};

/** When the event happened, as its envelope and detail show it (as the endpoint's `disabled_at` for a disable). */
export const eventTime = (event: OperationalEvent): string => isoMs(event.at_ms);

/** The event's detail, as documented in docs/api.md: never a header, token or payload. */
export function operationalDetail(event: OperationalEvent) {
  return {
    organization_id: event.organization_id,
    endpoint_id: event.endpoint_id,
    webhook_url: event.webhook_url,
    reason: event.reason,
    failing_since: event.failing_since_ms === null ? null : isoMs(event.failing_since_ms),
    at: eventTime(event),
  };
}
