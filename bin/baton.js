#!/usr/bin/env node
// Baton ships its TypeScript source; tsx compiles it as it loads.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
