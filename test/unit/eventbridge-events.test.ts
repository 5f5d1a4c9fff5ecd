// Covers shared/adapters/eventbridge-events.ts: the exact EventBridge PutEvents call behind the OperationalEvents port, with aws-sdk-client-mock.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeOperationalEvents } from '#shared/adapters/eventbridge-events.ts';
import type { OperationalEvent } from '#shared/domain/ports.ts';

const eventBridge = mockClient(EventBridgeClient);
const events = new EventBridgeOperationalEvents(new EventBridgeClient({ region: 'eu-west-1' }));

const disabled: OperationalEvent = {
  type: 'endpoint.disabled',
  organization_id: '0196d7a2-0000-7000-8000-00000000000a',
  endpoint_id: '0196d7a2-0000-7000-8000-0000000000e1',
  webhook_url: 'https://example.com/hooks',
  reason: 'every attempt failed since 2026-11-20T10:00:00.000Z (automatically disabled after 432000 s of failures)',
  failing_since_ms: Date.parse('2026-11-20T10:00:00.000Z'),
  at_ms: Date.parse('2026-11-25T10:00:01.000Z'),
};

beforeEach(() => {
  eventBridge.reset();
});

describe('EventBridgeOperationalEvents', () => {
  it('puts one event on the default bus with the documented source, detail-type and detail', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await events.emit(disabled);
    expect(eventBridge.calls()).toHaveLength(1);
    expect(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input).toEqual({
      Entries: [
        {
          EventBusName: 'default',
          Source: 'lago-webhooks-aws',
          DetailType: 'Webhook Endpoint Disabled',
          Time: new Date('2026-11-25T10:00:01.000Z'),
          Detail: JSON.stringify({
            organization_id: disabled.organization_id,
            endpoint_id: disabled.endpoint_id,
            webhook_url: 'https://example.com/hooks',
            reason: disabled.reason,
            failing_since: '2026-11-20T10:00:00.000Z',
            at: '2026-11-25T10:00:01.000Z',
          }),
        },
      ],
    });
  });

  it('names a recovery Webhook Endpoint Recovered, with no reason', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    await events.emit({ ...disabled, type: 'endpoint.recovered', reason: null });
    const entry = eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry.DetailType).toBe('Webhook Endpoint Recovered');
    expect(JSON.parse(entry.Detail!)).toMatchObject({ reason: null, failing_since: '2026-11-20T10:00:00.000Z' });
  });

  it('throws when EventBridge refuses the entry (a 200 with FailedEntryCount)', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    await expect(events.emit(disabled)).rejects.toThrow(
      'EventBridge refused the event: ThrottlingException Rate exceeded',
    );
  });
});
