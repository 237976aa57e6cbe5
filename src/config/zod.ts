/**
 * The one door to zod. Config validation uses it, and the public API re-exports `z` so that
 * plugin authors describe their options with the same library version the gateway validates with.
 */
export { z } from 'zod';
export type { ZodType, ZodError, input as ZodInput, output as ZodOutput } from 'zod';
