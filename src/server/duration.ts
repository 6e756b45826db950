import type { Duration } from '../generated/google/protobuf/duration';

/** A proto Duration in milliseconds, or the default when the field is unset. */
export function durationToMs(duration: Duration | undefined, defaultMs: number): number {
  if (!duration) return defaultMs;
  return duration.seconds * 1000 + duration.nanos / 1e6;
}
