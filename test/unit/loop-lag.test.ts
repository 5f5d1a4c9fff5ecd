// The sender's event-loop lag sampler (shared/runtime/loop-lag.ts): a synchronous block shows as lag for a while, and a
// gap as long as a frozen Lambda's between invocations does not.
import { expect, it } from 'vitest';
import { startLoopLagSampler } from '#shared/runtime/loop-lag.ts';

const block = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('reports a 300 ms block as lag, and forgets it a few seconds later', async () => {
  const lag = startLoopLagSampler();
  await pause(100);
  block(300);
  await pause(100);
  expect(lag()).toBeGreaterThanOrEqual(250);
  await pause(2_600);
  expect(lag()).toBeLessThan(250);
});

it('takes a gap longer than 2 s for a frozen process, not a busy one', async () => {
  const lag = startLoopLagSampler();
  await pause(100);
  block(2_200);
  await pause(100);
  expect(lag()).toBeLessThan(250);
});
