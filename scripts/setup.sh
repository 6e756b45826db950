#!/usr/bin/env bash
# Installs what building and testing envoy-ts needs on a fresh Debian machine; idempotent and quick
# when everything is there. Needs root for apt-get and for mounting bpffs.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in clang libbpf-dev bpftool iproute2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${need[*]} and not root; install them first" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Pinning maps needs bpffs; a fresh machine may have /sys/fs/bpf unmounted.
if [ "$(id -u)" -eq 0 ] && ! grep -q ' - bpf ' /proc/self/mountinfo; then
  mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
