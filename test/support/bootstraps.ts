/** Bootstrap objects for end-to-end tests: one tcp_proxy listener in front of one cluster. */
export interface ProxyBootstrapOptions {
  listenPort: number;
  listenAddress?: string;
  upstreamPort: number;
  upstreamAddress?: string;
  adminPort: number;
  sockmap?: Record<string, unknown>;
}

export function proxyBootstrap(o: ProxyBootstrapOptions): object {
  const bootstrap: Record<string, unknown> = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: o.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'ingress',
          address: { socket_address: { address: o.listenAddress ?? '127.0.0.1', port_value: o.listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.tcp_proxy',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                    stat_prefix: 'ingress',
                    cluster: 'upstream',
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'upstream',
          connect_timeout: '1s',
          type: 'STATIC',
          load_assignment: {
            cluster_name: 'upstream',
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: o.upstreamAddress ?? '127.0.0.1', port_value: o.upstreamPort } } } },
                ],
              },
            ],
          },
        },
      ],
    },
  };
  if (o.sockmap) {
    bootstrap.bootstrap_extensions = [
      {
        name: 'envoy.extensions.network.socket_interface.sockmap',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.network.socket_interface.sockmap.v3.Sockmap', ...o.sockmap },
      },
    ];
    bootstrap.default_socket_interface = 'envoy.extensions.network.socket_interface.sockmap';
  }
  return bootstrap;
}
