/**
 * Sharing maps between envoy-ts processes through bpffs pins: reuse a compatible pinned map,
 * refuse an incompatible one, pin what is missing (dir 0700, files 0600).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsTypeOf } from './bpf_fs';
import { BpfMapPtr, flock, LibbpfError, MapShape, mapFd, mapInfoByFd, mapReuseFd, mapShape, objGet, objPin } from './libbpf';

export class PinError extends Error {}

function describe(s: MapShape): string {
  return `type ${s.type}, key ${s.keySize} B, value ${s.valueSize} B, max_entries ${s.maxEntries}`;
}

/** Checks that dir is (or can be created) on a bpffs mount and creates it with mode 0700. */
export function preparePinDir(dir: string): void {
  let probe = dir;
  while (!fs.existsSync(probe)) probe = path.dirname(probe);
  const t = fsTypeOf(probe);
  if (t !== 'bpf') throw new PinError(`pin path ${dir} is not on a bpffs mount (filesystem ${t ?? 'unknown'}); mount one with: mount -t bpf bpf /sys/fs/bpf`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

/**
 * Holds an exclusive lock on the pin dir while fn runs, so that processes starting at the same
 * moment take turns: the first pins its maps, the next finds and reuses them (without it, the
 * second could load private maps and fail to pin them, never sharing).
 */
export function withPinDirLock<T>(dir: string, fn: () => T): T {
  const fd = fs.openSync(dir, 'r');
  try {
    flock(fd, true);
    return fn();
  } finally {
    fs.closeSync(fd); // closing the descriptor releases the lock
  }
}

/**
 * Before load: for each named map already pinned in dir, make libbpf use the pinned map.
 * Returns the names that were not pinned yet (to pin after load). Throws PinError on a mismatch.
 */
export function reusePinned(dir: string, maps: Map<string, BpfMapPtr>): string[] {
  const missing: string[] = [];
  const found: [BpfMapPtr, number][] = [];
  try {
    for (const [name, map] of maps) {
      const file = path.join(dir, name);
      if (!fs.existsSync(file)) {
        missing.push(name);
        continue;
      }
      const fd = objGet(file);
      found.push([map, fd]);
      const have = mapInfoByFd(fd);
      const want = mapShape(map);
      if (have.type !== want.type || have.keySize !== want.keySize || have.valueSize !== want.valueSize || have.maxEntries !== want.maxEntries) {
        throw new PinError(`pinned map ${file} is incompatible: pinned ${describe(have)}, this object ${describe(want)}; remove the pins or use another pin_path`);
      }
    }
    for (const [map, fd] of found) mapReuseFd(map, fd); // libbpf dups the fd
  } catch (e) {
    if (e instanceof LibbpfError) throw new PinError(`cannot reuse pinned maps in ${dir}: ${e.message}`);
    throw e;
  } finally {
    for (const [, fd] of found) fs.closeSync(fd);
  }
  return missing;
}

/** After load: pin the maps that were missing. A concurrent pin by another process wins (EEXIST). */
export function pinMissing(dir: string, maps: Map<string, BpfMapPtr>, names: string[]): void {
  for (const name of names) {
    const map = maps.get(name);
    if (!map) continue;
    const file = path.join(dir, name);
    try {
      objPin(mapFd(map), file);
      fs.chmodSync(file, 0o600);
    } catch (e) {
      if (e instanceof LibbpfError && e.errno === 17) continue;
      throw new PinError(`cannot pin ${file}: ${(e as Error).message}`);
    }
  }
}

export function unpinAll(dir: string, names: string[]): void {
  for (const name of names) fs.rmSync(path.join(dir, name), { force: true });
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty (other pins) or already gone
  }
}
