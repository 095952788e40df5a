# The holder of a real node (tests/it/support/realnode): entered into the node's network namespace, run in a
# mount + UTS namespace of its own; everything of the node (containerd, the kubelet, kbinit) runs in these.
# $1: the node's state directory; $2: the host name.
set -eu
S=$1
mkdir -p "$S/cgroup-keep"
# a sysfs of this network namespace over /sys hides the cgroup v1 mounts: keep them aside, put them back on top
mount --rbind /sys/fs/cgroup "$S/cgroup-keep"
mount -t sysfs sysfs /sys
mount --rbind "$S/cgroup-keep" /sys/fs/cgroup
umount -l "$S/cgroup-keep"
hostname "$2"
mount --bind "$S/hosts" /etc/hosts
mount --bind "$S/resolv.conf" /etc/resolv.conf
# the node's own copies of what a node keeps (one line each: directory under $S, path on the node)
while read -r dir target; do
  mount --bind "$S/$dir" "$target"
done < "$S/mounts"
mount --make-rshared /
touch "$S/ready"
exec sleep infinity
