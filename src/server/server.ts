import cluster from 'node:cluster';
import type * as net from 'node:net';
import { AdminServer } from '../admin/admin_server';
import { getLogger } from '../common/logger';
import type { SocketInterface } from '../network/socket_interface';
import { StatsStore, type StatValue } from '../stats/stats';
import { ClusterManager } from '../upstream/cluster_manager';
import {
  createBootstrapExtensions,
  initializeExtensions,
  selectSocketInterface,
  shutdownExtensions,
  type CreatedExtension,
} from './bootstrap_extensions';
import { ActiveListener, type SocketHandoff } from './listener';
import { hostPortOf } from './listener_address';
import type { ResolvedBootstrap } from './resolved_bootstrap';
import { sumStats } from './stats_aggregation';
import { WorkerPool } from './worker_pool';
import { isPrimaryMessage, WORKER_HANDOFF_ENV, WORKER_INDEX_ENV, type BoundListener, type PrimaryMessage, type WorkerMessage } from './worker_messages';

const logger = getLogger('main');

export interface ServerOptions {
  /** Worker processes sharing the listeners (Envoy's --concurrency); 1 serves in this process. */
  readonly concurrency?: number;
  /** With concurrency > 1: the script workers run, by default this process's script (the CLI). */
  readonly workerExec?: string;
  /** With concurrency > 1: the workers' arguments, by default this process's arguments. */
  readonly workerArgs?: readonly string[];
}

/**
 * - single: concurrency 1, everything in this process;
 * - primary: concurrency > 1, runs the bootstrap extensions, the admin listener and the workers;
 * - worker: a process forked by a primary; runs its own extensions, clusters and listeners.
 */
export type ServerRole = 'single' | 'primary' | 'worker';

function roleOf(concurrency: number): ServerRole {
  if (cluster.isWorker && process.env[WORKER_INDEX_ENV] !== undefined) return 'worker';
  return concurrency > 1 ? 'primary' : 'single';
}

/** In a worker, how its sockets arrive, as its primary said (see workerHandoff in worker_pool.ts). */
function workerHandoff(): SocketHandoff {
  return process.env[WORKER_HANDOFF_ENV] === 'accepted' ? 'accepted' : 'duplicated';
}

/** The envoy-ts server: bootstrap extensions, socket interface, clusters, listeners and admin. */
export class Server {
  readonly role: ServerRole;
  readonly stats = new StatsStore();
  private readonly workerIndex: number;
  private extensions: CreatedExtension[] = [];
  private listeners: ActiveListener[] = [];
  private boundListeners: BoundListener[] = [];
  private workerPool: WorkerPool | undefined;
  private admin: AdminServer | undefined;
  private onPrimaryMessage: ((message: unknown) => void) | undefined;
  private live = false;
  private started = false;

  constructor(
    private readonly resolved: ResolvedBootstrap,
    private readonly options: ServerOptions = {},
  ) {
    this.role = roleOf(options.concurrency ?? 1);
    this.workerIndex = this.role === 'worker' ? Number(process.env[WORKER_INDEX_ENV]) : 0;
  }

  /** Starts everything in order; on any failure what was started is stopped and the promise rejects. */
  async start(): Promise<void> {
    if (this.started) throw new Error('the server was already started');
    this.started = true;
    try {
      const socketInterface = await this.startExtensions();
      if (this.role === 'primary') {
        this.workerPool = new WorkerPool({
          concurrency: this.options.concurrency ?? 1,
          exec: this.options.workerExec,
          args: this.options.workerArgs,
        });
        this.boundListeners = await this.workerPool.start();
      } else {
        await this.startListeners(socketInterface);
      }
      if (this.role === 'worker') this.serveWorkerIpc();
      else await this.startAdmin();
      this.live = true;
      if (this.role === 'worker') this.sendToPrimary({ type: 'envoy-ts:ready', listeners: this.boundListeners });
    } catch (err) {
      if (this.role === 'worker') this.sendToPrimary({ type: 'envoy-ts:start-failed', error: String(err) });
      await this.stop();
      throw err;
    }
  }

  /** Closes listeners and their connections, stops workers and admin, shuts extensions down. */
  async stop(): Promise<void> {
    this.live = false;
    await this.admin?.stop();
    this.admin = undefined;
    await this.workerPool?.stop();
    this.workerPool = undefined;
    await Promise.all(this.listeners.map((listener) => listener.stop()));
    this.listeners = [];
    await shutdownExtensions(this.extensions); // including the socket interfaces they provide
    this.extensions = [];
    if (this.onPrimaryMessage) process.off('message', this.onPrimaryMessage);
    this.onPrimaryMessage = undefined;
  }

  /** The bound address of each listener (with --concurrency, the one the workers share). */
  listenerAddresses(): BoundListener[] {
    return [...this.boundListeners];
  }

  listenerAddress(name: string): net.AddressInfo | undefined {
    return this.boundListeners.find((l) => l.name === name)?.address;
  }

  adminAddress(): net.AddressInfo | undefined {
    return this.admin?.address();
  }

  /** This process's stats, plus every worker's when this is a primary. */
  async collectStats(): Promise<StatValue[]> {
    const workers = (await this.workerPool?.collectStats()) ?? [];
    return sumStats([this.stats.snapshot(), ...workers]);
  }

  /** Steps (1)-(3): bootstrap extensions, the socket interface, onServerInitialized. */
  private async startExtensions(): Promise<SocketInterface> {
    this.extensions = await createBootstrapExtensions(this.resolved.bootstrapExtensions, {
      stats: this.stats,
      isWorker: this.role === 'worker',
    });
    const socketInterface = selectSocketInterface(this.resolved.defaultSocketInterface, this.extensions);
    logger.info(`socket interface: ${socketInterface.name}`);
    await initializeExtensions(this.extensions);
    return socketInterface;
  }

  private async startListeners(socketInterface: SocketInterface): Promise<void> {
    const context = {
      socketInterface,
      stats: this.stats,
      clusterManager: new ClusterManager(this.resolved.clusters, this.stats),
      handoff: this.role === 'worker' ? workerHandoff() : ('accepted' as const),
      workerIndex: this.workerIndex,
    };
    for (const config of this.resolved.listeners) {
      const listener = new ActiveListener(config, context);
      this.listeners.push(listener);
      this.boundListeners.push({ name: listener.name, address: await listener.start() });
    }
  }

  private async startAdmin(): Promise<void> {
    const adminConfig = this.resolved.bootstrap.admin;
    if (!adminConfig?.address) return;
    const { host, port } = hostPortOf(adminConfig.address, 'admin');
    this.admin = new AdminServer({
      stats: () => this.collectStats(),
      bootstrap: () => this.resolved.bootstrap,
      isLive: () => this.live,
    });
    await this.admin.start(host, port);
  }

  /** A worker answers its primary's stats requests and stops (then leaves the cluster) when told. */
  private serveWorkerIpc(): void {
    this.onPrimaryMessage = (message: unknown) => {
      if (isPrimaryMessage(message)) this.onMessageFromPrimary(message);
    };
    process.on('message', this.onPrimaryMessage);
  }

  private onMessageFromPrimary(message: PrimaryMessage): void {
    if (message.type === 'envoy-ts:get-stats') {
      this.sendToPrimary({ type: 'envoy-ts:stats', requestId: message.requestId, stats: this.stats.snapshot() });
      return;
    }
    this.stop().then(
      () => cluster.worker?.disconnect(),
      (err: unknown) => {
        logger.error(`worker ${this.workerIndex} stop failed: ${String(err)}`);
        process.exit(1);
      },
    );
  }

  private sendToPrimary(message: WorkerMessage): void {
    process.send?.(message);
  }
}
