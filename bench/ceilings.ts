import { Agent, request } from 'node:http';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '#infra/local/bootstrap.ts';
import { LOCAL_REGION } from '#infra/local/emulators.ts';
import { TABLE } from '#infra/definitions.ts';

/** What the machine allows without this service in the way: the receiver's and the emulator's own rates. */

/** Runs `work` on `concurrency` loops for `seconds`; resolves to completions per second. */
async function rate(seconds: number, concurrency: number, work: (n: number) => Promise<void>): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await work(done++);
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** POSTs of `body` to `url` from Node over a keep-alive agent, as the sender sends them. */
export async function rawPostsPerSecond(
  url: string,
  body: string,
  seconds: number,
  concurrency: number,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    return await rate(seconds, concurrency, () => post(url, body, agent));
  } finally {
    agent.destroy();
  }
}

function post(url: string, body: string, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** PutItem of a ~1 KB item into a table of the service's shape (same keys and indexes) on DynamoDB Local. */
export async function rawPutsPerSecond(endpoint: string, seconds: number, concurrency: number): Promise<number> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tableName = 'bench-ceiling';
  try {
    await ensureTable(client, tableName);
    const data = 'x'.repeat(1000);
    return await rate(seconds, concurrency, async (n) => {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            [TABLE.partitionKey]: { S: `bench#${n % 1000}` },
            [TABLE.sortKey]: { S: `item#${n}` },
            data: { S: data },
          },
        }),
      );
    });
  } finally {
    client.destroy();
  }
}
