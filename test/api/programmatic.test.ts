// The programmatic API as a user's own code would use it: register a socket interface and a
// network filter, select the socket interface with default_socket_interface, start and stop.
import * as net from 'node:net';
import {
  BootstrapError,
  DefaultSocketInterface,
  loadBootstrapObject,
  registerNetworkFilter,
  registerSocketInterface,
  Server,
  type ListenerFactoryContext,
  type NetworkFilterFactory,
  type NetworkFilterFactoryCb,
  type SocketInterfaceExtension,
  type SocketInterfaceFactory,
} from '../../src/index';

/** A user's socket interface that records the hooks it sees. */
class RecordingSocketInterface extends DefaultSocketInterface {
  readonly events: string[] = [];
  constructor(readonly tag: string) {
    super('example.recording_socket_interface');
  }
  override accepted(): void {
    this.events.push('accepted');
  }
  override closing(): void {
    this.events.push('closing');
  }
}

interface StructConfig {
  fields: Record<string, unknown>;
}

let created: RecordingSocketInterface | undefined;
const recordingFactory: SocketInterfaceFactory<StructConfig> = {
  name: 'example.recording_socket_interface',
  configTypes: ['google.protobuf.Struct'],
  isSocketInterface: true,
  createBootstrapExtension(config): SocketInterfaceExtension {
    created = new RecordingSocketInterface(JSON.stringify(config));
    return { socketInterface: created };
  },
};

/** A user's network filter: greets, then closes through the socket interface. */
const greeterFactory: NetworkFilterFactory<{ value: string }> = {
  name: 'example.greeter',
  configTypes: ['google.protobuf.StringValue'],
  validateConfig: (config) => (config.value ? [] : [{ path: 'value', message: 'a greeting is required' }]),
  createFilterFactory(config, context: ListenerFactoryContext): NetworkFilterFactoryCb {
    return (socket) => {
      socket.end(config.value, () => context.socketInterface.closing(socket));
    };
  },
};

function bootstrap(greeting: string): object {
  return {
    static_resources: {
      listeners: [
        {
          name: 'greet',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            { filters: [{ name: 'example.greeter', typed_config: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: greeting } }] },
          ],
        },
      ],
    },
    bootstrap_extensions: [
      { name: 'example.recording_socket_interface', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Struct', value: { mode: 'test' } } },
    ],
    default_socket_interface: 'example.recording_socket_interface',
  };
}

describe('programmatic API', () => {
  beforeAll(() => {
    registerSocketInterface(recordingFactory);
    registerNetworkFilter(greeterFactory);
  });

  test('a second registration of the same name is an error', () => {
    expect(() => registerNetworkFilter(greeterFactory)).toThrow(/already registered/);
  });

  test('a user socket interface and filter serve real connections', async () => {
    const server = new Server(loadBootstrapObject(bootstrap('hello')));
    await server.start();
    try {
      expect(created).toBeDefined();
      expect(JSON.parse(created!.tag)).toEqual({ fields: { mode: 'test' } });
      const address = server.listenerAddress('greet');
      const reply = await new Promise<string>((resolve, reject) => {
        const s = net.connect({ port: address!.port, host: '127.0.0.1' });
        let text = '';
        s.on('data', (d) => (text += d.toString()));
        s.on('end', () => resolve(text));
        s.on('error', reject);
      });
      expect(reply).toBe('hello');
      expect(created!.events).toEqual(['accepted', 'closing']);
    } finally {
      await server.stop();
    }
  });

  test('a user factory validateConfig error names the field path', () => {
    expect(() => loadBootstrapObject(bootstrap(''))).toThrow(BootstrapError);
    expect(() => loadBootstrapObject(bootstrap(''))).toThrow(/static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.value: a greeting is required/);
  });
});
