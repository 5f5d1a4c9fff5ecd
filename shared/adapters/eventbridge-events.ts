import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DETAIL_TYPES, OPERATIONAL_EVENT_SOURCE, operationalDetail } from '../domain/endpoints/operational-events.ts';
import type { OperationalEvent, OperationalEvents } from '../domain/ports.ts';

/** Operational events on the account's default EventBridge bus. */
export class EventBridgeOperationalEvents implements OperationalEvents {
  private readonly client: EventBridgeClient;

  constructor(client: EventBridgeClient) {
    this.client = client;
  }

  async emit(event: OperationalEvent): Promise<void> {
    const { FailedEntryCount, Entries } = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'default',
            Source: OPERATIONAL_EVENT_SOURCE,
            DetailType: DETAIL_TYPES[event.type],
            Time: new Date(event.at_ms),
            Detail: JSON.stringify(operationalDetail(event)),
          },
        ],
      }),
    );
    // PutEvents answers 200 with the entries it refused.
    if (FailedEntryCount)
      throw new Error(
        `EventBridge refused the event: ${Entries?.[0]?.ErrorCode ?? 'unknown'} ${Entries?.[0]?.ErrorMessage ?? ''}`.trim(),
      );
  }
}
