/**
 * Which certificate answers a TLS client, from the name it asks for (SNI): an exact name
 * first, then a wildcard `*.example.com`, which covers one label (`a.example.com`, not
 * `a.b.example.com` nor `example.com`, as certificate wildcards do, RFC 6125 §6.4.3), then the
 * default: the first entry without hosts, or the first entry. Returns an index into `entries`.
 */
export function pickCertificate(
  servername: string | undefined,
  entries: readonly { readonly hosts: readonly string[] }[],
): number {
  const name = servername?.toLowerCase().replace(/\.$/, '');
  if (name) {
    for (let i = 0; i < entries.length; i++) if (entries[i]!.hosts.includes(name)) return i;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wildcard = `*${name.slice(dot)}`;
      for (let i = 0; i < entries.length; i++) if (entries[i]!.hosts.includes(wildcard)) return i;
    }
  }
  const fallback = entries.findIndex((entry) => entry.hosts.length === 0);
  return fallback === -1 ? 0 : fallback;
}
