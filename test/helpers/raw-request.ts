import net from 'node:net';

/** One response as it came off the wire. */
export interface RawResponse {
  readonly status: number;
  /** Lower-cased names, in order, duplicates kept. */
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>;
  readonly body: string;
  header(name: string): string | undefined;
}

export interface RawExchange {
  /** Everything the server sent. */
  readonly text: string;
  /** The responses parsed from `text` (Content-Length framed, as the gateway answers). */
  readonly responses: RawResponse[];
  /** The server closed the connection (rather than the timeout ending the exchange). */
  readonly closedByServer: boolean;
}

/**
 * Writes hand-written bytes to a server and collects what comes back until the server closes
 * the connection or `timeoutMs` passes (an upper bound: with `Connection: close` the server ends
 * the exchange as soon as it has answered). For cases where framing and exact header spelling
 * matter, which node:http's client would normalise away.
 */
export function rawRequest(url: string, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawExchange> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, responses: parseResponses(text), closedByServer });
    });
  });
}

/** `GET <target>` with the given Host and extra header lines, closing after the answer. */
export function rawGet(
  url: string,
  target: string,
  host: string | undefined,
  extra: string[] = [],
): Promise<RawExchange> {
  const lines = [
    `GET ${target} HTTP/1.1`,
    ...(host === undefined ? [] : [`Host: ${host}`]),
    ...extra,
    'Connection: close',
    '',
    '',
  ];
  return rawRequest(url, lines.join('\r\n'));
}

function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const [statusLine, ...lines] = text.slice(at, headEnd).split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
    if (!status) break;
    const headers = lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    });
    const length = Number(headers.find(([name]) => name === 'content-length')?.[1] ?? 0);
    const body = text.slice(headEnd + 4, headEnd + 4 + length);
    out.push({ status: Number(status[1]), headers, body, header: (name) => headers.find(([n]) => n === name)?.[1] });
    at = headEnd + 4 + length;
  }
  return out;
}
