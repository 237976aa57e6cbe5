/**
 * Sorts the samples of a V8 CPU profile (`node --cpu-prof`) into a few coarse categories and
 * turns them into µs per request: idle, GC, `(program)`, native socket calls, node internals
 * (http / streams-net-events / other), each package under node_modules, each directory of Baton's
 * dist/src. Self time only (the frame a sample was taken in), so a category is what its own code
 * costs, not what it calls. Pure: bench/cpu-profile.ts reads the files and runs the processes.
 */

export interface CallFrame {
  functionName: string;
  url: string;
}
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame }>;
  /** µs on the monotonic clock (the one `process.hrtime` reads, on Linux). */
  startTime: number;
  endTime: number;
  samples: number[];
  /** µs since the previous sample (the first: since startTime). */
  timeDeltas: number[];
}

export const IDLE = 'idle';

export function category({ functionName, url }: CallFrame): string {
  if (functionName === '(idle)') return IDLE;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return '(program)';
  // Frames without a URL are native: the stream bindings' writev/writeUtf8String/readStart… are
  // the syscalls of the sockets; anything else native is lumped together.
  if (!url) return /^(write|read)/.test(functionName) ? 'native socket calls (write*, read*)' : 'other native';
  if (url.startsWith('node:')) {
    if (/http/.test(url)) return 'node internals (http)';
    if (/stream|net|events/.test(url)) return 'node internals (streams/net/events)';
    return 'node internals (other)';
  }
  if (url.includes('node_modules/')) {
    const [first, second] = url.slice(url.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
    return `lib ${first?.startsWith('@') ? `${first}/${second}` : first}`;
  }
  const dist = url.indexOf('/dist/src/');
  if (dist >= 0) return `baton ${url.slice(dist + '/dist/src/'.length).split('/')[0]}`;
  // Baton's sources: a generated config imports defineConfig from src/index.ts (start-up only).
  const src = url.indexOf('/src/');
  if (src >= 0) return `baton sources ${url.slice(src + '/src/'.length).split('/')[0]}`;
  if (url.includes('/bench/')) return 'bench script';
  return `other ${url.slice(url.lastIndexOf('/') + 1)}`;
}

export interface Categorised {
  /** µs of samples per category, idle included: each sample weighs the delta before it. */
  micros: Map<string, number>;
  /** Samples per category, idle included. */
  counts: Map<string, number>;
  /** µs sampled in the window, idle included: close to its length if the clocks agree. */
  sampled: number;
}

/**
 * µs per category of the samples taken in [from, to] (µs on the profile's clock; the whole
 * profile without a window). A sample is charged the delta that precedes it.
 */
export function categorise(profile: CpuProfile, window?: { from: number; to: number }): Categorised {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const micros = new Map<string, number>();
  const counts = new Map<string, number>();
  let sampled = 0;
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    time += delta;
    if (window && (time < window.from || time > window.to)) continue;
    const frame = frames.get(profile.samples[i]!);
    const name = frame ? category(frame) : 'other native';
    micros.set(name, (micros.get(name) ?? 0) + delta);
    counts.set(name, (counts.get(name) ?? 0) + 1);
    sampled += delta;
  }
  return { micros, counts, sampled };
}

export function busy(micros: Map<string, number>): number {
  let total = 0;
  for (const [name, us] of micros) if (name !== IDLE) total += us;
  return total;
}

/**
 * The main thread's profile among a process's files: Node names them
 * CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile, and the main thread is thread 0
 * (tsx's module hooks run in a thread of their own, thread 1).
 */
export function mainThreadFile(files: string[]): string | undefined {
  return files.find((file) => /\.\d+\.0\.\d+\.cpuprofile$/.test(file));
}

export interface Column {
  name: string;
  micros: Map<string, number>;
  requests: number;
  /** Extra rows under the busy total, already per request or absolute, as the caller wants. */
  extra?: Record<string, string>;
}

/**
 * A markdown table of µs per request: a row per busy category (highest first, by its largest
 * figure), those under `minimum` µs in every column summed into one row, then the busy total,
 * the requests and the callers' extra rows.
 */
export function table(columns: Column[], minimum = 0.5): string {
  const names = new Set(columns.flatMap((column) => [...column.micros.keys()].filter((name) => name !== IDLE)));
  const perRequest = (column: Column, name: string) => (column.micros.get(name) ?? 0) / column.requests;
  const rows = [...names].map((name) => ({ name, figures: columns.map((column) => perRequest(column, name)) }));
  rows.sort((a, b) => Math.max(...b.figures) - Math.max(...a.figures) || a.name.localeCompare(b.name));
  const shown = rows.filter((row) => row.figures.some((figure) => figure >= minimum));
  const hidden = rows.filter((row) => !shown.includes(row));
  const lines = [
    `| µs per request | ${columns.map((column) => column.name).join(' | ')} |`,
    `|---|${columns.map(() => '---|').join('')}`,
    ...shown.map((row) => `| ${row.name} | ${row.figures.map((figure) => figure.toFixed(1)).join(' | ')} |`),
  ];
  if (hidden.length > 0)
    lines.push(
      `| (${hidden.length} more, each under ${minimum}) | ${columns
        .map((_, i) => hidden.reduce((sum, row) => sum + row.figures[i]!, 0).toFixed(1))
        .join(' | ')} |`,
    );
  lines.push(
    `| **busy total** | ${columns.map((column) => `**${(busy(column.micros) / column.requests).toFixed(1)}**`).join(' | ')} |`,
    `| requests | ${columns.map((column) => column.requests).join(' | ')} |`,
  );
  const extras = [...new Set(columns.flatMap((column) => Object.keys(column.extra ?? {})))];
  for (const extra of extras)
    lines.push(`| ${extra} | ${columns.map((column) => column.extra?.[extra] ?? '–').join(' | ')} |`);
  return lines.join('\n');
}
