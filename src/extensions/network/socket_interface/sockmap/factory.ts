import { getLogger, type Logger } from '../../../../common/logger';
import type { Sockmap } from '../../../../generated/envoy/extensions/network/socket_interface/sockmap/v3/sockmap';
import type {
  ServerFactoryContext,
  SocketInterfaceExtension,
  SocketInterfaceFactory,
} from '../../../../registry/bootstrap_extension';
import type { ConfigIssue } from '../../../../registry/registry';
import type { DatapathLoader, DatapathOptions, SockmapDatapath } from './datapath_types';
import { DEFAULT_SETTINGS, SOCKMAP_SOCKET_INTERFACE_NAME, SockmapSocketInterface } from './socket_interface';
import { SockmapStats } from './stats';

export const SOCKMAP_CONFIG_TYPE = 'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap';
const DEFAULT_SOCKHASH_MAX_ENTRIES = 65536;
const MAX_PORT_END = 65536;
const ATTACH_CHECK_INTERVAL_MS = 1000;

/** The Sockmap config with Envoy's defaults applied. */
export function datapathOptions(config: Sockmap, isWorker: boolean): DatapathOptions {
  return {
    bpfProgramPath: config.bpf_program_path,
    cgroupPath: config.cgroup_path,
    sockhashMaxEntries: config.sockhash_max_entries ?? DEFAULT_SOCKHASH_MAX_ENTRIES,
    acceleratedPorts: config.accelerated_ports.map((r) => ({ start: r.start, end: r.end })),
    pinPath: config.pin_path,
    attachCgroup: !isWorker,
  };
}

/** ENVOY_TS_SOCKMAP_PEER_WAIT_MS: for benchmarks that compare with and without the peer wait. */
function peerWaitOverride(): number | undefined {
  const value = Number(process.env.ENVOY_TS_SOCKMAP_PEER_WAIT_MS);
  return process.env.ENVOY_TS_SOCKMAP_PEER_WAIT_MS !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * With --concurrency the primary and every worker load the same object with the same options. The
 * primary logs the outcome ("sockmap acceleration enabled using ..." or "... disabled ...: <reason>")
 * once for the server; while a worker loads, its copies of those lines go to debug, so the log says
 * it once. After the load (done()), the datapath's own warnings are logged at their level again.
 */
function workerLoadLogger(logger: Logger): { logger: Logger; done: () => void } {
  let loading = true;
  const during = (log: (m: string) => void) => (m: string) => (loading ? logger.debug(`worker: ${m}`) : log(m));
  return {
    logger: { ...logger, error: during(logger.error), warn: during(logger.warn), info: during(logger.info) },
    done: () => (loading = false),
  };
}

function ensureAttached(datapath: SockmapDatapath, logger: Logger): void {
  try {
    datapath.ensureAttached();
  } catch (err) {
    logger.warn(`re-attaching the shared sk_msg program failed: ${String(err)}`);
  }
}

/**
 * Creates the sockmap socket interface from its typed_config. The datapath loader is chosen at
 * build time (libbpf or stub, see build_variant.ts); tests may pass either.
 */
export class SockmapSocketInterfaceFactory implements SocketInterfaceFactory<Sockmap> {
  readonly name = SOCKMAP_SOCKET_INTERFACE_NAME;
  readonly configTypes = [SOCKMAP_CONFIG_TYPE];
  readonly isSocketInterface = true;

  constructor(private readonly loadDatapath: DatapathLoader) {}

  validateConfig(config: Sockmap): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    config.accelerated_ports.forEach((range, i) => {
      const path = `accelerated_ports[${i}]`;
      if (range.start < 1) issues.push({ path: `${path}.start`, message: `must be >= 1 (got ${range.start})` });
      if (range.end > MAX_PORT_END) issues.push({ path: `${path}.end`, message: `must be <= ${MAX_PORT_END} (got ${range.end})` });
      if (range.start >= range.end) {
        issues.push({ path, message: `empty range: start (${range.start}) must be less than end (${range.end}), end is exclusive` });
      }
    });
    for (const field of ['cgroup_path', 'pin_path'] as const) {
      if (config[field] && !config[field].startsWith('/')) {
        issues.push({ path: field, message: `must be an absolute path (got '${config[field]}')` });
      }
    }
    return issues;
  }

  createBootstrapExtension(config: Sockmap, context: ServerFactoryContext): SocketInterfaceExtension {
    const logger = getLogger('sockmap');
    const stats = new SockmapStats(context.stats);
    const load = context.isWorker ? workerLoadLogger(logger) : { logger, done: () => undefined };
    const datapath = this.loadDatapath(datapathOptions(config, context.isWorker), load.logger);
    load.done();
    if (datapath && !context.isWorker) SockmapStats.addKernelCounters(context.stats, datapath);
    const settings = {
      ...DEFAULT_SETTINGS,
      registerUserSpaceSockets: config.register_user_space_sockets ?? true,
      peerWaitMs: peerWaitOverride() ?? DEFAULT_SETTINGS.peerWaitMs,
    };
    const socketInterface = new SockmapSocketInterface(datapath, settings, stats, logger);
    // Another process sharing the maps may own the sk_msg attachment; take over if it exits.
    const attachCheck = datapath ? setInterval(() => ensureAttached(datapath, logger), ATTACH_CHECK_INTERVAL_MS) : undefined;
    attachCheck?.unref();
    // The server shuts the socket interface (and with it the datapath) down after this.
    return { socketInterface, shutdown: () => clearInterval(attachCheck) };
  }
}
