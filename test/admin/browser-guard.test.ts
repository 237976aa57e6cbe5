import test from 'ava';
import type { IncomingHttpHeaders } from 'node:http';
import { adminHostCheck, browserRefusal } from '../../src/admin/browser-guard.ts';

/** [listen host, allowedHosts, Host header, answered]. */
const hostCases: Array<[listen: string, allowed: string[], host: string | undefined, answered: boolean]> = [
  ['127.0.0.1', [], '127.0.0.1:9901', true],
  ['127.0.0.1', [], 'localhost:9901', true],
  ['127.0.0.1', [], 'localhost', true],
  ['127.0.0.1', [], '[::1]:9901', true],
  ['127.0.0.1', [], 'LocalHost.:9901', true],
  ['127.0.0.1', [], 'evil.example:9901', false],
  ['127.0.0.1', [], 'localhost.evil.example', false],
  ['127.0.0.1', [], '10.0.0.5:9901', false],
  ['127.0.0.1', [], undefined, false],
  ['127.0.0.1', [], 'evil.example/x', false],
  ['127.0.0.2', [], '127.0.0.2:9901', true],
  ['127.0.0.2', [], 'localhost', true],
  ['::1', [], '[::1]:9901', true],
  ['::1', [], 'localhost:9901', true],
  ['localhost', [], '127.0.0.1', true],
  // A specific address: that address only (and the names in allowedHosts).
  ['10.0.0.5', [], '10.0.0.5:9901', true],
  ['10.0.0.5', [], '10.0.0.6:9901', false],
  ['10.0.0.5', [], 'localhost:9901', false],
  ['10.0.0.5', ['admin.internal'], 'admin.internal:9901', true],
  ['10.0.0.5', ['Admin.Internal.'], 'admin.internal', true],
  ['admin.internal', [], 'admin.internal:9901', true],
  ['admin.internal', [], 'evil.example:9901', false],
  // A wildcard: any address (a published container port carries the host's address), localhost, no other names.
  ['0.0.0.0', [], '192.0.2.7:9901', true],
  ['0.0.0.0', [], '[2001:db8::7]:9901', true],
  ['0.0.0.0', [], 'localhost:9901', true],
  ['0.0.0.0', [], 'evil.example:9901', false],
  ['0.0.0.0', ['gw-a'], 'gw-a:9901', true],
  ['::', [], '127.0.0.1:9901', true],
  ['::', [], 'evil.example', false],
];

for (const [listen, allowed, host, answered] of hostCases) {
  test(`admin on ${listen}${allowed.length ? ` + ${allowed.join(', ')}` : ''}: Host ${host ?? '(none)'} ${answered ? 'answered' : 'refused'}`, (t) => {
    t.is(adminHostCheck(listen, allowed)(host), answered);
  });
}

const self = '127.0.0.1:9901';
const loopback = adminHostCheck('127.0.0.1', []);
const call = (method: string, headers: IncomingHttpHeaders, path = '/pools/web/failover') =>
  browserRefusal({ method, path, headers: { host: self, ...headers } }, loopback)?.code;

/** [method, headers besides Host, refusal code or undefined]. */
const calls: Array<[name: string, method: string, headers: IncomingHttpHeaders, code: string | undefined]> = [
  [
    'GET from anywhere (the browser hides the answer)',
    'GET',
    { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    undefined,
  ],
  ['OPTIONS', 'OPTIONS', { origin: 'http://evil.example' }, undefined],
  ['curl -X POST', 'POST', {}, undefined],
  ['curl -X POST with Content-Length: 0', 'POST', { 'content-length': '0' }, undefined],
  ['JSON from a script', 'POST', { 'content-type': 'application/json', 'content-length': '2' }, undefined],
  [
    'JSON with parameters, any case',
    'POST',
    { 'content-type': 'Application/JSON; charset=utf-8', 'content-length': '2' },
    undefined,
  ],
  [
    'the dashboard',
    'POST',
    { origin: `http://${self}`, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
    undefined,
  ],
  [
    'the dashboard behind a TLS proxy',
    'POST',
    { origin: 'https://127.0.0.1:9901', 'content-type': 'application/json' },
    undefined,
  ],
  ['Sec-Fetch-Site: none', 'POST', { 'sec-fetch-site': 'none' }, undefined],
  ['foreign Origin', 'POST', { origin: 'http://evil.example' }, 'CROSS_ORIGIN'],
  [
    'foreign Origin with JSON',
    'DELETE',
    { origin: 'http://evil.example', 'content-type': 'application/json' },
    'CROSS_ORIGIN',
  ],
  ['Origin on another port', 'POST', { origin: 'http://127.0.0.1:8080' }, 'CROSS_ORIGIN'],
  ['Origin: null', 'POST', { origin: 'null' }, 'CROSS_ORIGIN'],
  ['Origin with a path', 'POST', { origin: `http://${self}/x` }, 'CROSS_ORIGIN'],
  ['Sec-Fetch-Site: same-site', 'POST', { 'sec-fetch-site': 'same-site' }, 'CROSS_ORIGIN'],
  ['Sec-Fetch-Site: cross-site', 'PUT', { 'sec-fetch-site': 'cross-site' }, 'CROSS_ORIGIN'],
  ['text/plain', 'POST', { 'content-type': 'text/plain', 'content-length': '1' }, 'UNSUPPORTED_MEDIA_TYPE'],
  ['a form', 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, 'UNSUPPORTED_MEDIA_TYPE'],
  ['multipart', 'POST', { 'content-type': 'multipart/form-data; boundary=x' }, 'UNSUPPORTED_MEDIA_TYPE'],
  ['application/json-seq is not JSON', 'POST', { 'content-type': 'application/json-seq' }, 'UNSUPPORTED_MEDIA_TYPE'],
  ['a body without a type', 'POST', { 'content-length': '2' }, 'UNSUPPORTED_MEDIA_TYPE'],
  ['a chunked body without a type', 'POST', { 'transfer-encoding': 'chunked' }, 'UNSUPPORTED_MEDIA_TYPE'],
];

for (const [name, method, headers, code] of calls) {
  test(`${method} ${name}: ${code ?? 'allowed'}`, (t) => {
    t.is(call(method, headers) as string | undefined, code);
  });
}

test('a foreign Host is refused before anything else, except for the probes', (t) => {
  const refusal = (path: string, method = 'GET') =>
    browserRefusal({ method, path, headers: { host: 'evil.example' } }, loopback)?.code;
  t.is(refusal('/status'), 'HOST_NOT_ALLOWED');
  t.is(refusal('/pools/web/failover', 'POST'), 'HOST_NOT_ALLOWED');
  t.is(refusal('/healthz'), undefined);
  t.is(refusal('/readyz'), undefined);
});
