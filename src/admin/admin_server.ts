import * as http from 'node:http';
import type * as net from 'node:net';
import { getLogger } from '../common/logger';
import type { StatValue } from '../stats/stats';
import { formatStatsJson, formatStatsPrometheus, formatStatsText } from './stats_format';

const logger = getLogger('admin');

/** Where the admin endpoints read from. */
export interface AdminSources {
  /** Every stat of the server (all processes with --concurrency > 1). */
  stats(): Promise<StatValue[]>;
  /** The bootstrap as loaded. */
  bootstrap(): unknown;
  /** True once the server has started and until it stops. */
  isLive(): boolean;
}

interface Response {
  status: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/plain; charset=UTF-8';
const JSON_TYPE = 'application/json';

/** Bytes (a decoded Any's value) become base64, as in proto3 JSON; `this[key]` is the value before Buffer.toJSON. */
function configDumpReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return original instanceof Uint8Array ? Buffer.from(original).toString('base64') : value;
}

/** Envoy's admin listener: /ready, /stats, /stats?format=json, /stats/prometheus, /config_dump. */
export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly sources: AdminSources) {
    this.server = http.createServer((req, res) => {
      this.route(req).then(
        (response) => {
          res.writeHead(response.status, { 'content-type': response.contentType });
          res.end(req.method === 'HEAD' ? undefined : response.body);
        },
        (err: unknown) => {
          logger.error(`${req.url ?? ''}: ${String(err)}`);
          res.writeHead(500, { 'content-type': TEXT });
          res.end(`${String(err)}\n`);
        },
      );
    });
  }

  async start(host: string, port: number): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const bound = this.server.address() as net.AddressInfo;
    logger.info(`admin listening on ${bound.address}:${bound.port}`);
    return bound;
  }

  address(): net.AddressInfo | undefined {
    return (this.server.address() as net.AddressInfo | null) ?? undefined;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage): Promise<Response> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, contentType: TEXT, body: 'method not allowed\n' };
    switch (url.pathname) {
      case '/ready':
        return this.sources.isLive()
          ? { status: 200, contentType: TEXT, body: 'LIVE\n' }
          : { status: 503, contentType: TEXT, body: 'PRE_INITIALIZING\n' };
      case '/stats': {
        const stats = await this.sources.stats();
        return url.searchParams.get('format') === 'json'
          ? { status: 200, contentType: JSON_TYPE, body: formatStatsJson(stats) }
          : { status: 200, contentType: TEXT, body: formatStatsText(stats) };
      }
      case '/stats/prometheus':
        return { status: 200, contentType: 'text/plain; version=0.0.4', body: formatStatsPrometheus(await this.sources.stats()) };
      case '/config_dump': {
        const dump = {
          configs: [{ '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: this.sources.bootstrap() }],
        };
        return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(dump, configDumpReplacer, 2) };
      }
      default:
        return { status: 404, contentType: TEXT, body: `no admin handler for ${url.pathname}\n` };
    }
  }
}
