#!/usr/bin/env bash
# test/integration/podman.sh: a real container runtime (podman 4 with its CNI backend, which
# runs libcni) whose network conflist uses plexus: the container gets eth0 and net1 from
# plexus's delegates, and removing it leaves nothing behind. Private config: /etc is untouched.
. "$(dirname "$0")/../lib.sh"

PODMAN_ROOT=$WORKROOT/podman

podman_setup() {
	local P=$PODMAN_ROOT
	mkdir -p "$P/net.d" "$P/bin" "$P/rootfs/bin"
	cp "$ROOT/bin/plexus" "$P/bin/plexus"
	cat >"$P/containers.conf" <<EOF2
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$P/bin", "/usr/lib/cni"]
network_config_dir = "$P/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF2
	printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/storage"\nrunroot = "%s/runroot"\n' "$P" "$P" >"$P/storage.conf"
	export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
	cp /bin/busybox "$P/rootfs/bin/"
	for a in sh ip cat sleep ping; do ln -sf busybox "$P/rootfs/bin/$a"; done
	tar -C "$P/rootfs" -cf "$P/rootfs.tar" .
	podman import --change 'CMD ["/bin/sh"]' "$P/rootfs.tar" localhost/plexus-busybox:test >/dev/null 2>&1
	cleanup_add "podman --root $P/storage --runroot $P/runroot rmi -f localhost/plexus-busybox:test; podman system reset -f; umount -R $P/storage 2>/dev/null"
}

t_podman_run_gets_plexus_networks_and_rm_leaves_nothing() {
	command -v podman >/dev/null || { skip "podman is not installed"; return 77; }
	podman_setup
	local P=$PODMAN_ROOT out
	ip link add ${TAG}pm0 type veth peer name ${TAG}pm1
	cleanup_add "ip link del ${TAG}pm0; ip link del ${TAG}pb0"
	ip link set ${TAG}pm0 up
	ip link set ${TAG}pm1 up
	cat >"$P/net.d/plexus-pod.conflist" <<EOF2
{"cniVersion":"1.0.0","name":"plexus-pod","plugins":[{"type":"plexus","cniDir":"$WORK/cni",
 "binDir":"/usr/lib/cni","delegates":[
  {"cniVersion":"1.0.0","name":"cluster","type":"bridge","bridge":"${TAG}pb0","isGateway":true,
   "ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.233.0.0/24"}]]}},
  {"cniVersion":"1.0.0","name":"data","type":"macvlan","master":"${TAG}pm0","mode":"bridge",
   "ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.233.1.0/24"}]]}}]}]}
EOF2
	podman run -d --name ${TAG}ctr --network plexus-pod localhost/plexus-busybox:test sleep 300 >/dev/null
	cleanup_add "podman rm -f -t0 ${TAG}ctr"
	out=$(podman exec ${TAG}ctr sh -c 'ip -4 -o addr show eth0; ip -4 -o addr show net1')
	expect_contains "eth0 from the cluster delegate" "$out" "10.233.0.2/24"
	expect_contains "net1 from the macvlan delegate" "$out" "10.233.1.2/24"
	[ -n "$(find "$WORK/cni/plexus" -type f 2>/dev/null)" ] || fail "no plexus cache while the container exists"
	podman rm -f -t0 ${TAG}ctr >/dev/null
	[ -z "$(find "$WORK/cni" -type f 2>/dev/null)" ] || fail "plexus cache left: $(find "$WORK/cni" -type f)"
	[ -z "$(find "$WORK/ipam" -name '10.233.*')" ] || fail "IP reservations left"
	[ -z "$(ip -o link show master ${TAG}pb0 2>/dev/null)" ] || fail "host veth left on the bridge"
}

run_tests
