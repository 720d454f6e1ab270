// The http allow list of one hook or pack: which host and port a request may reach. An entry names a
// host and a port (`crm.example.com:443`, `127.0.0.1:8080`, `[::1]:8443`); a bare host name means only
// the default port of the URL's scheme (80 for http, 443 for https), never every port.
//
// Link-local addresses (169.254.0.0/16, fe80::/10; the cloud metadata service lives at 169.254.169.254)
// and the metadata host names are reachable only when the entry names that very address or name: a listed
// host name that resolves to a link-local address is refused at connect time (DNS cannot smuggle a
// request to the metadata service through an innocent-looking name).
import dns from 'node:dns';
import net from 'node:net';
import type { LookupFunction } from 'node:net';

/** Host names of cloud metadata services: like link-local addresses, only reachable when listed as such. */
export const METADATA_HOST_NAMES = ['metadata.google.internal', 'metadata', 'metadata.azure.com', 'instance-data', 'instance-data.ec2.internal'];

/** `host:port` / `[v6]:port` / `host` → its parts (host lower-case, brackets dropped); null when malformed. */
export function parseAllowEntry(entry: string): { host: string; port: number | null } | null {
  const e = entry.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(e);
  if (v6) return withPort(v6[1] ?? '', v6[2]);
  const m = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/.exec(e);
  if (!m) return null;
  return withPort(m[1] ?? '', m[2]);
}

function withPort(host: string, port: string | undefined): { host: string; port: number | null } | null {
  if (host === '') return null;
  if (port === undefined) return { host, port: null };
  const n = Number(port);
  return n >= 1 && n <= 65535 ? { host, port: n } : null;
}

/** The canonical `host:port` form of an entry (IPv6 in brackets), for comparing lists. */
export function canonicalEntry(entry: string): string | null {
  const p = parseAllowEntry(entry);
  if (p === null || p.port === null) return null;
  return `${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;
}

/** True for IPv4 169.254.0.0/16 and IPv6 fe80::/10 (also IPv4-mapped IPv6). */
export function isLinkLocal(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  const v4 = mapped ? mapped[1] ?? '' : a;
  if (net.isIPv4(v4)) return v4.startsWith('169.254.');
  if (!net.isIPv6(a)) return false;
  const first = parseInt(a.split(':')[0] || '0', 16);
  return (first & 0xffc0) === 0xfe80;
}

function defaultPort(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** True when the URL's host and port are on the allow list. */
export function hostAllowed(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = defaultPort(url);
  return allowHosts.some((entry) => {
    const p = parseAllowEntry(entry);
    if (p === null || p.host !== host) return false;
    return p.port === null ? port === (url.protocol === 'https:' ? 443 : 80) : p.port === port;
  });
}

/**
 * The DNS lookup a request uses: a name that resolves to a link-local address is refused (the entry named
 * a host, not the metadata address), unless the name is a metadata service's own name (then listing that
 * name was the explicit choice). An IP literal in the URL is not looked up, so a listed literal works.
 */
export const linkLocalGuardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, '', 4);
      return;
    }
    const list = Array.isArray(addresses) ? addresses : [];
    const metadataName = METADATA_HOST_NAMES.includes(hostname.toLowerCase());
    const bad = list.find((a) => isLinkLocal(a.address));
    if ((bad !== undefined && !metadataName) || list.length === 0) {
      const refused = Object.assign(new Error(`'${hostname}' resolves to a link-local address; list that address itself to allow it`), { code: 'ELINKLOCAL' });
      callback(refused, '', 4);
      return;
    }
    if (options.all === true) callback(null, list);
    else callback(null, list[0]?.address ?? '', list[0]?.family ?? 4);
  });
};
