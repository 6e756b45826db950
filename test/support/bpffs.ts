import { execFileSync } from 'node:child_process';
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

/** The bpffs mount, mounting one at /sys/fs/bpf when none is mounted (a fresh machine may lack it). */
export function ensureBpffs(): string {
  const found = mountPoint('bpf');
  if (found) return found;
  fs.mkdirSync('/sys/fs/bpf', { recursive: true });
  execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf']);
  return mountPoint('bpf') as string;
}

function unique(tag: string): string {
  return `envoy-ts-test-${tag}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
}

/** A fresh, unique directory path under the bpffs mount (not created). */
export function uniquePinDir(tag: string): string {
  return path.join(ensureBpffs(), unique(tag));
}

export interface TestCgroup {
  path: string;
  /** Moves its processes back to the root cgroup and removes it. */
  remove(): void;
}

/** A fresh cgroup v2 directory (created) under the cgroup2 mount found in mountinfo. */
export function createTestCgroup(tag: string): TestCgroup {
  const root = mountPoint('cgroup2');
  if (!root) throw new Error('no cgroup v2 mount in /proc/self/mountinfo');
  const dir = path.join(root, unique(tag));
  fs.mkdirSync(dir);
  return {
    path: dir,
    remove: () => {
      if (!fs.existsSync(dir)) return;
      for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
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
