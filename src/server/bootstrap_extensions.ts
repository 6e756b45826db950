import { getLogger } from '../common/logger';
import { DefaultSocketInterface, type SocketInterface } from '../network/socket_interface';
import type { BootstrapExtension, ServerFactoryContext, SocketInterfaceExtension } from '../registry/bootstrap_extension';
import type { ResolvedBootstrapExtension } from './resolved_bootstrap';

const logger = getLogger('main');

export interface CreatedExtension {
  readonly name: string;
  readonly extension: BootstrapExtension;
}

function isSocketInterfaceExtension(extension: BootstrapExtension): extension is SocketInterfaceExtension {
  return typeof (extension as Partial<SocketInterfaceExtension>).socketInterface === 'object';
}

/** Creates every bootstrap extension in order; if one fails, those already created are shut down. */
export async function createBootstrapExtensions(
  entries: readonly ResolvedBootstrapExtension[],
  context: ServerFactoryContext,
): Promise<CreatedExtension[]> {
  const created: CreatedExtension[] = [];
  try {
    for (const entry of entries) {
      const extension = await entry.factory.createBootstrapExtension(entry.config, context);
      created.push({ name: entry.name, extension });
      logger.debug(`bootstrap extension '${entry.name}' created`);
    }
  } catch (err) {
    await shutdownExtensions(created);
    throw err;
  }
  return created;
}

/**
 * The socket interface named by default_socket_interface, which must be one of the created
 * extensions and a socket interface; the built-in default socket interface when no name is given.
 */
export function selectSocketInterface(name: string | undefined, created: readonly CreatedExtension[]): SocketInterface {
  if (!name) return new DefaultSocketInterface();
  const match = created.find((entry) => entry.name === name);
  if (!match) throw new Error(`default_socket_interface '${name}' names no bootstrap extension`);
  if (!isSocketInterfaceExtension(match.extension)) {
    throw new Error(`default_socket_interface '${name}' is not a socket interface`);
  }
  return match.extension.socketInterface;
}

export async function initializeExtensions(created: readonly CreatedExtension[]): Promise<void> {
  for (const { extension } of created) await extension.onServerInitialized?.();
}

/**
 * Shuts extensions down in reverse order of creation, each socket interface extension's socket
 * interface right after its extension (the server owns their lifecycle, selected or not);
 * failures are logged, not thrown.
 */
export async function shutdownExtensions(created: readonly CreatedExtension[]): Promise<void> {
  for (const { name, extension } of [...created].reverse()) {
    try {
      await extension.shutdown?.();
      if (isSocketInterfaceExtension(extension)) await extension.socketInterface.shutdown();
    } catch (err) {
      logger.error(`bootstrap extension '${name}' shutdown failed: ${String(err)}`);
    }
  }
}
