import type * as net from 'node:net';
import type { Logger } from '../../../../common/logger';
import { DefaultSocketInterface, socketFd } from '../../../../network/socket_interface';
import type { SockmapDatapath } from './datapath_types';
import type { SockmapStats } from './stats';

export const SOCKMAP_SOCKET_INTERFACE_NAME = 'envoy.extensions.network.socket_interface.sockmap';

export interface SockmapSettings {
  registerUserSpaceSockets: boolean;
  /** How long a connecting socket may wait for its peer's registration before its first write. */
  peerWaitMs: number;
  /** Unread bytes in a paused socket above which its peer is told to stop redirecting. */
  pressureBytes: number;
  /** How often a paused socket's unread bytes are checked. */
  pressureCheckMs: number;
}

export const DEFAULT_SETTINGS: SockmapSettings = {
  registerUserSpaceSockets: true,
  peerWaitMs: 25,
  pressureBytes: 4 * 1024 * 1024,
  pressureCheckMs: 2,
};

interface Registration {
  fd: number;
  pressureTimer?: NodeJS.Timeout;
  pressureOn: boolean;
}

/**
 * The default socket interface plus sockhash registration of every accepted, connected and
 * duplicated IPv4 socket (Envoy's SockmapSocketInterface). Without a datapath it is the default
 * socket interface. Nothing here may break a connection: every failure leaves the socket on TCP/IP.
 */
export class SockmapSocketInterface extends DefaultSocketInterface {
  private readonly registrations = new WeakMap<net.Socket, Registration>();
  private readonly published: net.AddressInfo[] = [];

  constructor(
    private readonly datapath: SockmapDatapath | undefined,
    private readonly settings: SockmapSettings,
    private readonly stats: SockmapStats,
    private readonly logger: Logger,
  ) {
    super(SOCKMAP_SOCKET_INTERFACE_NAME);
  }

  get accelerating(): boolean {
    return this.datapath !== undefined && this.settings.registerUserSpaceSockets;
  }

  override accepted(socket: net.Socket): void {
    this.register(socket);
  }

  override duplicated(socket: net.Socket): void {
    this.register(socket);
  }

  /**
   * An upstream socket is worth registering only when its peer is, or is about to be, in the
   * sockhash: a listener published by an envoy-ts process sharing the maps, or a socket sock_ops
   * added. The connecting side must then not write before its peer is in the sockhash: bytes it
   * sent over TCP first would keep this direction on TCP (the sk_msg ordering guard). So wait for a
   * published listener's registration, with a bound.
   */
  override async connected(socket: net.Socket): Promise<void> {
    const datapath = this.datapath;
    const fd = socketFd(socket);
    if (!this.accelerating || !datapath || fd === undefined) return;
    if (socket.remoteFamily !== 'IPv4') {
      this.stats.notIpv4.inc();
      return;
    }
    let published: boolean;
    try {
      published = datapath.peerIsPublishedListener(fd, socket);
      if (!published && !datapath.peerRegistered(fd, socket)) {
        this.stats.skippedNoPeer.inc();
        return;
      }
    } catch (err) {
      this.logger.warn(`looking up the peer of fd ${fd} failed, it stays on TCP/IP: ${String(err)}`);
      return;
    }
    const registration = this.register(socket);
    if (!registration || !published) return;
    try {
      this.stats.peerWaits.inc();
      if (!(await datapath.waitForPeer(fd, this.settings.peerWaitMs, socket))) {
        this.stats.peerWaitTimeouts.inc();
        this.logger.debug(`peer of fd ${registration.fd} not registered within ${this.settings.peerWaitMs}ms; it may stay on TCP`);
        // A listener published by a process that was killed would make every connection wait.
        if (!socket.destroyed && datapath.dropStaleListener(fd, socket)) {
          this.logger.info(`${socket.remoteAddress}:${socket.remotePort} was published by an envoy-ts process that is gone; no longer waiting for it`);
        }
      }
    } catch (err) {
      this.logger.warn(`waiting for the peer registration failed: ${String(err)}`);
    }
  }

  override closing(socket: net.Socket): void {
    const registration = this.release(socket);
    if (!registration || !this.datapath) return;
    try {
      this.datapath.unregisterSocket(registration.fd);
      this.stats.unregistered.inc();
    } catch (err) {
      this.logger.warn(`removing fd ${registration.fd} from the sockhash failed: ${String(err)}`);
    }
  }

  /**
   * A registered socket closed without closing(): Node destroys a socket itself on a reset. The
   * kernel removed its entry when it closed, and its descriptor number may already belong to a new
   * socket, so only this process's bookkeeping is dropped.
   */
  private closed(socket: net.Socket): void {
    const registration = this.release(socket);
    if (!registration || !this.datapath) return;
    this.datapath.forgetSocket(registration.fd);
    this.stats.unregistered.inc();
  }

  /** Ends this process's bookkeeping of a registered socket; returns its registration, if any. */
  private release(socket: net.Socket): Registration | undefined {
    const registration = this.registrations.get(socket);
    if (!registration) return undefined;
    this.registrations.delete(socket);
    clearInterval(registration.pressureTimer);
    return registration;
  }

  override listening(address: net.AddressInfo): void {
    if (!this.accelerating || address.family !== 'IPv4') return;
    try {
      this.datapath?.publishListener(address.address, address.port);
      this.published.push(address);
    } catch (err) {
      this.logger.warn(`publishing listener ${address.address}:${address.port} failed: ${String(err)}`);
    }
  }

  override async shutdown(): Promise<void> {
    if (!this.datapath) return;
    for (const address of this.published.splice(0)) {
      try {
        this.datapath.unpublishListener(address.address, address.port);
      } catch {
        // The maps may already be gone; nothing is left to clean.
      }
    }
    this.datapath.close();
  }

  private register(socket: net.Socket): Registration | undefined {
    if (!this.accelerating || !this.datapath) return undefined;
    const fd = socketFd(socket);
    if (fd === undefined) return undefined;
    let result;
    try {
      result = this.datapath.registerSocket(fd, socket);
    } catch (err) {
      this.stats.registrationFailed.inc();
      this.logger.warn(`adding fd ${fd} to the sockhash failed, it stays on TCP/IP: ${String(err)}`);
      return undefined;
    }
    switch (result) {
      case 'registered':
      case 'exists': {
        this.stats.registered.inc();
        const registration: Registration = { fd, pressureOn: false };
        this.registrations.set(socket, registration);
        this.watchPressure(socket, registration);
        socket.once('close', () => this.closed(socket));
        return registration;
      }
      case 'not_ipv4':
        this.stats.notIpv4.inc();
        return undefined;
      case 'not_established':
        this.stats.notEstablished.inc();
        return undefined;
      case 'map_full':
        this.stats.mapFull.inc();
        this.stats.logMapFull(this.logger);
        return undefined;
      case 'failed':
        this.stats.registrationFailed.inc();
        return undefined;
    }
  }

  /**
   * A redirect has no backpressure: bytes pile up in the receiver's ingress queue while the proxy
   * does not read. While this socket is paused, watch its unread bytes; past the bound, mark it so
   * its peer's sk_msg passes to TCP, whose window then brakes the sender. That move is one-way and
   * keeps order (redirected bytes are read before the TCP queue).
   */
  private watchPressure(socket: net.Socket, registration: Registration): void {
    const datapath = this.datapath;
    if (!datapath) return;
    socket.on('pause', () => {
      if (registration.pressureOn || registration.pressureTimer) return;
      registration.pressureTimer = setInterval(() => {
        if (datapath.unreadBytes(registration.fd) < this.settings.pressureBytes) return;
        clearInterval(registration.pressureTimer);
        registration.pressureTimer = undefined;
        registration.pressureOn = true;
        datapath.setPressure(registration.fd, true);
        this.stats.pressure.inc();
      }, this.settings.pressureCheckMs);
      registration.pressureTimer.unref();
    });
    socket.on('resume', () => {
      clearInterval(registration.pressureTimer);
      registration.pressureTimer = undefined;
    });
  }
}
