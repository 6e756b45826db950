import type { DefaultSocketInterface as DefaultSocketInterfaceConfig } from '../generated/envoy/extensions/network/socket_interface/v3/default_socket_interface';
import type { SocketInterfaceExtension, SocketInterfaceFactory } from '../registry/bootstrap_extension';
import { DefaultSocketInterface } from './socket_interface';

export const DEFAULT_SOCKET_INTERFACE_NAME = 'envoy.extensions.network.socket_interface.default_socket_interface';
export const DEFAULT_SOCKET_INTERFACE_CONFIG_TYPE = 'envoy.extensions.network.socket_interface.v3.DefaultSocketInterface';

/** Envoy's default socket interface as a bootstrap extension: plain node:net. */
export class DefaultSocketInterfaceFactory implements SocketInterfaceFactory<DefaultSocketInterfaceConfig> {
  readonly name = DEFAULT_SOCKET_INTERFACE_NAME;
  readonly configTypes = [DEFAULT_SOCKET_INTERFACE_CONFIG_TYPE];
  readonly isSocketInterface = true;

  createBootstrapExtension(): SocketInterfaceExtension {
    return { socketInterface: new DefaultSocketInterface(DEFAULT_SOCKET_INTERFACE_NAME) };
  }
}
