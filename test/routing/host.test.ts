import test from 'ava';
import { authorityKey, validHost } from '../../src/routing/host.ts';

const valid: string[] = [
  'example.com',
  'API.Example.COM',
  'a.example.com:8080',
  'example.com.',
  'example.com.:443',
  'localhost',
  'a_b.internal',
  'x-1.example',
  'zz.z', // the last letter, in both cases
  'ZZ.Z',
  'xn--bcher-kva.example',
  '1.example.com',
  'example.123abc',
  '127.0.0.1',
  '127.0.0.1:80',
  '0.0.0.0',
  '255.255.255.255:65535',
  '[::1]',
  '[::1]:8080',
  '[2001:db8::1]',
  '[2001:DB8::A]',
  '[::ffff:127.0.0.1]',
  'a:1',
  `${'a'.repeat(63)}.example`,
  `${'a.'.repeat(126)}a`, // 253 characters
  'a:9', // the last digit
  'a:59999',
  '9.9.9.9',
  'a.1-2', // a last label with a '-' is no number
  'a.1x2', // 'x' second, but no leading 0: no hex number
  'a.0xg', // 0x and a non-hex digit: no number
  'a.0x1g',
  'a.0xG',
  'a.0a', // a leading 0 without the x: decimal digits only
  'a.0x-1', // '-' is no hex digit
];

const invalid: Array<[host: string, why: string]> = [
  ['', 'empty'],
  ['evil.com/.example.com', 'slash'],
  ['x.example.com:1@evil.com', 'userinfo after a port'],
  ['user@x.example.com', 'userinfo'],
  ['evil.com?.example.com', 'query'],
  ['evil.com#.example.com', 'fragment'],
  ['evil.com\\.example.com', 'backslash'],
  ['evil.com .example.com', 'space'],
  ['evil.com,x.example.com', 'comma (X-Forwarded-Host lists)'],
  ['evil.com;.example.com', 'sub-delim'],
  ['evil.com%2f.example.com', 'percent-encoding'],
  ['*.example.com', 'asterisk'],
  ['exämple.com', 'non-ASCII (IDNs travel as xn--)'],
  ['a..example.com', 'empty label'],
  ['.example.com', 'leading dot'],
  ['example.com..', 'two trailing dots'],
  ['.', 'only a dot'],
  [`${'a'.repeat(64)}.example`, 'label over 63'],
  [`${'a.'.repeat(127)}a`, 'name over 253'],
  ['example.com:', 'empty port'],
  ['example.com:65536', 'port over 65535'],
  ['example.com:99999', 'port over 65535'],
  ['example.com:123456', 'six-digit port'],
  ['example.com:8o', 'port with a letter'],
  ['example.com:80:80', 'two ports'],
  ['example.com:-1', 'negative port'],
  [':80', 'port only'],
  ['1.2.3.999', 'numeric last label, not an IPv4 address'],
  ['127.1', 'short IPv4 form'],
  ['127.1.', 'short IPv4 form, absolute'],
  ['127.1:80', 'short IPv4 form with a port'],
  ['0x7f.0.0.1', 'hex IPv4 part'],
  ['example.0x7f', 'hex last label'],
  ['010.0.0.1', 'octal-looking IPv4 part'],
  ['1.2.3.4.5', 'five numeric parts'],
  ['2130706433', 'IPv4 as one number'],
  ['[::1', 'unclosed bracket'],
  ['[::1]x', 'junk after the bracket'],
  ['[::1]:', 'empty port after IPv6'],
  ['[::1]:70000', 'IPv6 with a port over 65535'],
  ['[not-ipv6]', 'not an address'],
  ['[127.0.0.1]', 'IPv4 in brackets'],
  ['[fe80::1%25eth0]', 'zone identifier'],
  ['[v1.fe]', 'IPvFuture'],
  ['::1', 'IPv6 without brackets'],
  ['[::1]x80', 'junk instead of the colon before a port'],
  ['example.com:000080', 'six digits, even with leading zeros'],
  ['1-1.2.3.4', "a '-' in a numeric-looking IPv4 part"],
  ['1a.2.3.4', 'a letter in an IPv4 part'],
  ['a.0x', 'hex prefix alone: a number to URL parsers'],
  ['a.0x1f', 'hex last label'],
  ['a.0X1F', 'hex last label, upper case'],
  ['a.0xa', "hex digit 'a'"],
  ['a.0xf', "hex digit 'f'"],
  ['a.0xA', "hex digit 'A'"],
  ['a.0xF', "hex digit 'F'"],
  ['a.0x0', "hex digit '0'"],
  ['a.0x9', "hex digit '9'"],
];

for (const host of valid) {
  test(`valid host ${JSON.stringify(host.length > 40 ? `${host.slice(0, 20)}…(${host.length})` : host)}`, (t) => {
    t.true(validHost(host));
  });
}

for (const [host, why] of invalid) {
  test(`invalid host ${JSON.stringify(host.length > 40 ? `${host.slice(0, 20)}…(${host.length})` : host)}: ${why}`, (t) => {
    t.false(validHost(host));
  });
}

const authorities: Array<[a: string, b: string, defaultPort: number, same: boolean]> = [
  ['x.example.com', 'X.Example.COM', 80, true],
  ['x.example.com:80', 'x.example.com', 80, true],
  ['x.example.com:443', 'x.example.com', 443, true],
  ['x.example.com:443', 'x.example.com', 80, false],
  ['x.example.com.', 'x.example.com', 80, true],
  ['[::1]:80', '[::1]', 80, true],
  ['[::1]:8080', '[::1]', 80, false],
  ['a.example.com', 'b.example.com', 80, false],
];
for (const [a, b, port, same] of authorities) {
  test(`authority ${a} ${same ? '=' : '≠'} ${b} (default port ${port})`, (t) => {
    t.is(authorityKey(a, port) === authorityKey(b, port), same);
  });
}

const keys: Array<[value: string, defaultPort: number, key: string]> = [
  ['X.Example.COM', 443, 'x.example.com:443'],
  ['X.Example.COM:80', 443, 'x.example.com:80'],
  ['a:80', 443, 'a:80'],
  ['[1::]:8080', 80, '[1::]:8080'],
  ['[::1]', 80, '[::1]:80'],
  ['example.com.:8443', 443, 'example.com:8443'],
];
for (const [value, defaultPort, key] of keys) {
  test(`authority key of ${value} (default port ${defaultPort}) is ${key}`, (t) => {
    t.is(authorityKey(value, defaultPort), key);
  });
}
