import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCredentials, startDynamoDbLocal } from '#infra/local/emulators.ts';
import { billingRun } from './billing.ts';
const dataDir = await mkdtemp(join(tmpdir(), 'tmp-one-'));
const dynamo = await startDynamoDbLocal(dataDir, await localCredentials(dataDir));
const t0 = performance.now();
try {
  const r = await billingRun({
    events: Number(process.env.N ?? 120), scale: Number(process.env.S ?? 0.005), shards: Number(process.env.SH ?? 8),
    others: process.env.O !== '0', dynamoDbEndpoint: dynamo.endpoint, timeoutMs: 240_000,
  });
  console.log(JSON.stringify({ ...r, limits: { ...r.limits, dynamoDb: { ...r.limits.dynamoDb } } }, (k, v) => (Array.isArray(v) && v.length > 3 ? v.slice(0, 3) : v), 1).slice(0, 6000));
} finally { await dynamo.stop(); }
console.log('total', (performance.now() - t0) / 1000);
process.exit(0);
