#!/bin/bash
# Boots systemd in a container made of an overlay of this machine's own root (changes go to memory and
# vanish), with no network but loopback, and runs probe.sh in it as the only job. Run inside
# `unshare -m` so the mounts stay private. Usage: boot.sh RESULTS_DIR SOURCE_DIR
set -euo pipefail
results=$1 source=$2
here=$(cd "$(dirname "$0")" && pwd)
# nspawn refuses to clean its propagation folder on a disk file system.
mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn
base=$(mktemp -d /tmp/device-rtc-container.XXXXXX)
mount -t tmpfs tmpfs "$base"
mkdir -p "$base"/{upper,work,root}
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$base/root"
root=$base/root
rm -rf "${root:?}"/dev/* 2>/dev/null || true           # nspawn wants an unpopulated /dev
tr -d - </proc/sys/kernel/random/uuid >"$root/etc/machine-id"  # not the host's: its own journal
install -m 0755 "$here/probe.sh" "$root/usr/local/sbin/device-rtc-probe"
cat >"$root/etc/systemd/system/device-rtc-probe.service" <<UNIT
[Unit]
Description=device-rtc service probe
After=basic.target
[Service]
Type=oneshot
Environment=SOURCE=$source
ExecStart=/usr/local/sbin/device-rtc-probe
ExecStopPost=/bin/systemctl --no-block poweroff
TimeoutStartSec=240
UNIT
cat >"$root/etc/systemd/system/device-rtc-probe.target" <<UNIT
[Unit]
Description=device-rtc service probe
Requires=basic.target device-rtc-probe.service
After=basic.target
AllowIsolate=yes
UNIT
trap 'umount -R "$base" 2>/dev/null; rmdir "$base"' EXIT
# The source, at its own path (npx may set its bin executable): nspawn mounts a fresh /tmp, which
# would hide a clone under /tmp.
systemd-nspawn --quiet --register=no --keep-unit --private-network --bind="$results:/results" --bind="$source" \
  -D "$root" -b -- systemd.unit=device-rtc-probe.target
