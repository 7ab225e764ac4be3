/**
 * True for an address only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped),
 * `localhost`. Brackets around an IPv6 address are allowed. Traffic to these never leaves the
 * machine, which is why plain ws:// is fine there and nowhere else.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    h === '::1' ||
    /^(?:::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}
