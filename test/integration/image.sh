#!/usr/bin/env bash
# test/integration/image.sh: `make image` builds the DaemonSet's image FROM scratch (nothing
# pulled), and the image does its job under podman: against a temporary host CNI bin dir and
# conf dir (bind mounts, as the DaemonSet's hostPath volumes) with a primary conflist and a
# service-account dir, `plexus daemon` installs the binaries and libraries, writes
# 00-plexus.conflist and the kubeconfig (0600), follows token and primary changes, and keeps
# running until stopped. Private podman config and storage under $WORK: /etc is untouched.
. "$(dirname "$0")/../lib.sh"

P=$WORKROOT/podman
IMAGE=localhost/plexus:it-$TAG
DIST=$BUILD/dist

podman_env() {
	mkdir -p "$P"
	cat >"$P/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[network]
network_backend = "cni"
network_config_dir = "$P/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
	printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/storage"\nrunroot = "%s/runroot"\n' "$P" "$P" >"$P/storage.conf"
	export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
}

# once for every test: the image, from the current objects
if command -v podman >/dev/null; then
	podman_env
	# not cleanup_add: each test's subshell runs the cleanups it inherits
	trap 'cleanup_run; podman system reset -f >/dev/null 2>&1; umount -R "$P/storage" 2>/dev/null; rm -rf "$WORKROOT"' EXIT
	make -s -C "$ROOT" image IMAGE="$IMAGE" >"$WORKROOT/make-image.log" 2>&1 || IMAGE_FAILED=1
fi

need_image() {
	command -v podman >/dev/null || { skip "podman is not installed"; return 77; }
	[ -z "${IMAGE_FAILED:-}" ] || fail "make image failed: $(tail -5 "$WORKROOT/make-image.log")"
}

wait_for() { # WHAT COMMAND...: up to 15 s
	local what=$1 i
	shift
	for i in $(seq 1 150); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "timed out waiting for $what"
}

# a node: host dirs, the primary CNI's conflist, the pod's service-account files
host_setup() {
	H=$WORK/host
	mkdir -p "$H/etc/cni/net.d" "$H/opt/cni/bin" "$WORK/sa"
	cat >"$H/etc/cni/net.d/10-cluster.conflist" <<'EOF'
{"cniVersion":"1.0.0","name":"cbr0","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]}},{"type":"portmap","capabilities":{"portMappings":true}}]}
EOF
	echo "token-one-$TAG" >"$WORK/sa/token"
	printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' >"$WORK/sa/ca.crt"
	echo kube-system >"$WORK/sa/namespace"
}

# run_daemon NAME [ARGS...]: the DaemonSet's container, as its manifest sets it up
run_daemon() {
	local name=$1
	shift
	podman run -d --pull=never --name "$name" --network host \
		-e KUBERNETES_SERVICE_HOST=10.96.0.1 -e KUBERNETES_SERVICE_PORT=443 \
		-v "$H/etc/cni/net.d:/host/etc/cni/net.d" \
		-v "$H/opt/cni/bin:/host/opt/cni/bin${RO_BIN:-}" \
		-v "$WORK/sa:/var/run/secrets/kubernetes.io/serviceaccount:ro" \
		"$IMAGE" "$@" >/dev/null
	cleanup_add "podman rm -f -t0 $name"
}

t_image_is_from_scratch_and_holds_only_the_dist() {
	need_image
	local files ep f
	ep=$(podman image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')
	expect_eq "entrypoint" "$ep" '["/usr/libexec/plexus/plexus","daemon"]'
	expect_eq "one layer (FROM scratch)" "$(podman image inspect "$IMAGE" --format '{{len .RootFS.Layers}}')" 1
	podman create --name ${TAG}x "$IMAGE" >/dev/null
	cleanup_add "podman rm -f ${TAG}x"
	mkdir -p "$WORK/fs"
	podman export ${TAG}x | tar -C "$WORK/fs" -xf -
	files=$(cd "$WORK/fs" && find . -type f | sort)
	# the dist tree, and glibc's loader and libraries: no shell, no package manager
	while read -r f; do
		case "$f" in
		./usr/libexec/plexus/*) cmp "$WORK/fs/$f" "$DIST/${f#./usr/libexec/plexus/}" || fail "$f differs from the dist" ;;
		./lib64/ld-linux-x86-64.so.2 | ./lib/x86_64-linux-gnu/*)
			expect_contains "$f is glibc's" "$(dpkg -S "${f#.}" 2>/dev/null)" "libc6:" ;;
		./etc/hosts | ./etc/resolv.conf | ./etc/hostname | ./run/.containerenv) ;; # podman's
		*) fail "unexpected file in the image: $f" ;;
		esac
	done <<<"$files"
	[ ! -e "$WORK/fs/bin/sh" ] || fail "a shell in the image"
	expect_eq "bundled libraries" "$(ls "$WORK/fs/usr/libexec/plexus/plexus-lib" | wc -l)" "$(ls "$DIST/plexus-lib" | wc -l)"
}

t_daemon_installs_generates_and_watches_until_stopped() {
	need_image
	local c=${TAG}d f nc kc
	host_setup
	run_daemon $c
	wait_for "00-plexus.conflist" test -s "$H/etc/cni/net.d/00-plexus.conflist"
	# installed: identical, executable, libraries beside them
	for f in plexus sriov; do
		cmp "$DIST/$f" "$H/opt/cni/bin/$f" || fail "$f differs from the dist"
		expect_eq "$f mode" "$(stat -c %a "$H/opt/cni/bin/$f")" 755
	done
	for f in "$DIST"/plexus-lib/*; do
		cmp "$f" "$H/opt/cni/bin/plexus-lib/$(basename "$f")" || fail "$(basename "$f") differs"
	done
	expect_contains "the installed plexus runs on this host" "$("$H/opt/cni/bin/plexus" --version)" "plexus 0.1.0"
	# generated: the primary wrapped, the kubeconfig at the host's path, all 0600
	nc=$(cat "$H/etc/cni/net.d/00-plexus.conflist")
	expect_eq "conflist mode" "$(stat -c %a "$H/etc/cni/net.d/00-plexus.conflist")" 600
	expect_eq "plugin" "$(json_get "$nc" 'j["plugins"][0]["type"]')" plexus
	expect_eq "kubeconfig as the host sees it" "$(json_get "$nc" 'j["plugins"][0]["kubeconfig"]')" /etc/cni/net.d/plexus.d/plexus.kubeconfig
	expect_eq "primary wrapped" "$(json_get "$nc" 'j["plugins"][0]["delegates"][0]["name"]')" cbr0
	expect_eq "capabilities unioned" "$(json_get "$nc" 'j["plugins"][0]["capabilities"]')" '{"portMappings": true}'
	"$ROOT/bin/plexus" validate --cni-path /usr/lib/cni "$H/etc/cni/net.d/00-plexus.conflist" >/dev/null ||
		fail "the generated config does not validate"
	kc=$H/etc/cni/net.d/plexus.d/plexus.kubeconfig
	wait_for "kubeconfig" test -s "$kc"
	expect_eq "kubeconfig mode" "$(stat -c %a "$kc")" 600
	expect_contains "server" "$(cat "$kc")" 'server: "https://10.96.0.1:443"'
	cmp "$WORK/sa/token" "$H/etc/cni/net.d/plexus.d/token" || fail "token not copied"
	expect_eq "token mode" "$(stat -c %a "$H/etc/cni/net.d/plexus.d/token")" 600
	# watching: kubelet rotates the token (atomic rename), the primary CNI rewrites its config
	echo "token-two-$TAG" >"$WORK/sa/.token.new"
	mv "$WORK/sa/.token.new" "$WORK/sa/token"
	wait_for "the rotated token" grep -q "token-two-$TAG" "$H/etc/cni/net.d/plexus.d/token"
	sed 's/"cni0"/"cni1"/' "$H/etc/cni/net.d/10-cluster.conflist" >"$H/etc/cni/net.d/.new"
	mv "$H/etc/cni/net.d/.new" "$H/etc/cni/net.d/10-cluster.conflist"
	wait_for "the new primary" grep -q cni1 "$H/etc/cni/net.d/00-plexus.conflist"
	expect_eq "still running" "$(podman inspect $c --format '{{.State.Running}}')" true
	# stopped: SIGTERM, exit 0, the last good config stays for the pods scheduled meanwhile
	podman stop -t 10 $c >/dev/null
	expect_eq "exit status" "$(podman inspect $c --format '{{.State.ExitCode}}')" 0
	expect_contains "says so" "$(podman logs $c 2>&1)" "the last good config"
	[ -s "$H/etc/cni/net.d/00-plexus.conflist" ] || fail "config removed on stop"
	# a restart finds everything in place and rewrites nothing
	run_daemon ${c}2
	wait_for "the second daemon watching" sh -c "podman logs ${c}2 2>&1 | grep -q watching"
	expect_not_contains "nothing reinstalled" "$(podman logs ${c}2 2>&1)" "installed "
}

t_daemon_fails_visibly_when_it_cannot_install() {
	need_image
	local c=${TAG}f
	host_setup
	RO_BIN=:ro run_daemon $c
	wait_for "the exit" sh -c "[ \"\$(podman inspect $c --format '{{.State.Running}}')\" = false ]"
	expect_eq "exit status" "$(podman inspect $c --format '{{.State.ExitCode}}')" 1
	expect_contains "names the dir" "$(podman logs $c 2>&1)" "/host/opt/cni/bin"
	[ ! -e "$H/etc/cni/net.d/00-plexus.conflist" ] || fail "config written without the binaries"
}

run_tests
