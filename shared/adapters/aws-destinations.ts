import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { AwsTarget } from '../domain/endpoints/destinations.ts';
import type { AwsDelivery, DeliverToAws, PostResult } from '../domain/ports.ts';

/**
 * Delivery into the customer's own SQS queue or EventBridge bus: STS AssumeRole on their role, with
 * their organization's external id, then SendMessage or PutEvents with those credentials (never the
 * senders' own). Credentials are kept per role until shortly before they expire, clients per
 * destination service, region and role.
 */

/** STS's shortest session: the credentials are used within the attempt that asked for them, or the next ones. */
const SESSION_SECONDS = 900;
/** Credentials are asked for again this long before they expire (the SDK itself asks its provider again 5 minutes before). */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** Clients kept at once; the least recently used is destroyed past this. */
const MAX_CLIENTS = 200;

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

type DestinationClient = SQSClient | EventBridgeClient;

export interface AwsDestinationsOptions {
  /** The client AssumeRole is called with, as the senders' own role. */
  sts: STSClient;
  /** The `source` of EventBridge entries (WEBHOOK_EVENTBRIDGE_SOURCE). */
  eventBridgeSource: string;
  /** The local SQS emulator: its queues are sent to with its own address and credentials. @default - none (AWS) */
  local?: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  /** Called with each client made for a destination, before its first call (tests record or stand in for its calls). @default - none */
  onClient?: (client: DestinationClient) => void;
  now?: () => number;
}

export class AwsDestinations {
  private readonly options: AwsDestinationsOptions;
  private readonly now: () => number;
  private readonly credentials = new Map<string, Promise<Credentials>>();
  private readonly clients = new Map<string, DestinationClient>();

  constructor(options: AwsDestinationsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** The port: one SendMessage or PutEvents, within the attempt's time. */
  readonly deliver: DeliverToAws = async (delivery) => {
    const deadline = delivery.cut
      ? AbortSignal.any([AbortSignal.timeout(delivery.timeoutMs), delivery.cut])
      : AbortSignal.timeout(delivery.timeoutMs);
    try {
      return delivery.target.service === 'sqs'
        ? await this.sendMessage(delivery, delivery.target, deadline)
        : await this.putEvent(delivery, delivery.target, deadline);
    } catch (error) {
      if (deadline.aborted) return { ok: false, kind: 'timeout', error: `timed out after ${delivery.timeoutMs} ms` };
      const { name, message } = error as Error;
      return { ok: false, kind: 'network', error: `${name}: ${message}` };
    }
  };

  private async sendMessage(
    delivery: AwsDelivery,
    target: Extract<AwsTarget, { service: 'sqs' }>,
    abortSignal: AbortSignal,
  ): Promise<PostResult> {
    const client = this.client('sqs', target.region, delivery.role) as SQSClient;
    const { local } = this.options;
    const host = delivery.role === null && local ? local.endpoint : `https://sqs.${target.region}.amazonaws.com`;
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: `${host}/${target.accountId}/${target.queueName}`,
        MessageBody: delivery.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(delivery.attributes).map(([name, value]) => [
            name,
            { DataType: 'String', StringValue: value },
          ]),
        ),
        ...(target.fifo
          ? { MessageGroupId: delivery.fifo.groupId, MessageDeduplicationId: delivery.fifo.deduplicationId }
          : {}),
      }),
      { abortSignal },
    );
    return { ok: true, status: 200, body: sent.MessageId ?? '', retryAfter: undefined };
  }

  private async putEvent(
    delivery: AwsDelivery,
    target: Extract<AwsTarget, { service: 'events' }>,
    abortSignal: AbortSignal,
  ): Promise<PostResult> {
    const client = this.client('events', target.region, delivery.role) as EventBridgeClient;
    const put = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: this.options.eventBridgeSource,
            DetailType: delivery.webhookType,
            Detail: delivery.body,
            EventBusName: target.arn,
          },
        ],
      }),
      { abortSignal },
    );
    const [entry] = put.Entries ?? [];
    // PutEvents answers 200 with the entries it could not put counted.
    if ((put.FailedEntryCount ?? 0) > 0 || !entry?.EventId)
      return {
        ok: false,
        kind: 'network',
        error: `${entry?.ErrorCode ?? 'PutEventsFailed'}: ${entry?.ErrorMessage ?? ''}`,
      };
    return { ok: true, status: 200, body: entry.EventId, retryAfter: undefined };
  }

  /** The client of a service in a region, as a role (or, with none, as the local emulator's). */
  private client(service: AwsTarget['service'], region: string, role: AwsDelivery['role']): DestinationClient {
    const key = `${service}|${region}|${role ? `${role.arn}|${role.externalId}` : 'local'}`;
    let client = this.clients.get(key);
    if (client) {
      // Most recently used last, so the first entry is the one to destroy.
      this.clients.delete(key);
      this.clients.set(key, client);
      return client;
    }
    client = this.newClient(service, region, role);
    this.options.onClient?.(client);
    this.clients.set(key, client);
    if (this.clients.size > MAX_CLIENTS) {
      const [oldest] = this.clients.entries();
      if (oldest) {
        this.clients.delete(oldest[0]);
        oldest[1].destroy();
      }
    }
    return client;
  }

  private newClient(service: AwsTarget['service'], region: string, role: AwsDelivery['role']): DestinationClient {
    const { local } = this.options;
    let config;
    if (role) config = { region, credentials: () => this.assume(role) };
    else if (local) config = { region: local.region, endpoint: local.endpoint, credentials: local.credentials };
    else throw new Error('only a local queue is delivered to without a role');
    return service === 'sqs' ? new SQSClient(config) : new EventBridgeClient(config);
  }

  /** The role's credentials, from STS with the external id, kept until shortly before they expire. */
  private assume(role: NonNullable<AwsDelivery['role']>): Promise<Credentials> {
    const key = `${role.arn}|${role.externalId}`;
    const kept = this.credentials.get(key);
    if (kept) return kept;
    const forget = () => this.credentials.get(key) === assumed && this.credentials.delete(key);
    const assumed: Promise<Credentials> = this.options.sts
      .send(
        new AssumeRoleCommand({
          RoleArn: role.arn,
          ExternalId: role.externalId,
          RoleSessionName: role.sessionName,
          DurationSeconds: SESSION_SECONDS,
        }),
      )
      .then(({ Credentials: credentials }) => {
        if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken)
          throw new Error('AssumeRole answered without credentials');
        const expiration = credentials.Expiration ?? new Date(this.now() + SESSION_SECONDS * 1000);
        setTimeout(forget, Math.max(expiration.getTime() - REFRESH_BEFORE_MS - this.now(), 0)).unref();
        return {
          accessKeyId: credentials.AccessKeyId,
          secretAccessKey: credentials.SecretAccessKey,
          sessionToken: credentials.SessionToken,
          expiration,
        };
      })
      .catch((error: unknown) => {
        // A refusal is not kept: the next attempt asks again (the customer may have fixed their trust policy).
        forget();
        // The attempt's error says which call failed: AssumeRole's refusals are the customer's trust policy's.
        const { name, message } = error as Error;
        throw Object.assign(new Error(`sts:AssumeRole on ${role.arn}: ${message}`), { name });
      });
    this.credentials.set(key, assumed);
    return assumed;
  }
}
