import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

function mountPoint(fstype: string): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (post?.split(' ')[0] === fstype) return pre.split(' ')[4];
  }
  return undefined;
}

/** A fresh, unique directory path under the bpffs mount (not created). */
export function uniquePinDir(tag: string): string {
  const bpffs = mountPoint('bpf');
  if (!bpffs) throw new Error('bpffs is not mounted (scripts/setup.sh mounts it)');
  return path.join(bpffs, `envoy-ts-test-${tag}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`);
}

/** A fresh cgroup v2 directory (created), and a cleanup that moves its processes out and removes it. */
export function createTestCgroup(tag: string): { path: string; remove: () => void } {
  const root = mountPoint('cgroup2');
  if (!root) throw new Error('no cgroup v2 mount in /proc/self/mountinfo');
  const dir = path.join(root, `envoy-ts-test-${tag}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir);
  return {
    path: dir,
    remove: () => {
      const procs = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      for (const pid of procs) {
        try {
          fs.writeFileSync(path.join(root, 'cgroup.procs'), pid);
        } catch {
          // the process may have exited
        }
      }
      fs.rmdirSync(dir);
    },
  };
}
