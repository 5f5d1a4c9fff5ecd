// The delivery queue on SQS, asserted call by call: message bodies hold only characters SQS (and its emulator) accept,
// and decode to the message sent, payload byte for byte; a send SQS fails in part names exactly the messages not sent.
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsDeliveryQueue } from '#shared/adapters/sqs-queue.ts';
import { decodeMessage, isDrain, type DeliveryMessage } from '#shared/domain/delivery/message.ts';
import { UnsentMessagesError } from '#shared/domain/ports.ts';

const sqs = mockClient(SQSClient);
const lanes = { fast: 'https://sqs.test/fast', slow: 'https://sqs.test/slow' };
const queue = () => new SqsDeliveryQueue(new SQSClient({ region: 'eu-west-1' }), lanes, 'https://sqs.test/dlq');

/** What the SQS emulator accepts, and SQS too (SQS also takes the astral planes). */
const ACCEPTED_BY_BOTH = /^[\t\n\r\x20-\ud7ff\ue000-\ufffd]*$/;

const message = (payload: string, n = 0): DeliveryMessage => ({
  webhookId: `w${n}`,
  endpointId: 'e1',
  organizationId: 'o1',
  attempt: 1,
  payload,
});

/** A body sent, read back as the webhook's message it must be. */
function deliveryOf(body: string): DeliveryMessage {
  const decoded = decodeMessage(body);
  if (!decoded || isDrain(decoded)) throw new Error('expected a delivery message');
  return decoded;
}

beforeEach(() => sqs.reset());

describe('message bodies', () => {
  const payloads = [
    '{"emoji":"😀 🏳️‍🌈 𝄞"}',
    '{"nonchars":"\ufffe\uffff"}',
    // What JSON.stringify makes of a lone surrogate: its escape, which stays one.
    JSON.stringify({ lone: '\ud800', reversed: '\udc00\ud800' }),
    '{"rtl":"\u200f\u202e","separators":"\u2028\u2029","bom":"\ufeff","del":"\u007f"}',
  ];

  it('escape every character SQS or its emulator refuses, and decode to the same payload', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    await queue().send(
      'fast',
      payloads.map((p, n) => message(p, n)),
    );
    const entries = sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input.Entries ?? [];
    expect(entries).toHaveLength(payloads.length);
    entries.forEach((entry, n) => {
      expect(entry.MessageBody).toMatch(ACCEPTED_BY_BOTH);
      expect(deliveryOf(entry.MessageBody!).payload).toBe(payloads[n]);
    });
  });

  it('of dead letters too', async () => {
    sqs.on(SendMessageCommand).resolves({});
    await queue().deadLetter(message(payloads[0]!), 'exhausted');
    const body = sqs.commandCalls(SendMessageCommand)[0]!.args[0].input.MessageBody!;
    expect(body).toMatch(ACCEPTED_BY_BOTH);
    expect(decodeMessage(body)).toMatchObject({ payload: payloads[0], reason: 'exhausted' });
  });
});

describe('a send SQS fails in part', () => {
  const many = (count: number) => Array.from({ length: count }, (_, n) => message('{}', n));

  it('names the messages SQS refused, and only those, after trying every batch', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '3', Code: 'InvalidMessageContents', SenderFault: true }] })
      .resolvesOnce({ Failed: [] });
    const error = await queue()
      .send('fast', many(12))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(UnsentMessagesError);
    expect((error as UnsentMessagesError).unsent.map((m) => m.webhookId)).toEqual(['w3']);
    expect((error as Error).message).toBe('could not enqueue 1 webhook(s): InvalidMessageContents');
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(2);
  });

  it('names every message of a call that failed as a whole, and still sends the next batch', async () => {
    sqs.on(SendMessageBatchCommand).rejectsOnce(new Error('socket hang up')).resolvesOnce({ Failed: [] });
    const error = await queue()
      .send('fast', many(12))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((error as UnsentMessagesError).unsent.map((m) => m.webhookId)).toEqual(
      Array.from({ length: 10 }, (_, n) => `w${n}`),
    );
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.Entries?.map((e) => deliveryOf(e.MessageBody!).webhookId)).toEqual(['w10', 'w11']);
  });

  it('resolves when every entry was sent', async () => {
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    await expect(queue().send('slow', many(3), 30)).resolves.toBeUndefined();
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]!.args[0].input).toMatchObject({
      QueueUrl: lanes.slow,
      Entries: [{ DelaySeconds: 30 }, { DelaySeconds: 30 }, { DelaySeconds: 30 }],
    });
  });
});
