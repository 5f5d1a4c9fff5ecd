// `npm run load` end to end, tiny: two seconds against the suite's running stack (LOAD_URL), so it prints its table and no 5xx.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stack } from './helpers.ts';

describe('npm run load (smoke)', () => {
  it('drives every route group and prints requests/s, p50, p99, errors and 5xx', async () => {
    const child = spawn(process.execPath, [join(process.cwd(), 'bench', 'load.ts')], {
      env: {
        ...process.env,
        LOAD_URL: stack().url,
        LOAD_ADMIN_TOKEN: stack().adminToken,
        LOAD_SECONDS: '2',
        LOAD_CONNECTIONS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/group\s+requests\s+requests\/s\s+p50\s+p99\s+errors\s+5xx/);
    for (const group of ['endpoints', 'logs', 'publish', 'batch', 'total'])
      expect(output).toMatch(new RegExp(`^${group}\\s+\\d+\\s+[\\d.]+\\s+[\\d.]+ ms\\s+[\\d.]+ ms\\s+\\d+\\s+0$`, 'm'));
  }, 60_000);
});
