import ms from 'ms';
import bytes from 'bytes';

/**
 * Durations and sizes as users write them in the config: a number means milliseconds
 * (or bytes); strings go through the `ms` and `bytes` libraries ('250ms', '5s', '1m';
 * '64kb', '1mb'). Returns undefined when the value cannot be read or is negative.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'string' && value.trim() === '') return undefined;
  const parsed = typeof value === 'number' ? value : ms(value.trim() as ms.StringValue);
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

export function parseSize(value: number | string): number | undefined {
  const parsed = typeof value === 'number' ? value : bytes.parse(value.trim());
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? Math.floor(parsed) : undefined;
}
