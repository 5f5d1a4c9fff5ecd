// Covers shared/domain/delivery/ssrf.ts: which addresses a webhook may reach, the CIDR allow-list, resolving literals, and local mode's own ports.
import { afterEach, describe, expect, it } from 'vitest';
import { resolvePublicAddress, setResolver } from '#shared/adapters/dns.ts';
import {
  assertNotOwnListener,
  assertPublicAddress,
  BlockedAddressError,
  isIpLiteral,
  parseCidrs,
} from '#shared/domain/delivery/ssrf.ts';

const BLOCKED: Record<string, string[]> = {
  loopback: ['127.0.0.1', '127.255.255.254', '::1'],
  private: ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.0.1', '192.168.255.255'],
  'link-local and cloud metadata': ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fe80::1%eth0', '[fe80::1]'],
  CGNAT: ['100.64.0.1', '100.127.255.254'],
  unspecified: ['0.0.0.0', '::'],
  'unique local (fc00::/7)': ['fc00::1', 'fd12:3456:789a::1'],
  'IPv4-mapped IPv6': [
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:7f00:1',
    '[::ffff:192.168.1.1]',
  ],
  multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1'],
  'broadcast and reserved': ['255.255.255.255', '240.0.0.1'],
  'NAT64 and 6to4 embeddings': ['64:ff9b::a00:1', '2002:a00:1::1'],
};

describe('assertPublicAddress', () => {
  for (const [kind, addresses] of Object.entries(BLOCKED)) {
    it(`rejects ${kind}`, () => {
      for (const address of addresses) {
        expect(() => assertPublicAddress(address, []), address).toThrow(BlockedAddressError);
      }
    });
  }

  it('names the refused address in the error', () => {
    try {
      assertPublicAddress('169.254.169.254', []);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(BlockedAddressError);
      expect((error as BlockedAddressError).address).toBe('169.254.169.254');
      expect((error as Error).message).toContain('169.254.169.254');
    }
  });

  it('accepts public unicast addresses', () => {
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700::1111',
      '[2606:4700::1111]',
      '::ffff:93.184.216.34',
    ]) {
      expect(() => assertPublicAddress(address, []), address).not.toThrow();
    }
  });

  it('rejects things that are not IP addresses', () => {
    for (const value of ['example.com', '', '1.2.3.4.5', 'localhost']) {
      expect(() => assertPublicAddress(value, []), value).toThrow(BlockedAddressError);
    }
  });

  it('lets the allow-list exempt the addresses it covers and nothing else', () => {
    const allow = parseCidrs('127.0.0.0/8, 10.1.0.0/16, fd00::/8');
    for (const address of ['127.0.0.1', '127.9.9.9', '::ffff:127.0.0.1', '10.1.200.3', 'fd00::5']) {
      expect(() => assertPublicAddress(address, allow), address).not.toThrow();
    }
    for (const address of ['10.2.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fc00::1', '0.0.0.0']) {
      expect(() => assertPublicAddress(address, allow), address).toThrow(BlockedAddressError);
    }
  });

  it('treats a bare address in the allow-list as a single host', () => {
    const allow = parseCidrs('10.0.0.5,::1');
    expect(() => assertPublicAddress('10.0.0.5', allow)).not.toThrow();
    expect(() => assertPublicAddress('::1', allow)).not.toThrow();
    expect(() => assertPublicAddress('10.0.0.6', allow)).toThrow(BlockedAddressError);
  });
});

describe('parseCidrs', () => {
  it('parses a comma-separated list, ignoring blanks and spaces', () => {
    expect(parseCidrs(' 127.0.0.0/8 ,, ::1/128 ,').map((c) => c.source)).toEqual(['127.0.0.0/8', '::1/128']);
    expect(parseCidrs('')).toEqual([]);
  });

  it('rejects garbage with the offending part named', () => {
    for (const raw of ['abc', '10.0.0.0/33', '10.0.0.0/8,nope', '::1/129', '300.1.1.1/8', '10.0.0.0/']) {
      expect(() => parseCidrs(raw), raw).toThrow(/is not a CIDR/);
    }
    expect(() => parseCidrs('10.0.0.0/8,nope')).toThrow('"nope" is not a CIDR');
  });
});

describe('the reason given', () => {
  it('labels ::1 loopback, :: unspecified and ::a.b.c.d ipv4Compatible', () => {
    const reason = (address: string) => {
      try {
        assertPublicAddress(address, []);
        return 'allowed';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(reason('::1')).toBe('address ::1 is not allowed (loopback)');
    expect(reason('::')).toBe('address :: is not allowed (unspecified)');
    expect(reason('::a00:1')).toBe('address ::a00:1 is not allowed (ipv4Compatible)');
    expect(reason('64:ff9b::a00:1')).toBe('address 64:ff9b::a00:1 is not allowed (rfc6052)');
    expect(reason('2002:a00:1::1')).toBe('address 2002:a00:1::1 is not allowed (6to4)');
  });
});

describe('resolvePublicAddress', () => {
  afterEach(() => setResolver());

  it('refuses a name if any of its addresses is not public, whatever the order', async () => {
    for (const answers of [
      ['93.184.216.34', '10.0.0.1'],
      ['10.0.0.1', '93.184.216.34'],
      ['2606:4700::1111', 'fd00:ec2::254'],
    ]) {
      setResolver(async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
      await expect(resolvePublicAddress('mixed.example', []), answers.join()).rejects.toBeInstanceOf(
        BlockedAddressError,
      );
    }
  });

  it('returns the first address of a public name, through the injected resolver', async () => {
    setResolver(async () => [{ address: '2606:4700::1111', family: 6 }]);
    await expect(resolvePublicAddress('public.example', [])).resolves.toEqual({
      address: '2606:4700::1111',
      family: 6,
    });
  });

  it('returns a public literal with its family, without DNS', async () => {
    await expect(resolvePublicAddress('93.184.216.34', [])).resolves.toEqual({ address: '93.184.216.34', family: 4 });
    await expect(resolvePublicAddress('[2606:4700::1111]', [])).resolves.toEqual({
      address: '2606:4700::1111',
      family: 6,
    });
  });

  it('refuses a non-public literal unless allow-listed', async () => {
    await expect(resolvePublicAddress('127.0.0.1', [])).rejects.toBeInstanceOf(BlockedAddressError);
    await expect(resolvePublicAddress('[::1]', [])).rejects.toBeInstanceOf(BlockedAddressError);
    await expect(resolvePublicAddress('127.0.0.1', parseCidrs('127.0.0.0/8'))).resolves.toEqual({
      address: '127.0.0.1',
      family: 4,
    });
  });

  it('checks the addresses a name resolves to (localhost is loopback)', async () => {
    await expect(resolvePublicAddress('localhost', [])).rejects.toBeInstanceOf(BlockedAddressError);
  });
});

describe('isIpLiteral', () => {
  it('recognises IPv4 and bracketed or bare IPv6, not names', () => {
    expect(isIpLiteral('10.0.0.1')).toBe(true);
    expect(isIpLiteral('[::1]')).toBe(true);
    expect(isIpLiteral('::1')).toBe(true);
    expect(isIpLiteral('example.com')).toBe(false);
  });
});

describe("assertNotOwnListener: local mode's own ports", () => {
  const own = {
    ports: new Map([
      [3000, 'the API'],
      [8000, 'DynamoDB Local'],
    ]),
    localAddresses: () => ['192.168.1.20', 'fe80::1', '203.0.113.7'],
  };

  it('refuses them on every address of this machine, naming the port and what listens there', () => {
    for (const address of [
      '127.0.0.1',
      '127.0.0.2',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      '::',
      '192.168.1.20',
      '203.0.113.7',
      'fe80::1',
    ]) {
      expect(() => assertNotOwnListener(address, 8000, own), address).toThrow(BlockedAddressError);
    }
    expect(() => assertNotOwnListener('127.0.0.1', 3000, own)).toThrow(
      'address 127.0.0.1 is not allowed (port 3000 is the API of this service)',
    );
  });

  it('lets other ports, other machines and deployments without own listeners through', () => {
    expect(() => assertNotOwnListener('127.0.0.1', 4000, own)).not.toThrow();
    expect(() => assertNotOwnListener('192.168.1.21', 8000, own)).not.toThrow();
    expect(() => assertNotOwnListener('198.51.100.1', 3000, own)).not.toThrow();
    expect(() => assertNotOwnListener('127.0.0.1', 8000, undefined)).not.toThrow();
  });
});
