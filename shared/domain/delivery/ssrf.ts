import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The SSRF guard: a webhook URL may only reach public unicast addresses. Everything else
 * (loopback, private, link-local including the cloud metadata address, CGNAT, ULA, multicast,
 * IPv4-mapped or embedded forms, 0.0.0.0) is refused unless an allow-listed CIDR covers it.
 */

export interface Cidr {
  source: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

export function parseCidrs(raw: string): Cidr[] {
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((source) => {
      try {
        const range = source.includes('/')
          ? ipaddr.parseCIDR(source)
          : ([ipaddr.parse(source), source.includes(':') ? 128 : 32] as Cidr['range']);
        return { source, range };
      } catch {
        throw new Error(`"${source}" is not a CIDR`);
      }
    });
}

export class BlockedAddressError extends Error {
  readonly address: string;
  constructor(address: string, reason: string) {
    super(`address ${address} is not allowed (${reason})`);
    this.address = address;
  }
}

function inRange(address: ipaddr.IPv4 | ipaddr.IPv6, cidr: Cidr): boolean {
  const [base, bits] = cidr.range;
  if (address.kind() !== base.kind()) return false;
  return address.match(base, bits);
}

/** Throws BlockedAddressError unless the literal address is public or allow-listed. */
export function assertPublicAddress(literal: string, allow: readonly Cidr[]): void {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // process() unwraps IPv4-mapped IPv6 (::ffff:10.0.0.1) to the IPv4 address it carries.
    parsed = ipaddr.process(literal.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    throw new BlockedAddressError(literal, 'not an IP address');
  }
  if (allow.some((cidr) => inRange(parsed, cidr))) return;
  // ipaddr.js names every special range, including NAT64 (rfc6052) and 6to4 whatever v4 they carry;
  // checked first so that ::1 and :: are reported as loopback and unspecified.
  const range = parsed.range();
  if (range !== 'unicast') throw new BlockedAddressError(literal, range);
  // The deprecated IPv4-compatible form (::a.b.c.d) counts as unicast for ipaddr.js; refuse it too.
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE, 96))
    throw new BlockedAddressError(literal, 'ipv4Compatible');
}

const IPV4_COMPATIBLE = ipaddr.parse('::');

export const isIpLiteral = (host: string): boolean => isIP(host.replace(/^\[|\]$/g, '')) !== 0;
