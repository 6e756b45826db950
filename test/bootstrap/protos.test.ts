import * as protobuf from 'protobufjs';
import { fieldRules, knownMessageNames, lookupType, oneofRequired, protoRoot, typeFromUrl } from '../../src/protos';

describe('Envoy v3 protos', () => {
  it('loads the root once and finds the messages envoy-ts needs', () => {
    expect(protoRoot()).toBe(protoRoot());
    const names = knownMessageNames();
    for (const name of [
      'envoy.config.bootstrap.v3.Bootstrap',
      'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      'envoy.extensions.network.socket_interface.v3.DefaultSocketInterface',
      'envoy.extensions.network.socket_interface.sockmap.v3.Sockmap',
      'google.protobuf.UInt32Value',
    ]) expect(names).toContain(name);
    expect(lookupType('envoy.config.bootstrap.v3.Bootstrap').fields.default_socket_interface.id).toBe(24);
    expect(lookupType('envoy.config.bootstrap.v3.Bootstrap').fields.bootstrap_extensions.id).toBe(21);
  });

  it('maps type URLs to types, undefined when unknown', () => {
    expect(typeFromUrl('type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap')?.fullName)
      .toBe('.envoy.extensions.network.socket_interface.sockmap.v3.Sockmap');
    expect(typeFromUrl('type.googleapis.com/foo.Bar')).toBeUndefined();
    expect(typeFromUrl('type.googleapis.com/envoy.config')).toBeUndefined(); // a package, not a message
  });

  it('exposes the validate options of fields and oneofs, merged and normalized', () => {
    const sockmap = lookupType('envoy.extensions.network.socket_interface.sockmap.v3.Sockmap');
    expect(fieldRules(sockmap.fields.sockhash_max_entries)).toEqual({ uint32: { gte: 1 } });
    expect(fieldRules(sockmap.fields.accelerated_ports)).toEqual({ repeated: { max_items: 128 } });
    expect(fieldRules(sockmap.fields.pin_path)).toBeUndefined();
    const bootstrap = lookupType('envoy.config.bootstrap.v3.Bootstrap');
    expect(fieldRules(bootstrap.fields.stats_flush_interval)).toEqual({ duration: { lt: { seconds: 300 }, gte: { nanos: 1000000 } } });
    const san = lookupType('envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher');
    expect(fieldRules(san.fields.san_type)).toEqual({ enum: { defined_only: true, not_in: [0] } });
    const address = lookupType('envoy.config.core.v3.SocketAddress');
    expect(oneofRequired(address.oneofs.port_specifier)).toBe(true);
    expect(address.fieldsArray.every((f) => f instanceof protobuf.Field)).toBe(true);
  });
});
