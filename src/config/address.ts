/** A parsed "host:port". IPv6 hosts are written in brackets ("[::1]:7401") and stored without them. */
export interface HostPort {
  host: string;
  port: number;
}

const HOST_NAME = /^[A-Za-z0-9_.-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** The host and port, or why `text` is not host:port with port 1..65535. */
export function hostPortOrReason(text: string): HostPort | string {
  const expected = `expected host:port, got "${text}"`;
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']:');
    if (close < 0) return expected;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!IPV6.test(host)) return expected;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return expected;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (!HOST_NAME.test(host)) return expected;
  }
  if (!/^\d{1,5}$/.test(portText)) return expected;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${port} is out of range 1..65535 in "${text}"`;
  return { host, port };
}

/**
 * Hosts that bind the same sockets compare equal: case-insensitive, localhost = 127.0.0.1. A wildcard
 * host (0.0.0.0, ::) takes the port on every interface, so it clashes with any host.
 */
export function sameBindHost(a: string, b: string): boolean {
  const x = canonicalHost(a);
  const y = canonicalHost(b);
  return x === y || WILDCARDS.has(x) || WILDCARDS.has(y);
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return h === 'localhost' ? '127.0.0.1' : h;
}
