import type { Logger } from '../../../../common/logger';

/** Outcome of adding one socket to the sockhash from user space. */
export type RegisterResult = 'registered' | 'exists' | 'not_ipv4' | 'not_established' | 'map_full' | 'failed';

/** The resolved Sockmap config the datapath is opened with (defaults applied). */
export interface DatapathOptions {
  bpfProgramPath: string;
  /** '' = do not attach sock_ops to any cgroup. */
  cgroupPath: string;
  sockhashMaxEntries: number;
  /** Start inclusive, end exclusive; empty = every port. */
  acceleratedPorts: { start: number; end: number }[];
  /** '' = a directory under the bpffs mount. */
  pinPath: string;
  /** Only one process of a --concurrency group attaches sock_ops to the cgroup. */
  attachCgroup: boolean;
}

/**
 * A connected socket's addresses as Node reports them (net.Socket has these fields). Given to the
 * datapath, they spare the system calls that would read them from the descriptor.
 */
export interface SocketEndpoints {
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/** What the sockmap socket interface needs from a loaded eBPF datapath. */
export interface SockmapDatapath {
  registerSocket(fd: number, endpoints?: SocketEndpoints): RegisterResult;
  /** Removes the open socket's entry (before its descriptor closes). */
  unregisterSocket(fd: number): void;
  /** Drops what is remembered about a socket that already closed; the maps are not touched. */
  forgetSocket(fd: number): void;
  publishListener(address: string, port: number): void;
  unpublishListener(address: string, port: number): void;
  /** True when the connected socket's peer address is a listener published by a process sharing the maps. */
  peerIsPublishedListener(fd: number, endpoints?: SocketEndpoints): boolean;
  /**
   * Removes the peer address's published-listener entry when the process that published it is
   * gone (killed without unpublishing); returns whether it did.
   */
  dropStaleListener(fd: number, endpoints?: SocketEndpoints): boolean;
  /** True when the connected socket's peer is in the sockhash (e.g. added by sock_ops). */
  peerRegistered(fd: number, endpoints?: SocketEndpoints): boolean;
  /** Resolves true once the connected socket's peer is in the sockhash, false at the bound. */
  waitForPeer(fd: number, timeoutMs: number, endpoints?: SocketEndpoints): Promise<boolean>;
  /** Marks the socket's receiver as not reading, so its peer stops redirecting to it. */
  setPressure(fd: number, on: boolean): void;
  /** Bytes waiting unread in the socket's receive and ingress queues (FIONREAD). */
  unreadBytes(fd: number): number;
  /** Kernel-side counters, summed over CPUs. */
  counters(): Record<string, number>;
  /** Re-attaches the shared sk_msg program if the process that attached it has exited. */
  ensureAttached(): void;
  close(): void;
}

/**
 * Opens the datapath for a config, or returns undefined after logging why every socket stays on the
 * standard datapath. Never throws: a failure to load must not interrupt traffic.
 */
export type DatapathLoader = (options: DatapathOptions, logger: Logger) => SockmapDatapath | undefined;
