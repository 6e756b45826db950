// The shared sockhash as the kernel sees it, through bpftool (not through BpfDatapath), for
// stale-entry checks in end-to-end tests.
import * as path from 'node:path';
import { bpftoolJson } from './bpftool';

interface DumpEntry {
  key?: string[] | unknown;
  formatted?: { key?: unknown };
}

function hexOf(value: unknown): string {
  if (Array.isArray(value)) return value.map((b) => String(b).replace(/^0x/, '').padStart(2, '0')).join('');
  return JSON.stringify(value);
}

/**
 * The keys (lower-case hex of the 24 raw key bytes) in `<pinDir>/envoy_sockhash`, from
 * `bpftool -j map dump pinned`. Entries without raw key bytes are returned as their JSON.
 */
export function sockhashKeys(pinDir: string): string[] {
  const entries = bpftoolJson<DumpEntry[] | null>('map', 'dump', 'pinned', path.join(pinDir, 'envoy_sockhash')) ?? [];
  return entries.map((e) => hexOf(e.key ?? e.formatted?.key));
}
