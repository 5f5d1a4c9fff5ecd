import { createServer } from 'node:http';

/**
 * The bench's receiver on loopback: answers 200 at once (`/hang` never answers), records the first
 * receipt of each webhook by its unique key, and counts the connections opened to it.
 */

export interface Receipt {
  at: number;
  path: string;
}

export interface Receiver {
  url: string;
  /** First receipt of each webhook id since the last reset. */
  received: Map<string, Receipt>;
  /** Connections opened since the last reset. */
  connections: number;
  reset(): void;
  /** Resolves once `count` distinct webhooks were received since the last reset; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let waiters: { count: number; resolve: () => void }[] = [];
  const state: Pick<Receiver, 'received' | 'connections'> = { received: new Map(), connections: 0 };
  // A JWT signature carries the payload in a header: a 32 KB payload needs more than Node's 16 KB default.
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path === '/hang') return; // answered never: the sender's timeout ends it
      const id = req.headers['x-lago-unique-key'];
      if (typeof id === 'string' && !state.received.has(id)) {
        state.received.set(id, { at: performance.now(), path });
        waiters = waiters.filter((w) => (state.received.size >= w.count ? (w.resolve(), false) : true));
      }
      res.writeHead(200).end();
    });
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get received() {
      return state.received;
    },
    get connections() {
      return state.connections;
    },
    reset() {
      state.received = new Map();
      state.connections = 0;
    },
    async waitFor(count, timeoutMs = 600_000) {
      if (state.received.size >= count) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          new Promise<void>((resolve) => waiters.push({ count, resolve })),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(new Error(`receiver got ${state.received.size} of ${count} webhooks within ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
