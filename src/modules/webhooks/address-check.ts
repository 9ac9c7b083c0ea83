/**
 * Which network addresses a webhook may be sent to (the SSRF guard). Pure: no I/O here except
 * through the resolver a caller passes in, so every rule is unit-tested (test/unit/address-check).
 *
 * Only public unicast addresses are allowed. Refused: loopback, private (RFC 1918, IPv6 ULA),
 * link-local, CGNAT, multicast, unspecified, broadcast, documentation and other reserved ranges,
 * cloud metadata addresses, and IPv6 forms that embed a refused IPv4 address (IPv4-mapped,
 * IPv4-compatible, NAT64, 6to4). With `allowPrivate` (WEBHOOK_ALLOW_PRIVATE_TARGETS, for tests and
 * on-premise use) loopback, private, link-local and CGNAT targets are allowed; metadata,
 * unspecified, multicast, broadcast and reserved addresses never are.
 *
 * Odd IPv4 notations (2130706433, 0x7f000001, 0177.0.0.1, 127.1) are normalized by the WHATWG URL
 * parser before they get here; the resolver's answers are canonical. Anything else is a host name,
 * resolved, and refused if ANY of its addresses is refused; the caller then connects to the
 * address that was checked (not to a second resolution of the name).
 */
import net from 'node:net';

export type AddressCategory =
  'loopback' | 'private' | 'link-local' | 'cgnat' | 'multicast' | 'unspecified' | 'broadcast' | 'reserved' | 'documentation' | 'metadata';

/** Categories that WEBHOOK_ALLOW_PRIVATE_TARGETS=true allows. */
const RELAXABLE: ReadonlySet<AddressCategory> = new Set(['loopback', 'private', 'link-local', 'cgnat']);

export interface Refusal {
  category: AddressCategory;
  /** The refused address (for logs; not shown to API clients). */
  address: string;
}

/** Cloud metadata and platform service addresses: never a webhook target. */
const METADATA_V4 = [
  '169.254.169.254',
  '169.254.169.253',
  '169.254.169.123',
  '169.254.170.2',
  '169.254.170.23',
  '100.100.100.200',
  '168.63.129.16',
  '192.0.0.192',
];
const METADATA_V6 = ['fd00:ec2::254', 'fd00:ec2::23', 'fd20:ce::254'];

type V4Rule = [base: number, prefix: number, category: AddressCategory];

const v4 = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

/** Most specific first. */
const V4_RULES: V4Rule[] = [
  ...METADATA_V4.map((a): V4Rule => [v4(a), 32, 'metadata']),
  [v4('255.255.255.255'), 32, 'broadcast'],
  [v4('0.0.0.0'), 32, 'unspecified'],
  [v4('0.0.0.0'), 8, 'reserved'], // "this network"
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'cgnat'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.0.0.0'), 24, 'reserved'], // IETF protocol assignments
  [v4('192.0.2.0'), 24, 'documentation'],
  [v4('192.88.99.0'), 24, 'reserved'], // 6to4 relay anycast (deprecated)
  [v4('192.168.0.0'), 16, 'private'],
  [v4('198.18.0.0'), 15, 'reserved'], // benchmarking
  [v4('198.51.100.0'), 24, 'documentation'],
  [v4('203.0.113.0'), 24, 'documentation'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

function inV4(addr: number, base: number, prefix: number): boolean {
  if (prefix === 0) return true;
  const size = 2 ** (32 - prefix);
  return Math.floor(addr / size) === Math.floor(base / size);
}

function categoryV4(addr: number): AddressCategory | null {
  for (const [base, prefix, category] of V4_RULES) if (inV4(addr, base, prefix)) return category;
  return null;
}

/** Strict dotted-quad IPv4 → 32-bit number, or null. */
export function parseIPv4(s: string): number | null {
  return net.isIPv4(s) ? v4(s) : null;
}

/** IPv6 (optionally with a zone, or an embedded dotted IPv4 tail) → eight 16-bit groups, or null. */
export function parseIPv6(input: string): number[] | null {
  let s = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!net.isIPv6(s)) return null;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = parseIPv4(tail);
    if (n === null) return null;
    s = `${s.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = 8 - head.length - rest.length;
  if (halves.length === 1 ? zeros !== 0 : zeros < 1) return null;
  const groups = [...head, ...Array<string>(halves.length > 1 ? zeros : 0).fill('0'), ...rest].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

const groupsOf = (s: string) => parseIPv6(s)!;
const METADATA_V6_GROUPS = METADATA_V6.map(groupsOf);
const eq = (a: number[], b: number[]) => a.every((x, i) => x === b[i]);
/** The first `bits` bits of a and b agree. */
function prefixEq(a: number[], b: number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((a[i] & mask) !== (b[i] & mask)) return false;
  }
  return true;
}
const embeddedV4 = (g: number[], at: number) => g[at] * 65536 + g[at + 1];

function categoryV6(g: number[]): AddressCategory | null {
  if (METADATA_V6_GROUPS.some((m) => eq(m, g))) return 'metadata';
  const first96Zero = g.slice(0, 6).every((x) => x === 0);
  if (first96Zero) {
    if (g[6] === 0 && g[7] === 0) return 'unspecified';
    if (g[6] === 0 && g[7] === 1) return 'loopback';
    // IPv4-compatible (::a.b.c.d, deprecated): what it embeds, or reserved.
    return categoryV4(embeddedV4(g, 6)) ?? 'reserved';
  }
  // IPv4-mapped ::ffff:a.b.c.d: the IPv4 address itself.
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return categoryV4(embeddedV4(g, 6));
  // IPv4-translated ::ffff:0:a.b.c.d (SIIT).
  if (g.slice(0, 4).every((x) => x === 0) && g[4] === 0xffff && g[5] === 0) return categoryV4(embeddedV4(g, 6)) ?? 'reserved';
  // NAT64 well-known prefix 64:ff9b::/96: the embedded IPv4 address decides.
  if (prefixEq(g, groupsOf('64:ff9b::'), 96)) return categoryV4(embeddedV4(g, 6));
  if (prefixEq(g, groupsOf('64:ff9b:1::'), 48)) return 'private'; // local-use NAT64
  if (prefixEq(g, groupsOf('100::'), 64)) return 'reserved'; // discard-only
  if (prefixEq(g, groupsOf('fc00::'), 7)) return 'private'; // unique local
  if (prefixEq(g, groupsOf('fe80::'), 10)) return 'link-local';
  if (prefixEq(g, groupsOf('fec0::'), 10)) return 'private'; // site-local (deprecated)
  if (prefixEq(g, groupsOf('ff00::'), 8)) return 'multicast';
  // Outside global unicast 2000::/3: unassigned or special.
  if (!prefixEq(g, groupsOf('2000::'), 3)) return 'reserved';
  if (prefixEq(g, groupsOf('2001:db8::'), 32)) return 'documentation';
  if (prefixEq(g, groupsOf('3fff::'), 20)) return 'documentation';
  if (prefixEq(g, groupsOf('2001::'), 23)) return 'reserved'; // IETF protocol assignments, incl. Teredo 2001::/32
  // 6to4 2002:a.b.c.d::/48: the embedded IPv4 address decides.
  if (prefixEq(g, groupsOf('2002::'), 16)) return categoryV4(embeddedV4(g, 1));
  return null;
}

/** The category of an IP address literal that is not a public unicast address; null when it is public (or not an IP). */
export function addressCategory(ip: string): AddressCategory | null {
  const n = parseIPv4(ip);
  if (n !== null) return categoryV4(n);
  const g = parseIPv6(ip);
  return g ? categoryV6(g) : null;
}

/** Whether a webhook may be sent to this IP address: null if it may, else why not. */
export function refuseAddress(ip: string, allowPrivate: boolean): Refusal | null {
  const category = addressCategory(ip);
  if (category === null) return null;
  if (allowPrivate && RELAXABLE.has(category)) return null;
  return { category, address: ip };
}

/** A resolver: every address of a host name (like dns.lookup with { all: true }). */
export type ResolveAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

export type TargetCheck =
  | { ok: true; hostname: string; address: string; family: 4 | 6 }
  | { ok: false; reason: 'FORBIDDEN'; refusal: Refusal; message: string }
  | { ok: false; reason: 'UNRESOLVED'; code: string; message: string };

/** A URL host without brackets or a trailing dot, lower-case. */
export function bareHost(hostname: string): string {
  let h = hostname.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  while (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

const forbidden = (refusal: Refusal): TargetCheck => ({
  ok: false,
  reason: 'FORBIDDEN',
  refusal,
  message: `the URL's host is a ${refusal.category} address; webhooks are sent to public addresses only`,
});

/**
 * Checks a parsed http(s) URL's host: an IP literal directly, a name through `resolve` (every
 * answer must be allowed). On success, the address to connect to. `localhost` and `*.localhost`
 * are loopback by name (RFC 6761), whatever the resolver says.
 */
export async function checkTarget(url: URL, opts: { allowPrivate: boolean; resolve: ResolveAll }): Promise<TargetCheck> {
  const host = bareHost(url.hostname);
  const family = net.isIP(host);
  if (family) {
    const refusal = refuseAddress(host, opts.allowPrivate);
    return refusal ? forbidden(refusal) : { ok: true, hostname: host, address: host, family: family as 4 | 6 };
  }
  if ((host === 'localhost' || host.endsWith('.localhost')) && !opts.allowPrivate)
    return forbidden({ category: 'loopback', address: host });
  let answers: { address: string; family: number }[];
  try {
    answers = await opts.resolve(host);
  } catch (e) {
    const code = String((e as { code?: unknown }).code ?? 'ERESOLVE');
    return { ok: false, reason: 'UNRESOLVED', code, message: `could not resolve ${host} (${code})` };
  }
  if (answers.length === 0)
    return { ok: false, reason: 'UNRESOLVED', code: 'ENODATA', message: `could not resolve ${host} (no addresses)` };
  for (const a of answers) {
    // A resolver answer that is not an IP address at all is refused too.
    if (!net.isIP(a.address)) return forbidden({ category: 'reserved', address: a.address });
    const refusal = refuseAddress(a.address, opts.allowPrivate);
    if (refusal) return forbidden(refusal);
  }
  const first = answers[0];
  return { ok: true, hostname: host, address: first.address, family: net.isIP(first.address) as 4 | 6 };
}
