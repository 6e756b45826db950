import type * as net from 'node:net';
import { Server } from '../../src/server/server';
import type { StatValue } from '../../src/stats/stats';
import { resolvedBootstrap, type ExtraExtensions, type ProxySpec } from './bootstrap';

export interface RunningProxy {
  readonly server: Server;
  /** The bound port of the first listener. */
  readonly port: number;
  stat(name: string): number | undefined;
  stop(): Promise<void>;
}

export function statValue(stats: readonly StatValue[], name: string): number | undefined {
  return stats.find((s) => s.name === name)?.value;
}

/** Starts a single-process Server for the spec and returns its first listener's port. */
export async function startProxy(spec: ProxySpec, extra?: ExtraExtensions): Promise<RunningProxy> {
  const server = new Server(resolvedBootstrap(spec, extra));
  await server.start();
  const address = server.listenerAddresses()[0]?.address as net.AddressInfo;
  return {
    server,
    port: address.port,
    stat: (name) => statValue(server.stats.snapshot(), name),
    stop: () => server.stop(),
  };
}
