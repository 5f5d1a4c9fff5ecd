/**
 * `npm run bench:timers`: the timer simulation (issue 19, item 4). TIMERS webhooks (default
 * 1,000,000) all wait WAIT_SECONDS (default 1,800, the default schedule's third wait) and fall due
 * at the same second, the worst case of a billing run. Their waits are chains of delayed messages
 * (shared/domain/delivery/hops.ts): the real `forwardHops` runs on every received batch, against an
 * in-memory queue on a virtual clock. WORKERS (default: the fast lane's concurrency, 10) take batches
 * of the lane's batch size in the order SQS shows the messages; each batch costs the CPU time
 * forwardHops took here plus SEND_MS (default 20 ms, one SendMessageBatch call on AWS, an
 * assumption). It prints hops per second per worker, and how late the last attempt's message was
 * in the lane (visible) after its due time: a timer fires when that message is there.
 */
import { forwardHops } from '#shared/domain/delivery/hops.ts';
import { encodeMessage } from '#shared/domain/delivery/message.ts';
import { hopDelaySeconds, LANE_MAPPINGS } from '#shared/domain/delivery/policy.ts';
import type { ReceivedMessage } from '#shared/domain/delivery/sender-deps.ts';
import type { DelayedMessage, DeliveryQueue, Logger } from '#shared/domain/ports.ts';

const TIMERS = Number(process.env.TIMERS ?? 1_000_000);
const WAIT_SECONDS = Number(process.env.WAIT_SECONDS ?? 1800);
const WORKERS = Number(process.env.WORKERS ?? LANE_MAPPINGS.fast.maxConcurrency);
const BATCH = LANE_MAPPINGS.fast.batchSize;
const SEND_MS = Number(process.env.SEND_MS ?? 20);
const PAYLOAD = JSON.stringify({ webhook_type: 'invoice.created', invoice: { lago_id: 'x'.repeat(2000) } });

interface Queued {
  visibleAtMs: number;
  body: string;
  id: number;
}

/** A binary min-heap on visibleAtMs: SQS shows delayed messages in about that order (a bench-only structure, 30 lines). */
class VisibleOrder {
  private readonly items: Queued[] = [];
  get size() {
    return this.items.length;
  }
  peek(): Queued | undefined {
    return this.items[0];
  }
  push(item: Queued): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.visibleAtMs <= a[i]!.visibleAtMs) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): Queued | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.visibleAtMs < a[m]!.visibleAtMs) m = l;
        if (r < a.length && a[r]!.visibleAtMs < a[m]!.visibleAtMs) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

async function simulate() {
  const dueAtMs = WAIT_SECONDS * 1000;
  const queue = new VisibleOrder();
  let nextId = 0;
  // Every webhook's first message, sent as its attempt failed at time 0: the first hop of its chain.
  for (let n = 0; n < TIMERS; n++) {
    const message = {
      webhookId: `w${n}`,
      endpointId: `e${n % 10}`,
      organizationId: `o${n % 3}`,
      attempt: 4,
      payload: PAYLOAD,
      dueAtMs,
    };
    queue.push({ visibleAtMs: hopDelaySeconds(dueAtMs) * 1000, body: encodeMessage(message), id: nextId++ });
  }
  const workers = Array.from({ length: WORKERS }, () => ({ freeAtMs: 0, hops: 0, busyMs: 0 }));
  let fired = 0;
  let latestMs = 0;
  let hops = 0;
  let cpuMs = 0;
  while (queue.size > 0) {
    const worker = workers.reduce((a, b) => (b.freeAtMs < a.freeAtMs ? b : a));
    const nowMs = Math.max(worker.freeAtMs, queue.peek()!.visibleAtMs);
    const batch: ReceivedMessage[] = [];
    const visibleAt = new Map<string, number>();
    while (batch.length < BATCH && (queue.peek()?.visibleAtMs ?? Infinity) <= nowMs) {
      const { body, id, visibleAtMs } = queue.pop()!;
      batch.push({ messageId: String(id), body, receiveCount: 1, lane: 'fast' });
      visibleAt.set(String(id), visibleAtMs);
    }
    const sent: DelayedMessage[] = [];
    const started = performance.now();
    const result = await forwardHops({ queue: inMemory(sent), logger: silent, now: () => nowMs }, batch);
    const spentMs = performance.now() - started;
    cpuMs += spentMs;
    const costMs = spentMs + (sent.length > 0 ? SEND_MS : 0);
    for (const next of sent)
      queue.push({
        visibleAtMs: nowMs + costMs + next.delaySeconds * 1000,
        body: encodeMessage(next.message),
        id: nextId++,
      });
    hops += sent.length;
    worker.hops += sent.length;
    worker.busyMs += costMs;
    for (const record of batch) {
      if (result.hopped.has(record.messageId)) continue;
      // Fired: the attempt's message is in the lane (visible) at this time; its delivery is the sender's work.
      fired++;
      latestMs = Math.max(latestMs, visibleAt.get(record.messageId)! - dueAtMs);
    }
    worker.freeAtMs = nowMs + costMs;
  }
  const busySeconds = workers.reduce((s, w) => s + w.busyMs, 0) / 1000;
  return { fired, hops, latestMs, cpuMs, perWorker: hops / busySeconds };
}

/** The lanes behind the DeliveryQueue port, in memory: what the hops send is collected. */
function inMemory(sent: DelayedMessage[]): DeliveryQueue {
  const refuse = async () => {
    throw new Error('only hops are sent in this simulation');
  };
  return { send: refuse, sendEach: async (_lane, entries) => void sent.push(...entries), deadLetter: refuse };
}

async function main() {
  const started = Date.now();
  const figures = await simulate();
  const wall = (Date.now() - started) / 1000;
  console.log(
    [
      `timers: ${TIMERS.toLocaleString('en')} webhooks waiting ${WAIT_SECONDS} s, all due at the same second; ${WORKERS} workers, batches of ${BATCH}, ${SEND_MS} ms per SendMessageBatch`,
      `  fired ${figures.fired.toLocaleString('en')}; ${figures.hops.toLocaleString('en')} hops; the last attempt's message was in the lane ${(figures.latestMs / 1000).toFixed(1)} s after its due time`,
      `  ${Math.round(figures.perWorker).toLocaleString('en')} hops/s per worker (CPU here: ${((figures.cpuMs * 1000) / figures.hops).toFixed(1)} µs per hop); ${Math.round(figures.perWorker * WORKERS).toLocaleString('en')} hops/s for the lane`,
      `  simulated in ${wall.toFixed(1)} s`,
    ].join('\n'),
  );
}

await main();
