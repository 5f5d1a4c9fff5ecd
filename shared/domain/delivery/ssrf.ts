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

/**
 * The service's own listeners, which are never webhook targets whatever the allow-list says: local
 * mode allows loopback so local receivers work, and must not become a proxy to its own API and
 * emulators. Their ports are refused on this machine's addresses: loopback, unspecified, and its
 * interfaces' (DynamoDB Local listens on every interface).
 */
export interface OwnListeners {
  /** What listens on each port, as the refusal names it: `DynamoDB Local`, `the API`… */
  ports: ReadonlyMap<number, string>;
  /** This machine's interface addresses, read when a target is checked. */
  localAddresses: () => readonly string[];
}

/** The port a URL connects to. */
export const portOf = (url: URL): number => (url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);

/** Throws BlockedAddressError when the address and port are one of the service's own listeners. */
export function assertNotOwnListener(literal: string, port: number, own: OwnListeners | undefined): void {
  const what = own?.ports.get(port);
  if (!own || what === undefined) return;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(literal.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return;
  }
  const range = parsed.range();
  const thisMachine =
    range === 'loopback' ||
    range === 'unspecified' ||
    own
      .localAddresses()
      .some((address) => ipaddr.isValid(address) && ipaddr.process(address).toString() === parsed.toString());
  if (thisMachine) throw new BlockedAddressError(literal, `port ${port} is ${what} of this service`);
}

export const isIpLiteral = (host: string): boolean => isIP(host.replace(/^\[|\]$/g, '')) !== 0;
