import test from 'ava';
import { pickCertificate } from '../../src/listen/sni.ts';

const entries = [
  { hosts: [] }, // 0: the default
  { hosts: ['api.example.com', 'www.example.com'] },
  { hosts: ['*.example.com'] },
  { hosts: ['*.apps.example.com', 'apps.example.com'] },
];

const cases: Array<[string | undefined, number, string]> = [
  ['api.example.com', 1, 'an exact name'],
  ['API.Example.COM.', 1, 'names compare without case and trailing dot'],
  ['shop.example.com', 2, 'a wildcard covers one label'],
  ['api.example.com', 1, 'an exact name wins over a wildcard that also covers it'],
  ['x.apps.example.com', 3, 'the most specific wildcard: the one for the name’s own parent'],
  ['apps.example.com', 3, 'listed exactly next to the wildcard'],
  ['a.b.example.com', 0, 'a wildcard never covers two labels'],
  ['example.com', 0, 'nor the bare domain'],
  ['other.org', 0, 'unknown names get the default'],
  [undefined, 0, 'no SNI (a client that connects by address) gets the default'],
];

for (const [servername, expected, why] of cases) {
  test(`SNI ${JSON.stringify(servername)} → entry ${expected}: ${why}`, (t) => {
    t.is(pickCertificate(servername, entries), expected);
  });
}

test('without an entry free of hosts, the first entry is the default', (t) => {
  t.is(pickCertificate('nothing.test', [{ hosts: ['a.test'] }, { hosts: ['b.test'] }]), 0);
});
