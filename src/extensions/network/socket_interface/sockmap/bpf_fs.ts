/** Discovery of the bpffs and cgroup v2 mounts from /proc/self/mountinfo; never assumes a path. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function readMounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0 || fields.length < 5) continue;
    out.push({ mountPoint: unescape(fields[4]), fsType: fields[sep + 1] });
  }
  return out;
}

/** First mount point of a filesystem type ('bpf', 'cgroup2'), or undefined. */
export function findMount(fsType: string): string | undefined {
  return readMounts().find((m) => m.fsType === fsType)?.mountPoint;
}

/** The filesystem type of the mount holding path (which must exist; symlinks resolved). */
export function fsTypeOf(p: string): string | undefined {
  const real = fs.realpathSync(p);
  let best: MountEntry | undefined;
  for (const m of readMounts()) {
    const under = real === m.mountPoint || real.startsWith(m.mountPoint.endsWith('/') ? m.mountPoint : `${m.mountPoint}/`);
    if (under && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m; // later mounts shadow earlier
  }
  return best?.fsType;
}

/** Where maps are pinned when pin_path is empty: <bpffs mount>/envoy-ts. */
export function defaultPinDir(): string | undefined {
  const bpffs = findMount('bpf');
  return bpffs ? path.join(bpffs, 'envoy-ts') : undefined;
}

/** Why path is not a usable cgroup v2 directory, or undefined when it is. */
export function cgroup2Problem(p: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    return `cannot stat: ${(e as Error).message}`;
  }
  if (!st.isDirectory()) return 'not a directory';
  const t = fsTypeOf(p);
  return t === 'cgroup2' ? undefined : `not on a cgroup v2 mount (filesystem ${t ?? 'unknown'})`;
}
