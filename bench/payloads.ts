/**
 * Realistic payloads for the bench: a Lago-like invoice whose JSON is about the asked size, with
 * varied ids, codes and amounts, so it compresses as real webhooks do (not as a run of one letter).
 */
import { seeded } from './random.ts';

const hex = (next: () => number, length: number) =>
  Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join('');
const uuid = (next: () => number) =>
  `${hex(next, 8)}-${hex(next, 4)}-4${hex(next, 3)}-a${hex(next, 3)}-${hex(next, 12)}`;
const PLANS = ['startup', 'growth', 'scale', 'enterprise'];
const METRICS = ['api_calls', 'seats', 'storage_gb', 'compute_hours', 'messages'];

/** An invoice object whose JSON is at least `bytes` long (one fee more than needed at most). */
export function invoiceObject(n: number, bytes: number): Record<string, unknown> {
  const next = seeded(n + 1);
  const invoice: Record<string, unknown> = {
    lago_id: uuid(next),
    sequential_id: n,
    number: `ACME-${String(202600 + (n % 1000)).padStart(6, '0')}-${String(n).padStart(4, '0')}`,
    issuing_date: '2026-11-27',
    invoice_type: 'subscription',
    status: 'finalized',
    payment_status: 'pending',
    currency: 'EUR',
    customer: {
      lago_id: uuid(next),
      external_id: `cust_${hex(next, 10)}`,
      name: `Customer ${n}`,
      email: `billing+${n}@example.com`,
    },
    fees: [] as unknown[],
  };
  const fees = invoice.fees as unknown[];
  let total = 0;
  while (JSON.stringify(invoice).length < bytes) {
    const units = Math.floor(next() * 10_000);
    const amount = Math.floor(next() * 500_000);
    total += amount;
    fees.push({
      lago_id: uuid(next),
      item: {
        type: 'charge',
        code: `${METRICS[Math.floor(next() * METRICS.length)]}_${PLANS[Math.floor(next() * PLANS.length)]}`,
        name: 'Usage',
      },
      units: String(units),
      amount_cents: amount,
      taxes_amount_cents: Math.floor(amount * 0.2),
    });
  }
  invoice.total_amount_cents = total;
  return invoice;
}
