import test from 'ava';
import type { RouteSettings } from '../../src/config/types.ts';
import { createRouter, hostMatches, hostName, pathMatches, stripPrefix } from '../../src/routing/router.ts';

const route = (name: string, over: Partial<RouteSettings>): RouteSettings => ({
  name,
  host: undefined,
  path: '/',
  methods: undefined,
  pool: name,
  stripPath: false,
  websocket: false,
  maxBody: false,
  ...over,
});

const pathCases: Array<[prefix: string, path: string, matches: boolean]> = [
  ['/api', '/api', true],
  ['/api', '/api/', true],
  ['/api', '/api/x/y', true],
  ['/api', '/apix', false],
  ['/api', '/ap', false],
  ['/api', '/', false],
  ['/', '/anything', true],
  ['/a/b', '/a/b/c', true],
  ['/a/b', '/a/bc', false],
];
for (const [prefix, path, matches] of pathCases) {
  test(`path prefix ${prefix} ${matches ? 'matches' : 'does not match'} ${path}`, (t) => {
    t.is(pathMatches(prefix, path), matches);
  });
}

const hostCases: Array<[pattern: string | undefined, host: string | undefined, matches: boolean]> = [
  ['api.example.com', 'api.example.com', true],
  ['api.example.com', 'www.example.com', false],
  ['*.example.com', 'a.example.com', true],
  ['*.example.com', 'a.b.example.com', true],
  ['*.example.com', 'example.com', false],
  ['*.example.com', 'badexample.com', false],
  [undefined, undefined, true],
  ['api.example.com', undefined, false],
  ['api.example.com', 'xapi.example.com', false], // an exact host never suffix-matches
  ['api.example.com', 'api.example.com.evil', false],
  ['*.example.com', undefined, false], // a wildcard route and a request without Host
  ['*.example.com', '.example.com', false], // the wildcard stands for at least one character
  ['*.example.com', 'example.com.evil', false],
];
for (const [pattern, host, matches] of hostCases) {
  test(`host ${pattern ?? '(any)'} ${matches ? 'matches' : 'does not match'} ${host ?? '(none)'}`, (t) => {
    t.is(hostMatches(pattern, host), matches);
  });
}

test('host names lose their port, case and trailing dot; IPv6 keeps brackets', (t) => {
  t.is(hostName('API.Example.COM:8080'), 'api.example.com');
  t.is(hostName('example.com.'), 'example.com');
  t.is(hostName('[::1]:8080'), '[::1]');
  t.is(hostName(undefined), undefined);
  t.is(hostName(''), undefined, 'an empty Host is no host');
  t.is(hostName('[::ABC]'), '[::abc]', 'IPv6 without a port, lower-cased');
  t.is(hostName('[::1'), '[::1', 'an unclosed bracket is kept as it is (validHost refuses it earlier)');
  t.is(hostName('Example.com'), 'example.com', 'no port, no dot: only the case changes');
});

test('stripPath removes the prefix and keeps a leading slash', (t) => {
  t.is(stripPrefix('/api', '/api/users'), '/users');
  t.is(stripPrefix('/api', '/api'), '/');
  t.is(stripPrefix('/', '/x'), '/x');
});

test('first match wins, in config order', (t) => {
  const router = createRouter([
    route('admin', { host: 'admin.example.com' }),
    route('api-write', { path: '/api', methods: ['POST', 'PUT'] }),
    route('api', { path: '/api' }),
    route('wild', { host: '*.example.com' }),
    route('fallback', {}),
  ]);
  const cases: Array<[host: string, path: string, method: string, expected: string]> = [
    ['admin.example.com', '/api', 'POST', 'admin'],
    ['x.example.com', '/api/users', 'POST', 'api-write'],
    ['x.example.com', '/api/users', 'GET', 'api'],
    ['x.example.com', '/apix', 'GET', 'wild'],
    ['other.org', '/apix', 'GET', 'fallback'],
  ];
  for (const [host, path, method, expected] of cases) {
    t.is(router.match(host, path, method)?.name, expected, `${method} ${host}${path}`);
  }
});

test('a host route and a request without Host: no match; a route without host matches it', (t) => {
  const router = createRouter([
    route('exact', { host: 'api.example.com' }),
    route('wild', { host: '*.example.com' }),
    route('any', { path: '/api' }),
  ]);
  t.is(router.match(undefined, '/api', 'GET')?.name, 'any');
  t.is(router.match(undefined, '/other', 'GET'), undefined);
  t.is(router.match('xapi.example.com', '/other', 'GET')?.name, 'wild', 'the exact route does not take a longer name');
});

test('no route: undefined', (t) => {
  const router = createRouter([route('api', { path: '/api' })]);
  t.is(router.match('h', '/other', 'GET'), undefined);
});
