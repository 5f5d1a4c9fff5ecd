import { isIP } from 'node:net';
import CacheableLookup from 'cacheable-lookup';
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
        const range = source.includes('/') ? ipaddr.parseCIDR(source) : ([ipaddr.parse(source), source.includes(':') ? 128 : 32] as Cidr['range']);
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
  if (parsed.kind() === 'ipv6' && parsed.match(IPV4_COMPATIBLE, 96)) throw new BlockedAddressError(literal, 'ipv4Compatible');
}

const IPV4_COMPATIBLE = ipaddr.parse('::');

export interface ResolvedAddress {
  address: string;
  family: number;
}
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

/**
 * DNS answers cached within their TTL (at most 5 minutes), so a warm endpoint costs no lookup; names
 * the DNS cannot answer (the hosts file) fall back to the system's lookup, remembered for a minute.
 * Every address is checked on every use all the same.
 */
const dnsCache = new CacheableLookup({ maxTtl: 300, fallbackDuration: 60 });
const systemResolver: Resolver = async (host) => [...(await dnsCache.lookupAsync(host, { all: true }))];
let resolver: Resolver = systemResolver;

/**
 * Replaces the name resolver `resolvePublicAddress` uses (no argument: the system's again). A test
 * seam: tests make names resolve to any address without touching DNS, and the guard runs as is.
 */
export function setResolver(next?: Resolver): void {
  resolver = next ?? systemResolver;
}

export const isIpLiteral = (host: string): boolean => isIP(host.replace(/^\[|\]$/g, '')) !== 0;

/**
 * Resolves a host and checks every address it has; returns the first one, which the caller
 * connects to, so a second DNS answer (rebinding) cannot send the request elsewhere.
 */
export async function resolvePublicAddress(host: string, allow: readonly Cidr[]): Promise<{ address: string; family: 4 | 6 }> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) {
    assertPublicAddress(bare, allow);
    return { address: bare, family: isIP(bare) as 4 | 6 };
  }
  const addresses = await resolver(bare);
  if (addresses.length === 0) throw new Error(`no address for ${host}`);
  for (const a of addresses) assertPublicAddress(a.address, allow);
  const first = addresses[0]!;
  return { address: first.address, family: isIP(first.address) as 4 | 6 };
}
