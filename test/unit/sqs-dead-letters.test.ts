// The dead-letter redrive on AWS: SQS's own message move task (the emulator lacks it), asserted call by call.
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsDeadLetters } from '#shared/adapters/sqs-queue.ts';

const sqs = mockClient(SQSClient);
const options = {
  queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries',
  deadLetterUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/deliveries-dlq',
  queueArn: 'arn:aws:sqs:eu-west-1:123456789012:deliveries',
  deadLetterArn: 'arn:aws:sqs:eu-west-1:123456789012:deliveries-dlq',
  moveTask: true,
};

beforeEach(() => sqs.reset());

describe('SqsDeadLetters with a message move task', () => {
  it('starts one move task from the DLQ to the delivery queue and reports it running', async () => {
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolves({ Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 12 }] });
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
    const result = await new SqsDeadLetters(new SQSClient({ region: 'eu-west-1' }), options).redrive();
    expect(result).toEqual({ moved: 0, running: true });
    expect(sqs.calls()).toHaveLength(2);
    expect(sqs.commandCalls(ListMessageMoveTasksCommand)[0]!.args[0].input).toEqual({
      SourceArn: options.deadLetterArn,
      MaxResults: 1,
    });
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input).toEqual({
      SourceArn: options.deadLetterArn,
      DestinationArn: options.queueArn,
    });
  });

  it('reports a move task already running instead of starting a second one', async () => {
    sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 40, ApproximateNumberOfMessagesToMove: 100 }],
    });
    const result = await new SqsDeadLetters(new SQSClient({ region: 'eu-west-1' }), options).redrive();
    expect(result).toEqual({ moved: 40, running: true });
    expect(sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
  });

  it('refuses to start without the queue ARNs', async () => {
    const withoutArns = { queueUrl: options.queueUrl, deadLetterUrl: options.deadLetterUrl, moveTask: true };
    await expect(new SqsDeadLetters(new SQSClient({ region: 'eu-west-1' }), withoutArns).redrive()).rejects.toThrow(
      /ARNs are required/,
    );
    expect(sqs.calls()).toHaveLength(0);
  });

  it('counts visible and in-flight messages, and peeks (visibility 0) for the oldest age', async () => {
    sqs
      .on(GetQueueAttributesCommand)
      .resolves({ Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '1' } });
    const sent = Date.now() - 120_000;
    sqs.on(ReceiveMessageCommand).resolves({
      Messages: [
        { Attributes: { SentTimestamp: String(sent) } },
        { Attributes: { SentTimestamp: String(sent + 60_000) } },
      ],
    });
    const status = await new SqsDeadLetters(new SQSClient({ region: 'eu-west-1' }), options).status();
    expect(status.count).toBe(4);
    expect(status.oldestAgeSeconds).toBeGreaterThanOrEqual(119);
    expect(status.oldestAgeSeconds).toBeLessThan(130);
    expect(sqs.commandCalls(GetQueueAttributesCommand)[0]!.args[0].input).toEqual({
      QueueUrl: options.deadLetterUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    });
    expect(sqs.commandCalls(ReceiveMessageCommand)[0]!.args[0].input).toEqual({
      QueueUrl: options.deadLetterUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      MessageSystemAttributeNames: ['SentTimestamp'],
    });
  });
});
