// The README's walk-through, run by bash as written, against the local service (only the ports and the data folder differ).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '#infra/local/emulators.ts';
import { stack } from './helpers.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function walkThrough(): Promise<string> {
  const readme = await readFile(join(process.cwd(), 'README.md'), 'utf8');
  // The walk-through's own section only: a later section's block (such as "Try a failure") is not the walk-through.
  const start = readme.indexOf('\n## Walk-through\n');
  if (start < 0) throw new Error('no "## Walk-through" section in the README');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const block = /```bash\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('no bash block in the walk-through');
  return block[1]!;
}

it('works verbatim', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lago-webhooks-readme-'));
  dirs.push(dataDir);
  await writeFile(join(dataDir, 'admin-token'), `${stack().adminToken}\n`);
  const receiverPort = String(await freePort());
  const script = (await walkThrough())
    .replaceAll('http://127.0.0.1:3000', stack().url)
    .replaceAll('.data/admin-token', join(dataDir, 'admin-token'))
    .replaceAll('127.0.0.1:4000', `127.0.0.1:${receiverPort}`);
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: process.cwd(),
    env: { ...process.env, RECEIVER_PORT: receiverPort },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  expect(code, output).toBe(0);
  expect(output).toMatch(/"api_key":"lwh_/);
  expect(output).toMatch(/"webhook_endpoint":\{"lago_id"/);
  expect(output).toMatch(/invoice\.created: X-Lago-Signature \(hmac\) valid, webhook-signature valid/);
  const log = /\{"webhooks":\[.*\],"meta":\{.*?\}\}/.exec(
    output
      .split('\n')
      .filter((l) => l.startsWith('{"webhooks":[{"lago_id"'))
      .pop() ?? '',
  );
  expect(log, output).not.toBeNull();
  expect(JSON.parse(log![0]).webhooks[0]).toMatchObject({
    object_id: 'inv_001',
    status: 'succeeded',
    http_status: 200,
  });
  // The walk-through cleans up after itself: its receiver is gone.
  await expect(fetch(`http://127.0.0.1:${receiverPort}/webhooks`, { method: 'POST' })).rejects.toThrow();
}, 90_000);
