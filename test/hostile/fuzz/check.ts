import { parseResponses, RawClient, type RawResponse } from '../../helpers/raw-http.ts';
import { sha256, type ParsedRequest } from '../../helpers/raw-upstream.ts';
import type { FuzzInput } from './generate.ts';
import type { ReferenceParse, ReferenceParser } from './reference.ts';
import { routePrefixes, type FuzzTarget } from './target.ts';

/**
 * The differential oracle. For one input (a client connection's bytes) it asserts:
 *
 * - the gateway process is still up, and logged no health or breaker event (a client never
 *   ejects a node: the upstream always answers);
 * - the client got well-formed responses, at most one per request the reference parser found
 *   (plus one error answer), and every one that carries a request id is in the access log with
 *   the same status; the connection closed once the client ended its side;
 * - every request the upstream parsed is one the client sent: its id is in the access log
 *   (with at least as many attempts as the upstream saw), the reference parser saw that request
 *   with the same method, and a complete body has the same SHA-256; no forged Baton-owned
 *   header, no hop-by-hop header, no path outside its route's prefix; no parse error upstream.
 *
 * Findings are sentences; none means the input passed.
 */

export interface Outcome {
  readonly findings: string[];
  readonly reference: ReferenceParse;
  readonly responses: RawResponse[];
  /** What the upstream parsed for this input. */
  readonly upstream: ParsedRequest[];
  readonly closed: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends the input and collects the answer; the connection is gone when this returns. */
async function drive(
  port: number,
  input: FuzzInput,
  expect: number,
  methods: string[],
): Promise<{ received: Buffer; closed: boolean; error?: string }> {
  let client: RawClient;
  try {
    client = await RawClient.connect(port);
  } catch (error) {
    return { received: Buffer.alloc(0), closed: true, error: `cannot connect: ${(error as Error).message}` };
  }
  for (const bytes of input.writes) {
    if (client.isClosed) break;
    client.write(bytes);
    await new Promise((resolve) => setImmediate(resolve));
  }
  // The client waits for the answers it can expect (Node's server, like NGINX, gives up on the
  // requests of a client that ends its side first), then ends its side or leaves.
  const answered = () =>
    parseResponses(client.received, { methods }).responses.filter((r) => r.status >= 200).length >= expect;
  for (const until = Date.now() + 1000; !client.isClosed && !answered() && Date.now() < until; )
    await Promise.race([client.closed, sleep(5)]);
  if (input.halfClose && !client.isClosed) {
    client.socket.end();
    for (const until = Date.now() + 5000; !client.isClosed && Date.now() < until; )
      await Promise.race([client.closed, sleep(5)]);
  }
  const closed = client.isClosed;
  client.destroy();
  await client.closed;
  return { received: client.received, closed };
}

/** The upstream path, decoded and resolved the way an upstream may read it: where it ends up. */
export function resolvedPath(url: string): { path: string; escaped: boolean } {
  const raw = url.split(/[?#]/, 1)[0]!;
  const decoded = raw
    .replace(/%2f|%5c/gi, '/')
    .replace(/\\/g, '/')
    .replace(/%2e/gi, '.');
  const out: string[] = [];
  let escaped = false;
  for (const part of decoded.split('/').slice(1)) {
    const segment = part.split(';', 1)[0]!;
    if (segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) escaped = true;
      else out.pop();
      continue;
    }
    out.push(segment);
  }
  return { path: `/${out.join('/')}`, escaped };
}

function confined(route: string | undefined, url: string): string | undefined {
  const rule = route ? routePrefixes[route] : undefined;
  if (!rule) return undefined;
  const { path, escaped } = resolvedPath(url);
  if (escaped) return `upstream path ${JSON.stringify(url)} climbs above the root`;
  if (!rule.stripped && rule.prefix !== '/' && path !== rule.prefix && !path.startsWith(`${rule.prefix}/`)) {
    return `route ${route} confines to ${rule.prefix}, but the upstream path ${JSON.stringify(url)} resolves to ${path}`;
  }
  return undefined;
}

/** Headers that only the gateway writes, or that belong to one connection. */
const forbiddenUpstream =
  /^(x[-_]baton[-_].*|x_forwarded_.*|x_real_ip|x_request_id|transfer_encoding|content_length|proxy-connection|keep-alive|upgrade|http2-settings|trailer|expect|proxy-authorization)$/i;

function headerFindings(request: ParsedRequest): string[] {
  const findings: string[] = [];
  const raw = request.rawHeaders;
  const names = raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  for (const name of names) {
    if (name === 'x-baton-epoch') continue;
    if (forbiddenUpstream.test(name)) findings.push(`the upstream got the header ${name}`);
  }
  if (
    names.filter((n) => n === 'x-baton-epoch').length > 1 ||
    String(request.headers['x-baton-epoch'] ?? '').includes('999')
  ) {
    findings.push(`a client-made X-Baton-Epoch reached the upstream: ${String(request.headers['x-baton-epoch'])}`);
  }
  if (request.headers['x-forwarded-for'] !== '127.0.0.1')
    findings.push(`X-Forwarded-For is ${JSON.stringify(request.headers['x-forwarded-for'])}, not the client's address`);
  if (names.filter((n) => n === 'content-length' || n === 'transfer-encoding').length > 1)
    findings.push(
      `the upstream got ${names.filter((n) => n === 'content-length' || n === 'transfer-encoding').join(' and ')}`,
    );
  const te = request.headers.te;
  if (te !== undefined && te !== 'trailers') findings.push(`the upstream got TE: ${te}`);
  return findings;
}

/** The target, the reference parser, and what earlier inputs left to judge. */
export interface CheckContext {
  readonly target: FuzzTarget;
  readonly reference: ReferenceParser;
  /** Reference parses of recent inputs by seed: an upstream request is judged by its own input. */
  readonly history: Map<number, ReferenceParse>;
  /** Upstream requests before this index are judged. */
  judged: number;
  /** Upstream parse errors already reported, per connection. */
  readonly errorsSeen: number[];
  eventsSeen: number;
  straysSeen: number;
}

export function checkContext(target: FuzzTarget, reference: ReferenceParser): CheckContext {
  return {
    target,
    reference,
    history: new Map(),
    judged: target.upstream.requests().length,
    errorsSeen: [],
    eventsSeen: target.events.length,
    straysSeen: target.strays.length,
  };
}

/** How long an upstream request may wait for its access-log line before that is a finding. */
const LOG_GRACE_MS = Number(process.env.FUZZ_LOG_GRACE_MS ?? 5000);

const seedOf = (id: string) => {
  const match = /^fz-(\d+)-/.exec(id);
  return match ? Number(match[1]) : undefined;
};

/** Runs one input against the target and returns what is wrong with the outcome. */
export async function check(ctx: CheckContext, input: FuzzInput): Promise<Outcome> {
  const { target, reference } = ctx;
  const findings: string[] = [];
  const upstreamBefore = target.upstream.requests().length;

  const expected = await reference.parse(input.writes);
  ctx.history.set(input.seed, expected);
  if (ctx.history.size > 200) ctx.history.delete(ctx.history.keys().next().value!);
  const methods = expected.requests.map((r) => r.method);
  const answer = await drive(
    target.port,
    input,
    expected.requests.filter((r) => r.complete).length + (expected.error ? 1 : 0),
    methods,
  );
  if (answer.error) findings.push(answer.error);

  const parsed = parseResponses(answer.received, { methods, ended: answer.closed });
  const responses = parsed.responses.filter((r) => r.status >= 200);
  if (parsed.error)
    findings.push(
      `malformed answer: ${parsed.error} (${JSON.stringify(parsed.rest.subarray(0, 80).toString('latin1'))})`,
    );
  if (input.halfClose && !answer.closed)
    findings.push('the client ended its side, but the gateway never closed the connection');
  if (responses.length > expected.requests.length + 1)
    findings.push(`${responses.length} responses for ${expected.requests.length} requests`);

  // Settle: every request the upstream took is over and logged, every answer with an id too.
  const all = target.upstream.requests();
  const answeredIds = responses
    .map((r) => r.headers.find(([n]) => n === 'x-request-id')?.[1])
    .filter((id): id is string => id !== undefined);
  const settled = () =>
    all
      .slice(upstreamBefore)
      .every(
        (r) =>
          (r.complete || target.upstream.connections[r.connection]?.closed) &&
          target.records.has(String(r.headers['x-request-id'])),
      ) && answeredIds.every((id) => target.records.has(id));
  for (const until = Date.now() + 3000; !settled() && Date.now() < until && target.alive(); ) await sleep(5);
  // A request smuggled inside a body would be parsed in the same read as the body: give it a moment.
  if (all.length > upstreamBefore) await sleep(10);

  if (!target.alive()) findings.push(`the gateway process ${target.exit()}`);
  for (const event of target.events.slice(ctx.eventsSeen)) findings.push(`a client caused: ${event}`);
  ctx.eventsSeen = target.events.length;
  for (const stray of target.strays.slice(ctx.straysSeen)) findings.push(`the gateway wrote: ${stray.slice(0, 300)}`);
  ctx.straysSeen = target.strays.length;

  for (const response of responses) {
    const id = response.headers.find(([n]) => n === 'x-request-id')?.[1];
    if (id === undefined) continue;
    const record = target.records.get(id);
    if (!record) findings.push(`answer ${response.status} for ${id} has no access-log line`);
    else if (record.status !== response.status)
      findings.push(`answer ${response.status} for ${id}, but the access log says ${record.status}`);
  }

  findings.push(...judgeUpstream(ctx, input.seed));
  target.upstream.connections.forEach((connection, i) => {
    // ECONNRESET is the gateway ending a connection (an aborted request); only parse errors count.
    const errors = connection.errors.slice(ctx.errorsSeen[i] ?? 0).filter((e) => e.startsWith('HPE_'));
    ctx.errorsSeen[i] = connection.errors.length;
    for (const error of errors) findings.push(`the upstream's parser failed on connection ${i}: ${error}`);
  });
  return { findings, reference: expected, responses, upstream: all.slice(upstreamBefore), closed: answer.closed };
}

/**
 * Judges the upstream requests not judged yet, in order, each against its own input's
 * reference parse; stops at the first one whose access-log line may still come.
 */
function judgeUpstream(ctx: CheckContext, current: number): string[] {
  const { target } = ctx;
  const findings: string[] = [];
  const all = target.upstream.requests();
  const now = Date.now();
  for (; ctx.judged < all.length; ctx.judged++) {
    const request = all[ctx.judged]!;
    const id = String(request.headers['x-request-id']);
    const record = target.records.get(id);
    const seed = seedOf(id);
    const from = seed !== undefined && seed !== current ? ` [input seed ${seed}]` : '';
    const what = `the upstream parsed ${request.method} ${request.url} (${id})`;
    const waited = now - ((request as ParsedRequest & { firstSeen?: number }).firstSeen ??= now);
    if (!record) {
      if (waited < LOG_GRACE_MS) break;
      findings.push(`${what}, which the access log does not have after ${(waited / 1000).toFixed(1)} s${from}`);
      continue;
    }
    if (waited > 5000)
      findings.push(`${what}, logged only after ${(waited / 1000).toFixed(1)} s: ${JSON.stringify(record)}${from}`);
    const sameId = all.slice(0, ctx.judged + 1).filter((r) => r.headers['x-request-id'] === id).length;
    if (sameId > record.attempts)
      findings.push(
        `the upstream parsed ${id} ${sameId} times, the access log counts ${record.attempts} attempts${from}`,
      );
    const sent = seed === undefined ? undefined : ctx.history.get(seed)?.requests.find((r) => r.id === id);
    if (seed !== undefined && ctx.history.has(seed) && !sent)
      findings.push(`${what}, which the client never sent as a request (smuggled)${from}`);
    if (sent) {
      if (sent.method !== request.method) findings.push(`${what}, but the client sent ${sent.method}${from}`);
    }
    if (sent && !sent.refused) {
      const body = request.body;
      if (request.complete && sent.complete && sha256(body) !== sent.sha256) {
        findings.push(
          `${what} with a ${body.length}-byte body (sha256 ${sha256(body).slice(0, 12)}), but the client sent ${sent.bytes} bytes (${sent.sha256.slice(0, 12)})${from}`,
        );
      }
      if (request.complete && !sent.complete)
        findings.push(`${what} complete, but the client never finished its body${from}`);
      if (!request.complete && sent.complete && record.status < 300)
        findings.push(`${what} with a cut body, yet the client got ${record.status}${from}`);
    }
    if (record.method !== request.method) findings.push(`${what}, but the access log says ${record.method}${from}`);
    const escaped = confined(record.route, request.url);
    if (escaped) findings.push(`${escaped}${from}`);
    findings.push(...headerFindings(request).map((f) => `${f} (${id})${from}`));
  }
  return findings;
}

/** A finding as a reproducible report: the seed, what was mutated, the exact bytes. */
export function describe(input: FuzzInput, outcome: Outcome): string {
  const bytes = Buffer.concat(input.writes);
  return [
    `seed ${input.seed}: ${outcome.findings.length} finding(s)`,
    ...outcome.findings.map((f) => `  - ${f}`),
    `  mutations: ${input.notes.join('; ') || 'none'}`,
    `  writes: ${input.writes.map((w) => w.length).join(' + ')} bytes${input.halfClose ? ', then the client ends its side' : ''}`,
    `  bytes: ${JSON.stringify(bytes.toString('latin1'))}`,
  ].join('\n');
}
