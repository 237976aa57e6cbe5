import test from 'ava';
import { canonicalTarget, type EscapedSlashes } from '../../src/routing/canonical-path.ts';

/** [target, canonical path (undefined: refused), decoded reading (default: the path), query]. */
type Case = [target: string, path: string | undefined, decoded?: string, query?: string];

const everyMode: Case[] = [
  ['/', '/'],
  ['/api/users?x=1', '/api/users', undefined, '?x=1'],
  ['/api//users', '/api/users'],
  ['/public/../admin', '/admin'],
  ['/public/%2e%2e/admin', '/admin'],
  ['/public/%2E%2E/admin', '/admin'],
  ['/public/.%2e/admin', '/admin'],
  ['/a/./b', '/a/b'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/a/b/..', '/a/'],
  ['/api/', '/api/'],
  ['/.well-known/x', '/.well-known/x'],
  ['/caf%C3%A9', '/caf%C3%A9'],
  ['/caf%c3%a9', '/caf%C3%A9'],
  ['/%61pi/%7Euser', '/api/~user'],
  ['/a%20b', '/a%20b'],
  ['/a%25b', '/a%25b'],
  ['/x?a=..//b', '/x', undefined, '?a=..//b'],
  ['/x?a=%2F..%2F', '/x', undefined, '?a=%2F..%2F'],
  // `;` parameters are forwarded; the decoded reading drops them.
  ['/api/x;v=1/y', '/api/x;v=1/y', '/api/x/y'],
  ['/api;jsessionid=1/x', '/api;jsessionid=1/x', '/api/x'],
  ['/;x/api', '/;x/api', '/api'],
  // A dot segment hidden behind `;` is refused: Tomcat resolves `..;`, others do not.
  ['/api/..;/admin', undefined],
  ['/api/..;jsessionid=1/admin', undefined],
  ['/api/.;/x', undefined],
  ['/x/..;/api/secret', undefined],
  ['/bad%zz', undefined],
  ['/bad%', undefined],
  ['/bad%2', undefined],
  ['/x%2', undefined], // `%` with one hex digit at the end
  ['/a%2gb', undefined], // one hex digit, then not hex
  ['/a%g2b', undefined],
  ['/a%/b', undefined], // below '0'
  ['/a%:0b', undefined], // above '9'
  ['/a%`0', undefined], // '`' | 32 is below 'a'
  ['/a%@0', undefined], // '@' | 32 is '`'
  ['/a%G0', undefined], // 'G' | 32 is 'g', above 'f'
  // Trailing `/` and `/.` say "a directory": kept; `..` back to the root is `/`.
  ['/a/.', '/a/'],
  ['/a/b/.', '/a/b/'],
  ['/a/', '/a/'],
  ['/a/..', '/'],
  ['/..', '/'],
  ['/.', '/'],
  ['//', '/'],
  ['/a/%2e', '/a/'],
  ['/a.b/c', '/a.b/c'],
  ['/a/.b', '/a/.b'],
  ['/nul%00', undefined],
  // A request target has no fragment: `#` is refused, not cut (an upstream would read `/api/..#x` as `/`).
  ['/a#b', undefined],
  ['/api/..#x', undefined],
  ['/x?q=#', undefined],
  ['/back\\slash', undefined],
  ['api', undefined],
  ['*', undefined],
];

/** Every escape of an unreserved character is decoded, its neighbours upper-cased (RFC 3986 §2.3, §6.2.2). */
const escapes: Array<[escape: string, canonical: string]> = [
  ['%30', '0'],
  ['%39', '9'],
  ['%41', 'A'],
  ['%5A', 'Z'],
  ['%5a', 'Z'],
  ['%61', 'a'],
  ['%7A', 'z'],
  ['%7a', 'z'],
  ['%2D', '-'],
  ['%2E', '.'],
  ['%5F', '_'],
  ['%7E', '~'],
  ['%7e', '~'],
  ['%Af', '%AF'],
  // Control characters other than NUL stay escaped (a first hex digit 0 is a digit like any other).
  ['%01', '%01'],
  ['%0a', '%0A'],
  ['%0F', '%0F'],
  ['%fA', '%FA'],
  ['%2C', '%2C'],
  ['%2f', '%2F'],
  ['%3A', '%3A'],
  ['%40', '%40'],
  ['%5B', '%5B'],
  ['%5c', '%5C'],
  ['%60', '%60'],
  ['%7B', '%7B'],
  ['%7F', '%7F'],
  ['%2c', '%2C'],
  ['%3a', '%3A'],
  ['%5b', '%5B'],
  ['%7b', '%7B'],
];
for (const [encoded, canonical] of escapes) {
  test(`keep: /x${encoded}y → /x${canonical}y`, (t) => {
    t.is(canonicalTarget(`/x${encoded}y`, 'keep')?.path, `/x${canonical}y`);
  });
}

test('escapes next to each other and at the end are all read', (t) => {
  t.is(canonicalTarget('/%61%62/%7e%63')?.path, '/ab/~c');
  t.is(canonicalTarget('/a%3ab%3a')?.path, '/a%3Ab%3A');
});

/** Encoded slashes kept inside their segment (the default). */
const keep: Case[] = [
  ['/a%2Fb', '/a%2Fb', '/a/b'],
  ['/api/@scope%2fname', '/api/@scope%2Fname', '/api/@scope/name'],
  ['/api%2Fsecret', '/api%2Fsecret', '/api/secret'],
  ['/a%5Cb', '/a%5Cb', '/a/b'],
  ['/a%2F%2Fb', '/a%2F%2Fb', '/a/b'],
  ['/api/..%2Fadmin', undefined],
  ['/api/..%2fadmin', undefined],
  ['/api/%2e%2e%2fadmin', undefined],
  ['/api/%2E%2E%2Fadmin', undefined],
  ['/api/..%5Cadmin', undefined],
  ['/api/..%5cadmin', undefined],
  ['/api/a%2F..%2F..%2Fadmin', undefined],
  ['/api%2F..%2Fadmin', undefined],
  ['/api/x%2F.', undefined],
  ['/a%2Fb/', '/a%2Fb/', '/a/b/'],
  ['/;x/', '/;x/', '/'],
  ['/a;x', '/a;x', '/a'],
  ['/a%2F', '/a%2F', '/a'],
];

/** Encoded slashes are separators: decoded, then merged and resolved like any other. */
const decode: Case[] = [
  ['/a%2Fb', '/a/b'],
  ['/api/@scope%2fname', '/api/@scope/name'],
  ['/a%5Cb', '/a/b'],
  ['/api/..%2Fadmin', '/admin'],
  ['/api/a%2F..%2Fb', '/api/b'],
  ['/api/..%2F;x/admin', '/;x/admin', '/admin'],
  ['/api/..;%2Fadmin', undefined],
];

/** Encoded slashes refused outright. */
const reject: Case[] = [
  ['/a%2Fb', undefined],
  ['/a%2fb', undefined],
  ['/a%5Cb', undefined],
  ['/api/..%2Fadmin', undefined],
  ['/a/b', '/a/b'],
];

function check(mode: EscapedSlashes, cases: Case[]) {
  for (const [target, path, decoded = path, query = ''] of cases) {
    test(`${mode}: ${JSON.stringify(target)} → ${path === undefined ? 'refused' : JSON.stringify(path + query)}`, (t) => {
      const result = canonicalTarget(target, mode);
      if (path === undefined) t.is(result, undefined);
      else t.deepEqual(result, { path, query, decoded });
    });
  }
}

for (const mode of ['keep', 'decode', 'reject'] as const) check(mode, everyMode);
check('keep', keep);
check('decode', decode);
check('reject', reject);

test('the default is keep', (t) => {
  t.deepEqual(canonicalTarget('/@scope%2Fname'), { path: '/@scope%2Fname', query: '', decoded: '/@scope/name' });
});

test('a plain path is returned as it came, without copies', (t) => {
  const target = '/api/users/42';
  const result = canonicalTarget(target)!;
  t.is(result.path, target);
  t.is(result.decoded, result.path);
});
