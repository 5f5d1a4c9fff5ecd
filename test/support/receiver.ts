// A real HTTP receiver on loopback for any suite: it records what each delivery brought and answers as told.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { eventually } from './eventually.ts';

export interface Received {
  headers: IncomingHttpHeaders;
  /** As sent, names and values alternating: the one place a header named `__proto__` shows. */
  rawHeaders: string[];
  body: string;
  /** The body's bytes as they arrived, for checks that a text decoding would hide. */
  raw: Buffer;
  at: number;
}

export type Reply = (req: IncomingMessage, res: ServerResponse, count: number) => void;

/** A real HTTP receiver on 127.0.0.1 that records every request and answers with `reply`. */
export class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  private sockets = new Set<Socket>();
  reply: Reply;

  constructor(reply: Reply = (_req, res) => res.writeHead(200).end('ok')) {
    this.reply = reply;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        this.received.push({
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: raw.toString('utf8'),
          raw,
          at: Date.now(),
        });
        this.reply(req, res, this.received.length);
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/webhooks`;
  }

  /** Waits until at least `count` requests arrived. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<Received[]> {
    return eventually(
      () => (this.received.length >= count ? this.received.slice() : undefined),
      timeoutMs,
      `${count} request(s) at ${this.url}`,
    );
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
