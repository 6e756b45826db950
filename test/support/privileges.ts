import * as fs from 'node:fs';

/**
 * Kernel tests need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN). Without it they skip, loudly;
 * under CI=true a missing privilege fails the run instead.
 */
export function kernelTestsEnabled(suite: string): boolean {
  const isRoot = process.getuid?.() === 0;
  const hasBtf = fs.existsSync('/sys/kernel/btf/vmlinux');
  if (isRoot && hasBtf) return true;
  const why = !isRoot ? 'not running as root' : 'the kernel has no BTF (/sys/kernel/btf/vmlinux)';
  if (process.env.CI === 'true') {
    throw new Error(`${suite}: kernel tests cannot run (${why}) and CI=true forbids skipping them`);
  }
  console.warn(`\n${'!'.repeat(72)}\n!! SKIPPING ${suite}: ${why}.\n!! The eBPF datapath is NOT tested in this run.\n${'!'.repeat(72)}\n`);
  return false;
}

/** describe() when kernel tests can run, describe.skip() otherwise. */
export function describeKernel(name: string, fn: () => void): void {
  (kernelTestsEnabled(name) ? describe : describe.skip)(name, fn);
}
