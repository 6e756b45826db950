import { proxyBootstrap } from './bootstraps';
import { bpfObjectPath, EnvoyProcess } from './envoy_process';
import { freePort } from './net_tools';

/** Two envoy-ts processes sharing one pinned sockhash: client -> A -> B -> upstream. */
export interface Chain {
  a: EnvoyProcess;
  b: EnvoyProcess;
  portA: number;
  portB: number;
  adminA: number;
  adminB: number;
}

/**
 * Starts B (listening, proxying to upstreamPort), then A (proxying to B), both with the sockmap
 * socket interface on pinDir, and waits until both are ready. Started processes are pushed onto
 * `procs` first, so that the caller's cleanup stops them even when a later step fails.
 */
export async function startChain(opts: { upstreamPort: number; pinDir: string; procs: EnvoyProcess[]; bArgs?: string[] }): Promise<Chain> {
  const [portA, portB, adminA, adminB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sockmap = { bpf_program_path: bpfObjectPath(), pin_path: opts.pinDir };
  const b = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort: portB, upstreamPort: opts.upstreamPort, adminPort: adminB, sockmap }), opts.bArgs);
  opts.procs.push(b);
  await b.waitReady(adminB);
  const a = EnvoyProcess.start('libbpf', proxyBootstrap({ listenPort: portA, upstreamPort: portB, adminPort: adminA, sockmap }));
  opts.procs.push(a);
  await a.waitReady(adminA);
  return { a, b, portA, portB, adminA, adminB };
}
