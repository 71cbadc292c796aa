import { BlockList, isIP } from 'node:net';
import { IssuerConfigError } from './errors.js';

/**
 * Who sent a request, for the failed-authentication limit and the audit log.
 *
 * Behind a reverse proxy every request arrives from the proxy's address; the issuer then takes the
 * client's address from `X-Forwarded-For`, but only when the connection comes from a proxy listed in
 * `trustedProxies` — anyone else could write any address into that header. The list is read right to
 * left (each proxy appends the address it saw), skipping trusted proxies, so a client cannot hide
 * behind an address it prepended itself.
 */
export interface ClientAddressResolver {
  /** The client's address: the socket peer, or the forwarded one when the peer is a trusted proxy. */
  resolve(socketAddress: string | undefined, forwardedFor: string | string[] | undefined): string;
}

/**
 * `trustedProxies`: IP addresses or CIDR blocks (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`). Throws an
 * {@link IssuerConfigError} naming the entry that is neither.
 */
export function clientAddressResolver(trustedProxies: readonly string[] = []): ClientAddressResolver {
  const trusted = new BlockList();
  for (const entry of trustedProxies) addTrusted(trusted, entry);
  const isTrusted = (address: string) => {
    const family = isIP(address);
    return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return {
    resolve(socketAddress, forwardedFor) {
      const peer = normalize(socketAddress ?? '') ?? 'unknown';
      if (trustedProxies.length === 0 || !isTrusted(peer)) return peer;
      const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
        .split(',')
        .map((hop) => hop.trim())
        .filter(Boolean);
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = normalize(hops[i] as string);
        // Garbage in the header is the proxy chain's problem, not an address: stop at the last sane hop.
        if (hop === undefined) return peer;
        if (!isTrusted(hop)) return hop;
      }
      return peer;
    },
  };
}

/**
 * The subject the per-address limit counts: the address itself for IPv4, its /64 network for IPv6 —
 * one IPv6 host usually holds a whole /64, so counting single addresses would let it rotate freely.
 */
export function rateLimitSubject(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}

function addTrusted(list: BlockList, entry: string): void {
  const [address, prefixText, extra] = entry.trim().split('/');
  const family = isIP(address ?? '');
  const prefix = prefixText === undefined ? undefined : Number(prefixText);
  const maxPrefix = family === 6 ? 128 : 32;
  const valid =
    family !== 0 &&
    extra === undefined &&
    (prefix === undefined || (Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix));
  if (!valid) {
    throw new IssuerConfigError(
      `trustedProxies: ${JSON.stringify(entry.slice(0, 64))} is not an IP address or CIDR block`,
    );
  }
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (prefix === undefined) list.addAddress(address as string, type);
  else list.addSubnet(address as string, prefix, type);
}

/** A bare IP address (IPv4-mapped IPv6 unwrapped, brackets, ports and zone ids removed), or undefined. */
function normalize(text: string): string | undefined {
  let address = text;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1] as string;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  address = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1] as string;
  return isIP(address) === 0 ? undefined : address.toLowerCase();
}

function expandIpv6(address: string): string[] | undefined {
  let text = address;
  // An embedded IPv4 tail (::1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined;
  return [...left, ...Array(Math.max(0, missing)).fill('0'), ...right].map((g) =>
    g.toLowerCase().padStart(4, '0'),
  );
}
