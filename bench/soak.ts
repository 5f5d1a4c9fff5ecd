/**
 * `npm run soak`: the chaos suite at full size (CHAOS_EVENTS, default 5,000; CHAOS_RATE, events
 * published per second, default 10; CHAOS_SEED, default 11).
 * Progress goes to stderr; the summary line to stdout. Exits 1 if any promise was broken.
 */
import { problems, runChaos, summarize } from './chaos.ts';

const events = Number(process.env.CHAOS_EVENTS ?? 5000);
const seed = Number(process.env.CHAOS_SEED ?? 11);
const rate = Number(process.env.CHAOS_RATE ?? 10);
if (!(rate > 0))
  throw new Error(`CHAOS_RATE must be a positive number of events per second, got ${process.env.CHAOS_RATE}`);
if (!Number.isInteger(events) || events < 10)
  throw new Error(`CHAOS_EVENTS must be a whole number of at least 10, got ${process.env.CHAOS_EVENTS}`);
if (!Number.isInteger(seed)) throw new Error(`CHAOS_SEED must be a whole number, got ${process.env.CHAOS_SEED}`);

const result = await runChaos({
  events,
  seed,
  rate,
  progress: (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`),
});
console.log(summarize(result));
const broken = problems(result);
for (const problem of broken) console.error(`FAILED: ${problem}`);
process.exit(broken.length > 0 ? 1 : 0);
