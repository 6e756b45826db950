import cluster, { type Worker } from 'node:cluster';
import { getLogger } from '../common/logger';
import type { StatValue } from '../stats/stats';
import type { SocketHandoff } from './listener';
import { isWorkerMessage, WORKER_HANDOFF_ENV, WORKER_INDEX_ENV, type BoundListener, type PrimaryMessage, type WorkerMessage } from './worker_messages';

const logger = getLogger('main');

const STATS_TIMEOUT_MS = 2000;
const STOP_TIMEOUT_MS = 5000;

export interface WorkerPoolOptions {
  readonly concurrency: number;
  /** The script each worker runs; by default this process's own script and arguments (the CLI). */
  readonly exec?: string;
  readonly args?: readonly string[];
}

/**
 * How accepted sockets reach the workers. With node:cluster's default round-robin scheduling the
 * primary accepts every connection and passes the descriptor to a worker, so in the worker each
 * socket is a duplicated one (SocketInterface.duplicated), not one it accepted itself. With
 * SCHED_NONE the workers accept from the shared listen socket themselves (accepted).
 */
function workerHandoff(): SocketHandoff {
  return cluster.schedulingPolicy === cluster.SCHED_RR ? 'duplicated' : 'accepted';
}

interface StatsRequest {
  readonly results: StatValue[][];
  remaining: number;
  readonly done: () => void;
}

/**
 * The primary's side of --concurrency: forks the node:cluster workers, waits until each has its
 * listeners bound, asks them for their stats, and stops them.
 */
export class WorkerPool {
  private readonly workers = new Set<Worker>();
  private readonly statsRequests = new Map<number, StatsRequest>();
  private nextRequestId = 1;
  private stopping = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Resolves with the listeners the workers bound (the same for all); rejects if any worker fails to start. */
  async start(): Promise<BoundListener[]> {
    cluster.setupPrimary({
      exec: this.options.exec ?? process.argv[1],
      args: [...(this.options.args ?? process.argv.slice(2))],
    });
    const started: Promise<BoundListener[]>[] = [];
    for (let index = 0; index < this.options.concurrency; index++) started.push(this.fork(index));
    try {
      const [listeners] = await Promise.all(started);
      return listeners ?? [];
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** The stats of every live worker (those that do not answer in time are left out). */
  async collectStats(): Promise<StatValue[][]> {
    const workers = [...this.workers].filter((w) => w.isConnected());
    if (workers.length === 0) return [];
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      const request: StatsRequest = { results: [], remaining: workers.length, done: () => finish() };
      const timer = setTimeout(() => finish(), STATS_TIMEOUT_MS);
      const finish = () => {
        clearTimeout(timer);
        this.statsRequests.delete(requestId);
        resolve(request.results);
      };
      this.statsRequests.set(requestId, request);
      for (const worker of workers) this.send(worker, { type: 'envoy-ts:get-stats', requestId });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.workers].map((worker) => this.stopWorker(worker)));
  }

  private fork(index: number): Promise<BoundListener[]> {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index), [WORKER_HANDOFF_ENV]: workerHandoff() });
    this.workers.add(worker);
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message) && message.type === 'envoy-ts:stats') this.onStats(message);
    });
    worker.once('exit', (code, signal) => {
      this.workers.delete(worker);
      if (!this.stopping) logger.error(`worker ${index} (pid ${worker.process.pid}) died: code ${code}, signal ${signal}`);
    });
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!isWorkerMessage(message)) return;
        if (message.type === 'envoy-ts:ready') {
          worker.off('message', onMessage);
          worker.off('exit', onExit);
          logger.info(`worker ${index} (pid ${worker.process.pid}) started`);
          resolve(message.listeners);
        } else if (message.type === 'envoy-ts:start-failed') {
          reject(new Error(`worker ${index} failed to start: ${message.error}`));
        }
      };
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`worker ${index} exited before it was ready (code ${code}, signal ${signal})`));
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  private onStats(message: Extract<WorkerMessage, { type: 'envoy-ts:stats' }>): void {
    const request = this.statsRequests.get(message.requestId);
    if (!request) return;
    request.results.push(message.stats);
    if (--request.remaining === 0) request.done();
  }

  private async stopWorker(worker: Worker): Promise<void> {
    if (worker.isDead()) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (worker.isConnected()) this.send(worker, { type: 'envoy-ts:shutdown' });
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  private send(worker: Worker, message: PrimaryMessage): void {
    try {
      worker.send(message);
    } catch (err) {
      logger.debug(`sending to worker pid ${worker.process.pid}: ${String(err)}`);
    }
  }
}
