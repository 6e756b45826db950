/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * The one definition of the keys shared by the eBPF programs (sockmap_kern.c) and user space
 * (src/extensions/network/socket_interface/sockmap/key.ts, which must produce the same bytes).
 *
 * struct envoy_sock_key (24 bytes, no padding), key of envoy_sockhash and envoy_pressure:
 *   offset  0  __u64 netns_cookie  bpf_get_netns_cookie(ctx) / getsockopt(SO_NETNS_COOKIE=71)
 *   offset  8  __u32 local_ip4     NETWORK byte order, exactly as the kernel context gives it
 *   offset 12  __u32 remote_ip4    NETWORK byte order
 *   offset 16  __u32 local_port    HOST byte order (ctx->local_port already is)
 *   offset 20  __u32 remote_port   HOST byte order (the program applies bpf_ntohl(ctx->remote_port),
 *                                  which holds the network-order port in its upper half)
 * All integers are in the machine's native endianness except the two addresses.
 *
 * The value of envoy_sockhash is a __u64: the socket cookie on lookup, the fd on a user-space
 * update (a 32-bit value gives EINVAL).
 *
 * struct envoy_listener_key (16 bytes), key of envoy_listeners -> __u64 listener socket cookie:
 *   offset 0 __u64 netns_cookie; offset 8 __u32 ip4 (network order, 0 = any); offset 12 __u32 port
 *   (host order).
 */
#ifndef ENVOY_SOCKMAP_KEY_H
#define ENVOY_SOCKMAP_KEY_H

#include <linux/types.h>

struct envoy_sock_key {
	__u64 netns_cookie;
	__u32 local_ip4;
	__u32 remote_ip4;
	__u32 local_port;
	__u32 remote_port;
};

struct envoy_listener_key {
	__u64 netns_cookie;
	__u32 ip4;
	__u32 port;
};

#define ENVOY_MAX_PORT_RANGES 128

/* accelerated_ports: a connection matches when either port p has start <= p < end.
 * count == 0 means every port. */
struct envoy_port_range {
	__u32 start;
	__u32 end;
};

struct envoy_ports {
	__u32 count;
	__u32 pad;
	struct envoy_port_range ranges[ENVOY_MAX_PORT_RANGES];
};

/* Indexes of envoy_counters (PERCPU_ARRAY of __u64). Keep in sync with datapath.ts. */
enum envoy_counter {
	ENVOY_CNT_MSGS_REDIRECTED = 0,
	ENVOY_CNT_BYTES_REDIRECTED,
	ENVOY_CNT_MSGS_PASSED_PEER_ABSENT,
	ENVOY_CNT_MSGS_PASSED_UNSAFE,
	ENVOY_CNT_MSGS_PASSED_PRESSURE,
	ENVOY_CNT_SOCKOPS_ADDED,
	ENVOY_CNT_SOCKOPS_ADD_FAILED,
	ENVOY_CNT_REDIRECT_FAILED,
	ENVOY_CNT_MAX,
};

_Static_assert(sizeof(struct envoy_sock_key) == 24, "envoy_sock_key must be 24 bytes, no padding");
_Static_assert(sizeof(struct envoy_listener_key) == 16, "envoy_listener_key must be 16 bytes");
_Static_assert(sizeof(struct envoy_ports) == 8 + 8 * ENVOY_MAX_PORT_RANGES, "envoy_ports layout");

#endif
