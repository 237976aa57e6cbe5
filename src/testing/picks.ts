import { isPolicyRef } from '../policy/define.ts';
import type { ZodInput, ZodType } from '../config/zod.ts';
import type { PickContext, Policy, PolicyDefinition, PolicyRef, PoolView } from '../policy/types.ts';

/** A first try of a GET / from 127.0.0.1 at time 0; override what a case needs. */
export function pickContext(over: Partial<PickContext> = {}): PickContext {
  return {
    method: 'GET',
    path: '/',
    headers: {},
    clientIp: '127.0.0.1',
    attempt: 1,
    tried: new Set(),
    now: 0,
    ...over,
  };
}

/**
 * Creates a policy for `pool` as the gateway does, options validated by the policy's schema
 * (defaults applied). Takes the value form, `instantiate(canary({ percent: 10 }), pool)`, or
 * a definition and its options. Throws on options the gateway would refuse.
 */
export function instantiate(ref: PolicyRef, pool: PoolView): Policy;
export function instantiate<S extends ZodType>(
  definition: PolicyDefinition<S>,
  options: ZodInput<S> | undefined,
  pool: PoolView,
): Policy;
export function instantiate(first: PolicyRef | PolicyDefinition, second: unknown, third?: PoolView): Policy {
  const [definition, options, pool] = isPolicyRef(first)
    ? [first.definition, first.options, second as PoolView]
    : [first, second, third!];
  return definition.create(validOptions(definition, options) as never, { name: pool.name, nodes: pool.nodes });
}

function validOptions(definition: PolicyDefinition, options: unknown): unknown {
  if (!definition.options) {
    if (options !== undefined && Object.keys(options as object).length > 0)
      throw new Error(`policy '${definition.name}' takes no options`);
    return options ?? {};
  }
  const parsed = definition.options.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`);
  throw new Error(`policy '${definition.name}': ${problems.join('; ')}`);
}

/** `count` picks; how often each node id was chosen (`(none)` for no node). */
export function tally(
  policy: Policy,
  pool: PoolView,
  count: number,
  ctx: (i: number) => PickContext = () => pickContext(),
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const key = policy.pick(pool, ctx(i))?.id ?? '(none)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The fraction of the tallied picks that went to `id`. */
export function share(counts: ReadonlyMap<string, number>, id: string): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total === 0 ? 0 : (counts.get(id) ?? 0) / total;
}
