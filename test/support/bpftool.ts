// Kernel-side views through bpftool's JSON output (bpftool -j), for leak checks and counters.
import { execFileSync } from 'node:child_process';

export interface BpfProg {
  id: number;
  type: string;
  name?: string;
  map_ids?: number[];
}

export interface BpfLink {
  id: number;
  prog_id: number;
  type: string | number;
  cgroup_id?: number;
  attach_type?: string;
}

export interface CgroupAttachment {
  id: number;
  name: string;
  attach_type: string;
}

export function bpftoolJson<T>(...args: string[]): T {
  const out = execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }).trim();
  return JSON.parse(out || 'null') as T;
}

export function bpfProgs(): BpfProg[] {
  return bpftoolJson<BpfProg[] | null>('prog', 'show') ?? [];
}

export function bpfLinks(): BpfLink[] {
  return bpftoolJson<BpfLink[] | null>('link', 'show') ?? [];
}

/** Programs attached to a cgroup directory (effective on that cgroup itself, not inherited). */
export function cgroupAttachments(cgroupPath: string): CgroupAttachment[] {
  return bpftoolJson<CgroupAttachment[] | null>('cgroup', 'show', cgroupPath) ?? [];
}

/** The id of a pinned map, or undefined when nothing is pinned there. */
export function pinnedMapId(pinPath: string): number | undefined {
  try {
    return bpftoolJson<{ id: number }>('map', 'show', 'pinned', pinPath).id;
  } catch {
    return undefined;
  }
}

/** Polls `check` every 50 ms until it is true or the timeout passes; returns its last value. */
export async function eventually(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}
