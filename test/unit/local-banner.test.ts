// Covers what `npm start`'s banner says of the SSRF guard (infra/local/env.ts): the ranges it allows, whether
// receivers on this machine work, and the service's own ports it refuses whatever the allow-list.
import { describe, expect, it } from 'vitest';
import { ssrfGuardLines } from '#infra/local/env.ts';

const own = {
  ports: new Map([
    [3000, 'the API'],
    [8000, 'DynamoDB Local'],
    [9324, 'the SQS emulator'],
  ]),
  localAddresses: () => [],
};
const PORTS =
  "refuses this service's own ports on this machine: 3000 (the API), 8000 (DynamoDB Local), 9324 (the SQS emulator)";

describe('ssrfGuardLines', () => {
  it('says receivers on this machine work only when loopback is allowed', () => {
    expect(ssrfGuardLines(['127.0.0.0/8', '::1/128'], own)).toBe(
      `allows public addresses and 127.0.0.0/8, ::1/128: receivers on this machine work\n                 ${PORTS}`,
    );
    expect(ssrfGuardLines(['10.0.0.0/8'], own)).toBe(
      `allows public addresses and 10.0.0.0/8: not loopback, so receivers on this machine are refused\n                 ${PORTS}`,
    );
    expect(ssrfGuardLines([], own)).toBe(
      `allows public addresses only: receivers on this machine are refused (WEBHOOK_ALLOW_CIDRS allows some)\n                 ${PORTS}`,
    );
  });
});
