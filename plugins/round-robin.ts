import { definePolicy, eligibleNodes } from '../src/index.ts';

/** Each eligible node in turn. */
export default definePolicy({
  name: 'round-robin',
  create() {
    let next = 0;
    return {
      pick(pool, ctx) {
        const candidates = eligibleNodes(pool, ctx);
        if (candidates.length === 0) return undefined;
        const node = candidates[next % candidates.length];
        next = (next + 1) % 0x7fffffff;
        return node;
      },
    };
  },
});
