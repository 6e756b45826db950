import type * as net from 'node:net';
import type { Logger } from '../../../../common/logger';
import type { SocketInterface } from '../../../../network/socket_interface';
import { closeSocketGracefully, destroySocket, notifyClosing } from '../../../../server/socket_close';
import type { StaticCluster } from '../../../../upstream/cluster';
import { connectUpstream, type UpstreamConnectOutcome } from '../../../../upstream/upstream_connect';
import type { TcpProxyConfig, TcpProxyStats } from './config';

/**
 * One proxied connection (Envoy's TcpProxy::Filter): connects upstream, then copies bytes both
 * ways with backpressure, propagates half-close and enforces the idle timeout. Downstream bytes
 * that arrive before the upstream is ready stay in the paused downstream socket.
 */
export class TcpProxySession {
  private upstream: net.Socket | undefined;
  private connected = false;
  private lastActivity = Date.now();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly downstream: net.Socket,
    private readonly config: TcpProxyConfig,
    private readonly cluster: StaticCluster,
    private readonly socketInterface: SocketInterface,
    private readonly stats: TcpProxyStats,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stats.downstream_cx_total.inc();
    this.downstream.on('error', (err) => this.abort('downstream', err));
    this.downstream.once('close', () => this.onSocketClosed(this.downstream));

    const host = this.cluster.chooseHost();
    if (!host) {
      this.cluster.stats.upstream_cx_none_healthy.inc();
      this.logger.debug(`no host in cluster '${this.cluster.name}'`);
      closeSocketGracefully(this.socketInterface, this.downstream);
      return;
    }
    const attempt = connectUpstream(this.socketInterface, host, this.cluster.connectTimeoutMs);
    const upstream = attempt.socket;
    this.upstream = upstream;
    this.cluster.stats.upstream_cx_total.inc();
    this.cluster.stats.upstream_cx_active.inc();
    upstream.on('error', (err) => {
      if (this.connected) this.abort('upstream', err); // before that, the connect outcome reports it
    });
    upstream.once('close', () => {
      this.cluster.stats.upstream_cx_active.dec();
      this.onSocketClosed(upstream);
    });
    void attempt.outcome.then((outcome) => this.onConnectOutcome(upstream, outcome, `${host.host}:${host.port}`));
  }

  private onConnectOutcome(upstream: net.Socket, outcome: UpstreamConnectOutcome, hostName: string): void {
    if (outcome === 'connected' && !this.downstream.destroyed) {
      this.connected = true;
      this.relay(this.downstream, upstream, this.cluster.stats.upstream_cx_tx_bytes_total, this.stats.downstream_cx_rx_bytes_total);
      this.relay(upstream, this.downstream, this.cluster.stats.upstream_cx_rx_bytes_total, this.stats.downstream_cx_tx_bytes_total);
      this.startIdleTimer();
      return;
    }
    if (outcome === 'connect_fail') this.cluster.stats.upstream_cx_connect_fail.inc();
    if (outcome === 'connect_timeout') this.cluster.stats.upstream_cx_connect_timeout.inc();
    if (outcome === 'connect_fail' || outcome === 'connect_timeout') {
      this.logger.debug(`upstream ${hostName} of cluster '${this.cluster.name}': ${outcome}`);
    }
    destroySocket(this.socketInterface, upstream);
    closeSocketGracefully(this.socketInterface, this.downstream);
  }

  /** Copies src to dst, pausing src while dst's buffer is full; src's end becomes dst's end. */
  private relay(src: net.Socket, dst: net.Socket, ...byteCounters: { inc(by: number): void }[]): void {
    src.on('data', (chunk: Buffer) => {
      this.lastActivity = Date.now();
      for (const counter of byteCounters) counter.inc(chunk.length);
      if (dst.destroyed) return;
      if (!dst.write(chunk)) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    });
    src.once('end', () => {
      // A socket read to its end whose writes are ended too closes on its own: tell the interface first.
      if (src.writableEnded) notifyClosing(this.socketInterface, src);
      if (dst.destroyed) return;
      if (dst.readableEnded) notifyClosing(this.socketInterface, dst);
      dst.end();
    });
  }

  private startIdleTimer(): void {
    const timeoutMs = this.config.idleTimeoutMs;
    if (timeoutMs <= 0) return;
    const check = () => {
      const idleFor = Date.now() - this.lastActivity;
      if (idleFor < timeoutMs) {
        this.idleTimer = setTimeout(check, timeoutMs - idleFor);
        return;
      }
      this.stats.idle_timeout.inc();
      this.logger.debug(`idle for ${idleFor} ms, closing`);
      this.closeBoth();
    };
    this.idleTimer = setTimeout(check, timeoutMs);
  }

  private abort(side: 'downstream' | 'upstream', err: Error): void {
    this.logger.debug(`${side} error: ${err.message}`);
    this.closeBoth();
  }

  private closeBoth(): void {
    destroySocket(this.socketInterface, this.downstream);
    if (this.upstream) destroySocket(this.socketInterface, this.upstream);
  }

  /**
   * When one side closes, the other is destroyed too, unless it is finishing a graceful half-close
   * (both its directions ended), or it is the downstream of a failed connect (onConnectOutcome
   * closes that one gracefully).
   */
  private onSocketClosed(closed: net.Socket): void {
    const other = closed === this.downstream ? this.upstream : this.downstream;
    const finishing = other !== undefined && other.readableEnded && other.writableEnded;
    const connectFailed = closed === this.upstream && !this.connected;
    if (other && !finishing && !connectFailed) destroySocket(this.socketInterface, other);
    if (this.downstream.destroyed && (!this.upstream || this.upstream.destroyed)) clearTimeout(this.idleTimer);
  }
}
