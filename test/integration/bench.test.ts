// Covers bench/run.ts: `npm run bench` in its small size prints every figure, each a finite number, so the bench cannot rot.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const FIGURES = [
  'bundle size',
  'cold import',
  'raw POSTs to the loopback receiver',
  'raw PutItem of 1 KB on DynamoDB Local',
  'drain rate',
  'drain rate per emulator put/s',
  'connections opened per delivery (drain)',
  'publish-to-receipt p50',
  'publish-to-receipt p95',
  'publish-to-receipt p99',
  'connections opened per delivery (warm endpoint)',
  'write units',
  'write units, indexes',
  'read units',
  'SQS requests, sends only',
  'sender invocations',
  'secret store calls',
  'EMF bytes',
  'log bytes ingested (ours, Lambda platform, EMF, API access log)',
  'bytes stored per webhook',
  'cost dynamoDbStorage',
  'cost logStorage',
  'cost xray',
  'cost xray at low rates (every invocation traced)',
  'cost total',
  'failing endpoint attempt cost total',
  'hanging endpoint attempt cost total',
  'floor total',
  'isolation ratio',
  'cost per million, single publish, 1 endpoint per event',
  'cost per million, batch publish, 1 endpoint per event',
];

// About a minute alone on an idle machine (a second DynamoDB Local boots); the bound leaves room for a shared one.
it('prints every figure of the small bench as a finite number', { timeout: 300_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['bench/run.ts'], {
    cwd: ROOT,
    env: { ...process.env, BENCH_SCALE: 'small' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const printed = new Map<string, number[]>();
  for (const match of stdout.matchAll(/^ {2}([^:\n]+): (\S+) \S/gm))
    printed.set(match[1]!, [...(printed.get(match[1]!) ?? []), Number(match[2])]);
  for (const label of FIGURES) {
    expect(printed.get(label), `${label} is printed`).toBeDefined();
    for (const value of printed.get(label)!) expect(Number.isFinite(value), `${label} is finite`).toBe(true);
  }
  // Kept-alive connections: a warm endpoint opens next to none per delivery.
  expect(printed.get('connections opened per delivery (warm endpoint)')![0]).toBeLessThanOrEqual(0.1);
  expect(stdout).toMatch(/^machine: \d+ cores/m);
});
