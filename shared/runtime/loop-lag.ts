/**
 * How late this process's event loop runs: the most a 20 ms timer fired late over the last two
 * seconds or so. The sender adds it to its slowness thresholds, so an attempt that ran long because
 * this process was saturated (a loaded Lambda instance, or the local service on a busy machine) does
 * not mark a healthy endpoint slow. Our own sampler, not `perf_hooks.monitorEventLoopDelay`: on
 * Node 24 that histogram did not show a 300 ms synchronous block in a probe, and the sampler is a
 * timer and two numbers.
 */
const SAMPLE_MS = 20;
/** Lateness is kept per slot of this long; the figure is the largest over the last SLOTS of them. */
const SLOT_MS = 500;
const SLOTS = 4;
/**
 * Later than this is a process that was frozen (Lambda between invocations), not a busy one: not
 * counted. A shorter freeze counts for two seconds; the sender caps the allowance at the fast lane's
 * budget past WEBHOOK_SLOW_AFTER_MS (sender-deps.ts `lagAllowanceMs`).
 */
const FROZEN_MS = 2_000;

let sampler: (() => number) | undefined;

/** The process's loop lag in ms, from one sampler per process, started at the first call. */
export function loopLagMs(): number {
  sampler ??= startLoopLagSampler();
  return sampler();
}

/** A sampler of its own (loopLagMs shares one per process); exported for its test. */
export function startLoopLagSampler(): () => number {
  const slots = new Array<number>(SLOTS).fill(0);
  let slot = 0;
  let slotStarted = performance.now();
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const overdue = now - last - SAMPLE_MS;
    const late = overdue > FROZEN_MS ? 0 : Math.max(0, overdue);
    last = now;
    if (now - slotStarted >= SLOT_MS) {
      // A slot per SLOT_MS that went by; a long block spans several, and all but the current one start empty.
      const passed = Math.min(SLOTS, Math.floor((now - slotStarted) / SLOT_MS));
      for (let n = 0; n < passed; n++) slots[(slot = (slot + 1) % SLOTS)] = 0;
      slotStarted = now;
    }
    slots[slot] = Math.max(slots[slot]!, late);
  }, SAMPLE_MS);
  timer.unref();
  return () => Math.max(...slots);
}
