/** The webhook SSRF guard's address rules (pure; the resolver is injected). */
import { loadConfig } from '../../src/config';
import {
  addressCategory,
  bareHost,
  checkTarget,
  parseIPv6,
  refuseAddress,
  type ResolveAll,
} from '../../src/modules/webhooks/address-check';

const PUBLIC_V4 = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '172.15.255.255',
  '172.32.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '169.253.255.255',
  '11.0.0.0',
  '223.255.255.255',
  '192.0.1.1',
  '198.20.0.1',
];
const PUBLIC_V6 = [
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:82b::200e',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
];

const REFUSED: [string, string][] = [
  // IPv4
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['169.254.1.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['198.18.0.1', 'reserved'],
  // IPv6
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['::', 'unspecified'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf::1', 'link-local'],
  ['fec0::1', 'private'],
  ['ff02::1', 'multicast'],
  ['fd00:ec2::254', 'metadata'],
  ['[fd00:ec2::254]', 'metadata'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['2001::1', 'reserved'], // Teredo
  ['100::1', 'reserved'],
  ['4000::1', 'reserved'],
  // IPv4-mapped, -compatible, -translated, NAT64 and 6to4 forms of refused IPv4 addresses
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['::ffff:10.1.2.3', 'private'],
  ['::ffff:0:0', 'unspecified'],
  ['::127.0.0.1', 'loopback'],
  ['::7f00:1', 'loopback'],
  ['::8.8.8.8', 'reserved'],
  ['::ffff:0:127.0.0.1', 'loopback'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::a9fe:a9fe', 'metadata'],
  ['64:ff9b:1::1', 'private'],
  ['2002:7f00:1::1', 'loopback'],
  ['2002:c0a8:101::1', 'private'],
];

describe('addressCategory / refuseAddress', () => {
  test.each(PUBLIC_V4.concat(PUBLIC_V6))('%s is public', (ip) => {
    expect(addressCategory(ip)).toBeNull();
    expect(refuseAddress(ip, false)).toBeNull();
  });

  test.each(REFUSED)('%s is refused as %s', (ip, category) => {
    expect(addressCategory(ip)).toBe(category);
    expect(refuseAddress(ip, false)).toEqual({ category, address: ip });
  });

  test('WEBHOOK_ALLOW_PRIVATE_TARGETS allows loopback, private, link-local and CGNAT only', () => {
    for (const ip of [
      '127.0.0.1',
      '::1',
      '10.0.0.1',
      '192.168.0.1',
      'fd12::1',
      'fe80::1',
      '169.254.1.1',
      '100.64.0.1',
      '::ffff:127.0.0.1',
      '64:ff9b::7f00:1',
    ]) {
      expect(refuseAddress(ip, true)).toBeNull();
    }
    for (const ip of [
      '169.254.169.254',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
      '0.0.0.0',
      '::',
      '224.0.0.1',
      'ff02::1',
      '255.255.255.255',
      '240.0.0.1',
      '192.0.2.1',
      '2001:db8::1',
    ]) {
      expect(refuseAddress(ip, true)).not.toBeNull();
    }
  });

  test('parseIPv6 expands every notation to eight groups', () => {
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(parseIPv6('1:2::7:8')).toEqual([1, 2, 0, 0, 0, 0, 7, 8]);
    expect(parseIPv6('not-an-ip')).toBeNull();
    expect(parseIPv6('127.0.0.1')).toBeNull();
  });

  test('non-IP strings have no category (they are host names, resolved first)', () => {
    for (const s of ['example.com', '', '2130706433', '0x7f000001', '127.1', '0177.0.0.1']) expect(addressCategory(s)).toBeNull();
  });
});

describe('checkTarget', () => {
  const never: ResolveAll = async () => {
    throw new Error('the resolver must not be called for IP literals');
  };
  const resolvingTo =
    (...addresses: string[]): ResolveAll =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  // WHATWG URL normalizes odd IPv4 notations to dotted quads: every one of these is refused
  // without a DNS lookup.
  const LITERALS = [
    'http://127.0.0.1/',
    'http://127.0.0.1./',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7F.0.0.1/',
    'http://0177.0.0.1/',
    'http://017700000001/',
    'http://127.1/',
    'http://127.0.1/',
    'http://%31%32%37.0.0.1/',
    'http://[::1]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[::127.0.0.1]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://0/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://10.0.0.1/',
    'http://192.168.1.1:8080/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'https://100.64.1.1/',
  ];
  test.each(LITERALS)('%s is refused', async (u) => {
    const r = await checkTarget(new URL(u), { allowPrivate: false, resolve: never });
    expect(r).toMatchObject({ ok: false, reason: 'FORBIDDEN' });
  });

  test('localhost and *.localhost are loopback by name, even if the resolver disagrees', async () => {
    for (const u of ['http://localhost/', 'http://LOCALHOST:8080/', 'http://localhost./', 'http://api.localhost/']) {
      const r = await checkTarget(new URL(u), { allowPrivate: false, resolve: resolvingTo('93.184.216.34') });
      expect(r).toMatchObject({ ok: false, reason: 'FORBIDDEN', refusal: { category: 'loopback' } });
    }
  });

  test('a name is refused if any of its addresses is refused', async () => {
    const r = await checkTarget(new URL('https://hooks.partner.test/x'), {
      allowPrivate: false,
      resolve: resolvingTo('93.184.216.34', '10.0.0.7'),
    });
    expect(r).toMatchObject({ ok: false, reason: 'FORBIDDEN', refusal: { category: 'private', address: '10.0.0.7' } });
    // The message for the API client does not reveal the address.
    expect((r as { message: string }).message).not.toContain('10.0.0.7');
  });

  test('a public name: the checked address is the one to connect to', async () => {
    const r = await checkTarget(new URL('https://hooks.partner.test/x'), {
      allowPrivate: false,
      resolve: resolvingTo('93.184.216.34', '2606:4700::1'),
    });
    expect(r).toEqual({ ok: true, hostname: 'hooks.partner.test', address: '93.184.216.34', family: 4 });
  });

  test('resolution failures are reported as UNRESOLVED with their code', async () => {
    const failing: ResolveAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND' });
    };
    expect(await checkTarget(new URL('https://nope.invalid/'), { allowPrivate: false, resolve: failing })).toMatchObject({
      ok: false,
      reason: 'UNRESOLVED',
      code: 'ENOTFOUND',
    });
    expect(await checkTarget(new URL('https://empty.test/'), { allowPrivate: false, resolve: resolvingTo() })).toMatchObject({
      ok: false,
      reason: 'UNRESOLVED',
    });
  });

  test('allowPrivate lets loopback through, never metadata', async () => {
    expect(await checkTarget(new URL('http://127.0.0.1:9/'), { allowPrivate: true, resolve: never })).toMatchObject({
      ok: true,
      address: '127.0.0.1',
    });
    expect(await checkTarget(new URL('http://localhost:9/'), { allowPrivate: true, resolve: resolvingTo('127.0.0.1') })).toMatchObject({
      ok: true,
      address: '127.0.0.1',
    });
    expect(await checkTarget(new URL('http://meta.test/'), { allowPrivate: true, resolve: resolvingTo('169.254.169.254') })).toMatchObject({
      ok: false,
      refusal: { category: 'metadata' },
    });
  });

  test('bareHost strips brackets and trailing dots', () => {
    expect(bareHost('[::1]')).toBe('::1');
    expect(bareHost('Example.COM..')).toBe('example.com');
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
  test('is off by default, on with true/1/yes/on, and a bad value names the variable', () => {
    expect(loadConfig({}).webhookAllowPrivateTargets).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test' }).webhookAllowPrivateTargets).toBe(false);
    for (const v of ['true', '1', 'yes', 'on'])
      expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: v }).webhookAllowPrivateTargets).toBe(true);
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' }).webhookAllowPrivateTargets).toBe(false);
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'maybe' })).toThrow(
      'Invalid configuration: WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false, got "maybe"',
    );
  });
});
