import test from 'ava';
import { canonicalTarget } from '../../src/routing/canonical-path.ts';

const cases: Array<[target: string, path: string | undefined, query?: string]> = [
  ['/', '/'],
  ['/api/users?x=1', '/api/users', '?x=1'],
  ['/api//users', '/api/users'],
  ['/public/../admin', '/admin'],
  ['/public/%2e%2e/admin', '/admin'],
  ['/public/%2E%2E/admin', '/admin'],
  ['/a/./b', '/a/b'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/a/b/..', '/a/'],
  ['/api/', '/api/'],
  ['/a%2Fb', '/a%2Fb'],
  ['/caf%C3%A9', '/caf%C3%A9'],
  ['/x?a=..//b', '/x', '?a=..//b'],
  ['/bad%zz', undefined],
  ['/bad%', undefined],
  ['/back\\slash', undefined],
  ['api', undefined],
  ['*', undefined],
];

for (const [target, path, query = ''] of cases) {
  test(`${JSON.stringify(target)} → ${path === undefined ? 'rejected' : JSON.stringify(path + query)}`, (t) => {
    const result = canonicalTarget(target);
    if (path === undefined) t.is(result, undefined);
    else t.deepEqual(result, { path, query });
  });
}
