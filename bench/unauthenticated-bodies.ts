/**
 * `node bench/unauthenticated-bodies.ts`: what unauthenticated uploads cost the local gateway.
 * BENCH_CONNECTIONS (400) clients each announce a 512 KB body to an organization route without an
 * API key and send it in full; reports the gateway's answers, how long they took and how much the
 * gateway's resident memory grew. The gateway runs alone (handlers that answer 200), on loopback;
 * the clients run in a child process.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createGateway } from '#infra/local/gateway.ts';
import { MAX_REQUEST_BYTES } from '#shared/runtime/http.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 400);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The clients, in a process of their own so that only the gateway's memory is measured. */
async function clients(port: number): Promise<void> {
  const body = Buffer.alloc(MAX_REQUEST_BYTES - 1, 'x');
  const statuses = await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise<string>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port });
          let answer = '';
          socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
          socket.on('error', () => {});
          socket.on('close', () => resolve(/^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? 'none'));
          socket.write(
            `POST /api/v1/webhook_endpoints HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
          );
          socket.end(body);
        }),
    ),
  );
  const counts = statuses.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
  console.log(`${CONNECTIONS} unauthenticated ${mb(body.length)} uploads: answers ${JSON.stringify(counts)}`);
}

if (process.argv[2] === 'clients') {
  await clients(Number(process.argv[3]));
} else {
  const ok = async () => ({ statusCode: 200, body: '{}' });
  const gateway = createGateway({
    handlers: { api: ok, admin: ok, console: ok },
    adminToken: 'adm_bench',
    onError: () => {},
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', () => resolve()));
  const { port } = gateway.address() as AddressInfo;
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const started = performance.now();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'clients', String(port)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  console.log(
    `${cpus().length} cores, ${mb(totalmem())} memory, Node ${process.version}: done in ${(performance.now() - started).toFixed(0)} ms; the gateway's resident memory grew by at most ${mb(peak - before)}`,
  );
  gateway.closeAllConnections();
  gateway.close();
}
