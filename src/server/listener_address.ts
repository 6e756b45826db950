import type * as net from 'node:net';
import type { Address } from '../generated/envoy/config/core/v3/address';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The IP literal and port of a socket_address (port 0 asks for an ephemeral port). */
export function hostPortOf(address: Address | undefined, what: string): HostPort {
  const socketAddress = address?.socket_address;
  if (!socketAddress) throw new Error(`${what}: only socket_address is supported`);
  return { host: socketAddress.address, port: socketAddress.port_value ?? 0 };
}

/**
 * Envoy's listener stat scope: "listener.<stat_prefix>." when set, else the bound address with
 * ':' made '_' ("listener.127.0.0.1_10000.", "listener.[__1]_10000.").
 */
export function listenerStatPrefix(bound: net.AddressInfo, statPrefix: string): string {
  if (statPrefix) return `listener.${statPrefix}.`;
  const ip = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return `listener.${`${ip}:${bound.port}`.replace(/:/g, '_')}.`;
}
