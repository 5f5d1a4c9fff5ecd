import { isIP } from 'node:net';
import CacheableLookup from 'cacheable-lookup';
import { assertPublicAddress, type Cidr } from '../domain/delivery/ssrf.ts';

/** Name resolution for deliveries, checked by the SSRF guard (shared/domain/delivery/ssrf.ts) address by address. */

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

/**
 * Resolves a host and checks every address it has; returns the first one, which the caller
 * connects to, so a second DNS answer (rebinding) cannot send the request elsewhere.
 */
export async function resolvePublicAddress(
  host: string,
  allow: readonly Cidr[],
): Promise<{ address: string; family: 4 | 6 }> {
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
