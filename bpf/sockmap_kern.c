// SPDX-License-Identifier: GPL-2.0
/*
 * envoy-ts sockmap datapath: sock_ops adds established IPv4 sockets to envoy_sockhash, sk_msg
 * redirects each send to the peer socket's ingress queue when that is safe. See docs/kernel.md.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sockmap_key.h"

#define AF_INET 2

/* The sender's own tcp_sock, read with CO-RE (field offsets relocated against vmlinux BTF). */
struct tcp_sock {
	__u32 data_segs_out;
	__u32 write_seq;
	__u32 snd_nxt;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536); /* replaced from user space before load */
	__type(key, struct envoy_sock_key);
	__type(value, __u64);
} envoy_sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct envoy_ports);
} envoy_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ENVOY_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} envoy_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct envoy_listener_key);
	__type(value, __u64);
} envoy_listeners SEC(".maps");

/* Key: the socket whose owner does not read. A sender whose peer is here goes over TCP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct envoy_sock_key);
	__type(value, __u8);
} envoy_pressure SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&envoy_counters, &idx);

	if (v)
		*v += n; /* per-CPU slot: no atomics needed */
}

static __always_inline int port_in(__u32 p, const struct envoy_port_range *r)
{
	return p >= r->start && p < r->end;
}

static __always_inline int port_allowed(__u32 lport, __u32 rport)
{
	__u32 zero = 0;
	struct envoy_ports *ports = bpf_map_lookup_elem(&envoy_ports, &zero);
	__u32 i;

	if (!ports || ports->count == 0)
		return 1;
	for (i = 0; i < ENVOY_MAX_PORT_RANGES; i++) {
		if (i >= ports->count)
			break;
		if (port_in(lport, &ports->ranges[i]) || port_in(rport, &ports->ranges[i]))
			return 1;
	}
	return 0;
}

SEC("sockops")
int envoy_sockops(struct bpf_sock_ops *skops)
{
	struct envoy_sock_key key = {};

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	/* AF_INET6 (including v4-mapped addresses) is never accelerated. */
	if (skops->family != AF_INET)
		return 1;

	key.netns_cookie = bpf_get_netns_cookie(skops);
	key.local_ip4 = skops->local_ip4;
	key.remote_ip4 = skops->remote_ip4;
	key.local_port = skops->local_port;
	key.remote_port = bpf_ntohl(skops->remote_port);
	if (!port_allowed(key.local_port, key.remote_port))
		return 1;

	if (bpf_sock_hash_update(skops, &envoy_sockhash, &key, BPF_NOEXIST) == 0)
		count(ENVOY_CNT_SOCKOPS_ADDED, 1);
	else
		count(ENVOY_CNT_SOCKOPS_ADD_FAILED, 1);
	return 1;
}

/*
 * Ordering guard: redirected bytes are read before older bytes still waiting in the receiver's
 * TCP receive queue. So redirect only while this sender has never put payload on TCP: no data
 * segment ever sent and nothing queued unsent. A redirect to the peer's ingress does not touch the
 * sender's write_seq/snd_nxt/data_segs_out, so redirected messages keep the guard open.
 */
static __always_inline int sender_never_used_tcp(struct sk_msg_md *msg)
{
	struct bpf_sock *sk = msg->sk;
	struct tcp_sock *tp;

	if (!sk)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	return tp->data_segs_out == 0 && tp->write_seq == tp->snd_nxt;
}

SEC("sk_msg")
int envoy_sk_msg(struct sk_msg_md *msg)
{
	struct envoy_sock_key peer = {};
	__u64 size = msg->size;
	long ret;

	if (msg->family != AF_INET)
		return SK_PASS;

	peer.netns_cookie = bpf_get_netns_cookie(msg);
	peer.local_ip4 = msg->remote_ip4;
	peer.remote_ip4 = msg->local_ip4;
	peer.local_port = bpf_ntohl(msg->remote_port);
	peer.remote_port = msg->local_port;

#ifndef ENVOY_NO_ORDER_GUARD /* defined only by the test that shows why the guard exists */
	if (!sender_never_used_tcp(msg)) {
		count(ENVOY_CNT_MSGS_PASSED_UNSAFE, 1);
		return SK_PASS;
	}
#endif
	if (bpf_map_lookup_elem(&envoy_pressure, &peer)) {
		count(ENVOY_CNT_MSGS_PASSED_PRESSURE, 1);
		return SK_PASS;
	}

	ret = bpf_msg_redirect_hash(msg, &envoy_sockhash, &peer, BPF_F_INGRESS);
	if (ret != SK_PASS) {
		/* SK_DROP here means the peer is absent: never return it, that would drop the data. */
		count(ENVOY_CNT_MSGS_PASSED_PEER_ABSENT, 1);
		return SK_PASS;
	}
	count(ENVOY_CNT_MSGS_REDIRECTED, 1);
	count(ENVOY_CNT_BYTES_REDIRECTED, size);
	return SK_PASS;
}

char _license[] SEC("license") = "GPL";
