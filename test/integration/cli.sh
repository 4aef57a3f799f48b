#!/usr/bin/env bash
# test/integration/cli.sh: the operator commands on real files: generate-config (--once, --watch),
# install (atomic, while the old binary runs), list (caches of real ADDs), help, version, man.
. "$(dirname "$0")/../lib.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}

# gen [OPTION]...: generate-config on $WORK/conf with a fake service account in $WORK/sa
gen() {
	KUBERNETES_SERVICE_HOST=10.96.0.1 KUBERNETES_SERVICE_PORT=443 \
		$MEMCHECK "$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" --sa-dir "$WORK/sa" "$@"
}

# A node as a kubelet sees it: a bridge conflist first by name, a flannel-like conf after it,
# and a projected service-account volume (token and ca.crt are symlinks into ..data).
setup_node() {
	mkdir -p "$WORK/conf" "$WORK/sa/..2024_01" "$WORK/ipam"
	cat >"$WORK/conf/10-bridge.conflist" <<EOF
{"cniVersion":"1.0.0","name":"cbr0","plugins":[
 {"type":"bridge","bridge":"${TAG}g0","isGateway":true,"ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.233.0.0/24"}]]}},
 {"type":"portmap","capabilities":{"portMappings":true}},
 {"type":"bandwidth","capabilities":{"bandwidth":true,"mac":false}}]}
EOF
	cat >"$WORK/conf/20-flannel.conf" <<EOF
{"cniVersion":"0.3.1","name":"flannel","type":"flannel","delegate":{"hairpinMode":true},"capabilities":{"ips":true}}
EOF
	echo "token-1" >"$WORK/sa/..2024_01/token"
	echo "-----BEGIN CERTIFICATE-----" >"$WORK/sa/..2024_01/ca.crt"
	ln -s ..2024_01 "$WORK/sa/..data"
	ln -s ..data/token "$WORK/sa/token"
	ln -s ..data/ca.crt "$WORK/sa/ca.crt"
}

# rotate_token NEW: what kubelet's atomic writer does: a new dir, then swap ..data
rotate_token() {
	local d="$WORK/sa/..$RANDOM$RANDOM"
	mkdir "$d"
	echo "$1" >"$d/token"
	cp "$WORK/sa/..data/ca.crt" "$d/ca.crt"
	ln -s "$(basename "$d")" "$WORK/sa/..data_tmp"
	mv -T "$WORK/sa/..data_tmp" "$WORK/sa/..data"
}

OUT_FILES=(conf/00-plexus.conflist conf/plexus.d/plexus.kubeconfig conf/plexus.d/token conf/plexus.d/ca.crt)

fingerprint() { # inode, mtime (ns) and content hash of every generated file
	local f
	for f in "${OUT_FILES[@]}"; do
		stat -c "%i %Y.%y" "$WORK/$f"
		sha256sum <"$WORK/$f"
	done
}

# wait_for WHAT CMD...: polls CMD for up to 10 s
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	fail "timed out waiting for $what"
}

t_generate_wraps_the_alphabetically_first_config() {
	local out conf plugin
	setup_node
	out=$(gen --once)
	expect_contains "report" "$out" "wrote $WORK/conf/00-plexus.conflist"
	conf=$(cat "$WORK/conf/00-plexus.conflist")
	expect_eq "name" "$(json_get "$conf" 'j["name"]')" plexus-cni-network
	expect_eq "cniVersion is the primary's" "$(json_get "$conf" 'j["cniVersion"]')" 1.0.0
	expect_eq "one plugin" "$(json_get "$conf" 'len(j["plugins"])')" 1
	plugin=$(json_get "$conf" 'j["plugins"][0]')
	expect_eq "type" "$(json_get "$plugin" 'j["type"]')" plexus
	expect_eq "the bridge conflist, inlined as it is" \
		"$(json_get "$plugin" "j['delegates'] == [json.load(open('$WORK/conf/10-bridge.conflist'))]")" true
	expect_eq "capabilities: the union of the enabled ones" \
		"$(json_get "$plugin" 'j["capabilities"]')" '{"bandwidth": true, "portMappings": true}'
	expect_eq "kubeconfig" "$(json_get "$plugin" 'j["kubeconfig"]')" "$WORK/conf/plexus.d/plexus.kubeconfig"
	for f in "${OUT_FILES[@]}"; do
		expect_eq "mode of $f" "$(stat -c %a "$WORK/$f")" 600
	done
	expect_eq "kubeconfig dir mode" "$(stat -c %a "$WORK/conf/plexus.d")" 700
	expect_eq "token copied" "$(cat "$WORK/conf/plexus.d/token")" token-1
	out=$(cat "$WORK/conf/plexus.d/plexus.kubeconfig")
	expect_contains "server from KUBERNETES_SERVICE_*" "$out" 'server: "https://10.96.0.1:443"'
	expect_contains "token by file: rotation needs no kubeconfig rewrite" "$out" "tokenFile: token"
	expect_contains "CA by file" "$out" "certificate-authority: ca.crt"
	expect_not_contains "no token inline" "$out" token-1
	# a second run ignores our own 00-plexus.conflist, first by name
	gen --once >/dev/null
	expect_eq "still the bridge" "$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" 'j["plugins"][0]["delegates"][0]["name"]')" cbr0
}

t_generate_takes_the_next_config_and_its_capabilities() {
	local conf
	setup_node
	gen --once >/dev/null
	rm "$WORK/conf/10-bridge.conflist"
	mkdir "$WORK/conf/15-dir.conf" # a directory is not a config
	gen --once >/dev/null
	conf=$(cat "$WORK/conf/00-plexus.conflist")
	expect_eq "flannel now" "$(json_get "$conf" 'j["plugins"][0]["delegates"][0]["name"]')" flannel
	expect_eq "its cniVersion" "$(json_get "$conf" 'j["cniVersion"]')" 0.3.1
	expect_eq "its capabilities" "$(json_get "$conf" 'j["plugins"][0]["capabilities"]')" '{"ips": true}'
}

t_generate_options_reach_the_config() {
	local conf plugin
	setup_node
	gen --master-cni-file 20-flannel.conf --cni-version 1.0.0 --namespace-isolation \
		--global-namespaces "default,infra" --log-level verbose --log-file /var/log/plexus.log \
		--readiness-indicator-file /run/flannel/subnet.env --cni-dir /var/lib/cni/plexus \
		--bin-dir /opt/cni/bin --kubeconfig-host /etc/cni/net.d/plexus.d/plexus.kubeconfig >/dev/null
	conf=$(cat "$WORK/conf/00-plexus.conflist")
	plugin=$(json_get "$conf" 'j["plugins"][0]')
	expect_eq "--master-cni-file" "$(json_get "$plugin" 'j["delegates"][0]["name"]')" flannel
	expect_eq "--cni-version" "$(json_get "$conf" 'j["cniVersion"]')" 1.0.0
	expect_eq "keys" "$(json_get "$plugin" 'sorted(j.keys())')" \
		'["binDir", "capabilities", "cniDir", "delegates", "globalNamespaces", "kubeconfig", "logFile", "logLevel", "namespaceIsolation", "readinessindicatorfile", "type"]'
	expect_eq "namespaceIsolation" "$(json_get "$plugin" 'j["namespaceIsolation"]')" true
	expect_eq "globalNamespaces" "$(json_get "$plugin" 'j["globalNamespaces"]')" default,infra
	expect_eq "readiness" "$(json_get "$plugin" 'j["readinessindicatorfile"]')" /run/flannel/subnet.env
	expect_eq "--kubeconfig-host is what the netconf names" "$(json_get "$plugin" 'j["kubeconfig"]')" \
		/etc/cni/net.d/plexus.d/plexus.kubeconfig
	[ -f "$WORK/conf/plexus.d/plexus.kubeconfig" ] || fail "kubeconfig not written at --kubeconfig-out's default"
	# an absolute --master-cni-file outside the conf dir
	mkdir "$WORK/elsewhere"
	cp "$WORK/conf/10-bridge.conflist" "$WORK/elsewhere/x.conflist"
	gen --master-cni-file "$WORK/elsewhere/x.conflist" --no-kubeconfig >/dev/null
	plugin=$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" 'j["plugins"][0]')
	expect_eq "absolute master" "$(json_get "$plugin" 'j["delegates"][0]["name"]')" cbr0
	expect_eq "--no-kubeconfig" "$(json_get "$plugin" '"kubeconfig" in j')" false
}

t_generated_config_passes_plexus_validation_and_runs_add() {
	local ns=${TAG}n out stdin
	setup_node
	cleanup_add "ip link del ${TAG}g0"
	netns_new "$ns"
	gen --no-kubeconfig --cni-dir "$WORK/cni" >/dev/null
	# the runtime's view: the one plugin with the list's name and cniVersion injected
	stdin=$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" \
		'dict(j["plugins"][0], name=j["name"], cniVersion=j["cniVersion"])')
	out=$(CNI_COMMAND=VERSION $MEMCHECK "$PLEXUS" <<<"$stdin")
	expect_contains "VERSION" "$out" '"supportedVersions"'
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=gen1 CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$PLUGINS CNI_ARGS="K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web" $MEMCHECK "$PLEXUS" <<<"$stdin")
	expect_eq "ADD result" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.233.0.2/24
	expect_contains "eth0 in the pod" "$(ip -n "$ns" -4 -br addr show eth0)" 10.233.0.2/24
	CNI_COMMAND=DEL CNI_CONTAINERID=gen1 CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$PLUGINS CNI_ARGS="K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web" $MEMCHECK "$PLEXUS" <<<"$stdin"
	expect_eq "DEL removed eth0" "$(links_in "$ns")" 0
}

t_generate_thick_names_the_shim_its_socket_and_dirs() {
	local conf plugin pid log=$WORK/watch.log rc
	setup_node
	# no service account needed: thick mode writes no kubeconfig
	"$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" --thick >/dev/null
	conf=$(cat "$WORK/conf/00-plexus.conflist")
	plugin=$(json_get "$conf" 'j["plugins"][0]')
	expect_eq "type" "$(json_get "$plugin" 'j["type"]')" plexus-shim
	expect_eq "keys" "$(json_get "$plugin" 'sorted(j.keys())')" \
		'["binDir", "capabilities", "cniDir", "daemonSocketPath", "delegates", "type"]'
	expect_eq "daemonSocketPath" "$(json_get "$plugin" 'j["daemonSocketPath"]')" /run/plexus/plexus.sock
	expect_eq "cniDir" "$(json_get "$plugin" 'j["cniDir"]')" /var/lib/cni/multus
	expect_eq "binDir" "$(json_get "$plugin" 'j["binDir"]')" /opt/cni/bin
	expect_eq "capabilities" "$(json_get "$plugin" 'j["capabilities"]')" '{"bandwidth": true, "portMappings": true}'
	expect_eq "the cluster network" "$(json_get "$plugin" 'j["delegates"][0]["name"]')" cbr0
	expect_eq "mode" "$(stat -c %a "$WORK/conf/00-plexus.conflist")" 600
	[ ! -e "$WORK/conf/plexus.d" ] || fail "thick mode wrote credentials to the host"
	"$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" --thick --daemon-socket /run/multus/multus.sock \
		--cni-dir "$WORK/cni" --bin-dir "$WORK/bin" >/dev/null
	plugin=$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" 'j["plugins"][0]')
	expect_eq "--daemon-socket" "$(json_get "$plugin" 'j["daemonSocketPath"]')" /run/multus/multus.sock
	expect_eq "--cni-dir" "$(json_get "$plugin" 'j["cniDir"]')" "$WORK/cni"
	# --watch: SIGTERM leaves the config in place
	"$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" --thick --watch >"$log" 2>&1 &
	pid=$!
	cleanup_add "kill $pid"
	wait_for "the thick config" grep -q /run/plexus/plexus.sock "$WORK/conf/00-plexus.conflist"
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	expect_eq "exit status after SIGTERM" "$rc" 0
	expect_contains "config kept on exit" "$(cat "$WORK/conf/00-plexus.conflist")" plexus-shim
}

t_thin_add_then_thick_del_through_the_shim_with_no_daemon() {
	local ns=${TAG}t out thin thick
	[ -x "$ROOT/bin/plexus-shim" ] || skip "no bin/plexus-shim"
	setup_node
	cleanup_add "ip link del ${TAG}g0"
	netns_new "$ns"
	mkdir -p "$WORK/bin"
	ln -s "$PLEXUS" "$WORK/bin/plexus"
	gen --no-kubeconfig --cni-dir "$WORK/cni" --bin-dir "$WORK/bin" >/dev/null
	thin=$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" \
		'dict(j["plugins"][0], name=j["name"], cniVersion=j["cniVersion"])')
	gen --thick --daemon-socket "$WORK/absent.sock" --cni-dir "$WORK/cni" --bin-dir "$WORK/bin" >/dev/null
	thick=$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" \
		'dict(j["plugins"][0], name=j["name"], cniVersion=j["cniVersion"])')
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=tk1 CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$PLUGINS CNI_ARGS="K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web" "$PLEXUS" <<<"$thin")
	expect_eq "thin ADD" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.233.0.2/24
	CNI_COMMAND=DEL CNI_CONTAINERID=tk1 CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$PLUGINS CNI_ARGS="K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web" "$ROOT/bin/plexus-shim" <<<"$thick"
	expect_eq "interfaces left" "$(links_in "$ns")" 0
	expect_eq "reservations left" "$(find "$WORK/ipam" -type f ! -name lock ! -name 'last_reserved_ip*')" ""
	expect_eq "cache left" "$(find "$WORK/cni" -type f)" ""
}

t_unchanged_content_is_not_rewritten() {
	local before out
	setup_node
	gen --once >/dev/null
	before=$(fingerprint)
	sleep 0.05
	out=$(gen --once)
	expect_eq "inode, mtime, content" "$(fingerprint)" "$before"
	expect_eq "every file reported unchanged" "$(grep -c '^unchanged ' <<<"$out")" 4
	expect_not_contains "nothing written" "$out" wrote
	# a mode loosened by hand is put back (by rewriting: 0600 is part of "unchanged")
	chmod 644 "$WORK/conf/00-plexus.conflist"
	gen --once >/dev/null
	expect_eq "mode restored" "$(stat -c %a "$WORK/conf/00-plexus.conflist")" 600
}

t_unreadable_primary_keeps_the_old_file() {
	local before err rc
	setup_node
	gen --once >/dev/null
	before=$(fingerprint)
	# caught half-written, as the primary CNI's own installer replaces it
	head -c 40 "$WORK/conf/10-bridge.conflist" >"$WORK/x" && mv "$WORK/x" "$WORK/conf/10-bridge.conflist"
	rc=0; err=$(gen --once 2>&1 >/dev/null) || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_contains "names the primary" "$err" "$WORK/conf/10-bridge.conflist"
	expect_contains "says the old file stays" "$err" "00-plexus.conflist kept as it was"
	expect_eq "one line" "$(wc -l <<<"$err")" 1
	expect_eq "old config untouched" "$(fingerprint)" "$before"
	# empty, and a dangling symlink: the same
	: >"$WORK/conf/10-bridge.conflist"
	rc=0; err=$(gen --once 2>&1 >/dev/null) || rc=$?
	expect_eq "empty primary: exit status" "$rc" 1
	expect_contains "empty primary" "$err" "10-bridge.conflist is empty"
	rm "$WORK/conf/10-bridge.conflist"
	ln -s "$WORK/nowhere.conflist" "$WORK/conf/10-bridge.conflist"
	rc=0; err=$(gen --once 2>&1 >/dev/null) || rc=$?
	expect_eq "dangling primary: exit status" "$rc" 1
	expect_contains "dangling primary" "$err" "No such file or directory"
	expect_eq "old config still untouched" "$(fingerprint)" "$before"
}

t_no_primary_is_an_error_and_writes_nothing() {
	local err rc=0
	mkdir -p "$WORK/conf"
	err=$(gen --once --no-kubeconfig 2>&1 >/dev/null) || rc=$?
	expect_eq "exit status" "$rc" 1
	expect_contains "message" "$err" "no CNI network config (.conf or .conflist) in $WORK/conf"
	expect_eq "no file" "$(ls -A "$WORK/conf")" ""
	rc=0
	err=$(gen --once --cni-conf-dir "$WORK/missing" 2>&1 >/dev/null) || rc=$?
	expect_eq "missing conf dir: exit status" "$rc" 1
	expect_contains "missing conf dir" "$err" "$WORK/missing"
}

t_missing_credentials_fail_closed() {
	local err rc=0
	setup_node
	rm "$WORK/sa/token"
	err=$(gen --once 2>&1 >/dev/null) || rc=$?
	expect_eq "no token: exit status" "$rc" 1
	expect_contains "names the token" "$err" "$WORK/sa/token"
	[ ! -e "$WORK/conf/00-plexus.conflist" ] || fail "a config without credentials was written"
	rc=0
	err=$(KUBERNETES_SERVICE_HOST= "$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" \
		--sa-dir "$WORK/sa" 2>&1 >/dev/null) || rc=$?
	expect_eq "no API address: exit status" "$rc" 1
	expect_contains "names the variables" "$err" KUBERNETES_SERVICE_HOST
}

t_token_rotation_rewrites_only_the_token() {
	local kc_inode
	setup_node
	gen --once >/dev/null
	kc_inode=$(stat -c %i "$WORK/conf/plexus.d/plexus.kubeconfig")
	rotate_token token-2
	gen --once >/dev/null
	expect_eq "new token" "$(cat "$WORK/conf/plexus.d/token")" token-2
	expect_eq "kubeconfig not rewritten" "$(stat -c %i "$WORK/conf/plexus.d/plexus.kubeconfig")" "$kc_inode"
}

t_configs_sorting_before_ours_are_warned_about() {
	local err
	setup_node
	echo '{"cniVersion":"0.3.1","name":"multus-cni-network","type":"multus","delegates":[{"type":"bridge"}]}' \
		>"$WORK/conf/00-multus.conf"
	err=$(gen --once 2>&1 >/dev/null)
	expect_contains "warned" "$err" "$WORK/conf/00-multus.conf sorts before 00-plexus.conflist"
	expect_eq "Multus's file is not wrapped" \
		"$(json_get "$(cat "$WORK/conf/00-plexus.conflist")" 'j["plugins"][0]["delegates"][0]["name"]')" cbr0
	# a meta-plugin named explicitly is refused
	local rc=0
	err=$(gen --once --master-cni-file 00-multus.conf 2>&1 >/dev/null) || rc=$?
	expect_eq "meta-plugin primary: exit status" "$rc" 1
	expect_contains "meta-plugin primary" "$err" 'is itself a "multus" config'
}

t_plexus_conf_file_is_checked_and_copied() {
	local err rc=0
	setup_node
	echo '{"cniVersion":"1.0.0","name":"mine","plugins":[{"type":"plexus","clusterNetwork":"cbr0"}]}' >"$WORK/mine.conflist"
	gen --plexus-conf-file "$WORK/mine.conflist" >/dev/null
	expect_eq "copied as it is" "$(cat "$WORK/conf/00-plexus.conflist")" "$(cat "$WORK/mine.conflist")"
	expect_eq "mode" "$(stat -c %a "$WORK/conf/00-plexus.conflist")" 600
	echo '{"cniVersion":"1.0.0","name":"mine","plugins":[{"type":' >"$WORK/mine.conflist"
	err=$(gen --plexus-conf-file "$WORK/mine.conflist" 2>&1 >/dev/null) || rc=$?
	expect_eq "bad file: exit status" "$rc" 1
	expect_contains "names it" "$err" "plexus config $WORK/mine.conflist"
	expect_contains "still the good one" "$(cat "$WORK/conf/00-plexus.conflist")" '"clusterNetwork":"cbr0"'
}

t_usage_errors_exit_2() {
	local err rc
	for args in "--bogus" "--cni-conf-dir" "--log-level loud" "--once --watch" "--cni-version 9.9.9" \
		"--kubeconfig-host relative/path" "extra" "--daemon-socket /run/x.sock" \
		"--thick --daemon-socket relative.sock" "--thick --kubeconfig-host /k"; do
		rc=0
		# shellcheck disable=SC2086
		err=$("$PLEXUS" generate-config $args 2>&1 >/dev/null) || rc=$?
		expect_eq "exit status for [$args]" "$rc" 2
		expect_contains "one line naming it for [$args]" "$err" "plexus generate-config: "
		expect_eq "one line for [$args]" "$(wc -l <<<"$err")" 1
	done
	rc=0; "$PLEXUS" install --bin-dir 2>/dev/null || rc=$?
	expect_eq "install" "$rc" 2
	rc=0; "$PLEXUS" list --what 2>/dev/null || rc=$?
	expect_eq "list" "$rc" 2
	rc=0; err=$("$PLEXUS" frobnicate 2>&1) || rc=$?
	expect_eq "unknown command" "$rc" 2
	expect_contains "unknown command message" "$err" 'unknown command "frobnicate"'
}

t_watch_regenerates_and_exits_on_sigterm_leaving_the_config() {
	local pid log=$WORK/watch.log rc conf_inode
	setup_node
	KUBERNETES_SERVICE_HOST=10.96.0.1 KUBERNETES_SERVICE_PORT=443 \
		"$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" --sa-dir "$WORK/sa" --watch >"$log" 2>&1 &
	pid=$!
	cleanup_add "kill $pid"
	wait_for "the first config" test -s "$WORK/conf/00-plexus.conflist"

	# the primary changes (rewritten in place, as an editor or installer does)
	sed -i 's/10.233.0.0/10.233.9.0/' "$WORK/conf/10-bridge.conflist"
	wait_for "regeneration after the primary changed" grep -q 10.233.9.0 "$WORK/conf/00-plexus.conflist"

	# the token rotates
	rotate_token token-3
	wait_for "the rotated token" grep -qx token-3 "$WORK/conf/plexus.d/token"

	# someone removes our file (a primary CNI "cleaning up" the conf dir): it comes back
	rm "$WORK/conf/00-plexus.conflist"
	wait_for "our file back" test -s "$WORK/conf/00-plexus.conflist"

	# the primary breaks: the last good config stays, the error is said, the watcher lives
	conf_inode=$(stat -c %i "$WORK/conf/00-plexus.conflist")
	echo '{"cniVersion":' >"$WORK/conf/10-bridge.conflist"
	wait_for "the error in the log" grep -q "kept as it was" "$log"
	expect_eq "config kept" "$(stat -c %i "$WORK/conf/00-plexus.conflist")" "$conf_inode"
	kill -0 "$pid" || fail "watcher died on a broken primary"

	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	expect_eq "exit status after SIGTERM" "$rc" 0
	expect_contains "says the config stays" "$(cat "$log")" "stays in place"
	[ -s "$WORK/conf/00-plexus.conflist" ] || fail "config removed on exit"
	expect_contains "last good config" "$(cat "$WORK/conf/00-plexus.conflist")" 10.233.9.0
}

t_watch_waits_for_a_primary_that_is_not_there_yet() {
	local pid log=$WORK/watch.log
	mkdir -p "$WORK/conf"
	"$PLEXUS" generate-config --cni-conf-dir "$WORK/conf" --no-kubeconfig --watch >"$log" 2>&1 &
	pid=$!
	cleanup_add "kill $pid"
	wait_for "the error in the log" grep -q "no CNI network config" "$log"
	[ ! -e "$WORK/conf/00-plexus.conflist" ] || fail "written without a primary"
	# the primary CNI's DaemonSet writes its config later
	echo '{"cniVersion":"1.0.0","name":"late","type":"bridge"}' >"$WORK/conf/.tmp"
	mv "$WORK/conf/.tmp" "$WORK/conf/10-late.conf"
	wait_for "the config" test -s "$WORK/conf/00-plexus.conflist"
	kill -TERM "$pid"
	wait "$pid"
}

install_from() { # DIR [BINARY-FOR-plexus]
	mkdir -p "$1"
	cp "${2:-$ROOT/bin/plexus}" "$1/plexus"
	[ ! -x "$ROOT/bin/sriov" ] || cp "$ROOT/bin/sriov" "$1/sriov"
}

t_install_copies_atomically_and_is_idempotent() {
	local out inode
	install_from "$WORK/from"
	out=$("$PLEXUS" install --from "$WORK/from" --bin-dir "$WORK/bin")
	expect_contains "report" "$out" "installed $WORK/bin/plexus"
	cmp "$WORK/from/plexus" "$WORK/bin/plexus" || fail "plexus differs"
	expect_eq "mode" "$(stat -c %a "$WORK/bin/plexus")" 755
	if [ -x "$ROOT/bin/sriov" ]; then
		cmp "$WORK/from/sriov" "$WORK/bin/sriov" || fail "sriov differs"
	fi
	inode=$(stat -c %i "$WORK/bin/plexus")
	out=$("$PLEXUS" install --from "$WORK/from" --bin-dir "$WORK/bin")
	expect_contains "idempotent" "$out" "unchanged $WORK/bin/plexus"
	expect_eq "not rewritten" "$(stat -c %i "$WORK/bin/plexus")" "$inode"
	# a new build replaces the file (a new inode), never writes into the old one
	printf 'x' >>"$WORK/from/plexus"
	"$PLEXUS" install --from "$WORK/from" --bin-dir "$WORK/bin" >/dev/null
	[ "$(stat -c %i "$WORK/bin/plexus")" != "$inode" ] || fail "replaced in place"
	cmp "$WORK/from/plexus" "$WORK/bin/plexus" || fail "new plexus differs"
	expect_eq "no temporary left" "$(ls -A "$WORK/bin" | grep -c tmp || true)" 0
	# default source: next to the running binary
	out=$("$PLEXUS" install --bin-dir "$WORK/bin2")
	cmp "$PLEXUS" "$WORK/bin2/plexus" || fail "install without --from"
}

t_install_while_the_old_binary_runs() {
	local pid rc=0 err
	# the "old plexus" is a long-running program, as a plugin in the middle of an ADD is
	install_from "$WORK/old" "$(command -v sleep)"
	"$PLEXUS" install --from "$WORK/old" --bin-dir "$WORK/bin" >/dev/null
	"$WORK/bin/plexus" 30 &
	pid=$!
	cleanup_add "kill $pid"
	# the shell forks before it execs: until /proc/PID/exe is the binary, a cp would replace
	# the file the child is about to run, and the "old" program would never have run
	for _ in $(seq 100); do
		[ "$(readlink "/proc/$pid/exe")" = "$WORK/bin/plexus" ] && break
		sleep 0.05
	done
	expect_eq "the old binary runs" "$(readlink "/proc/$pid/exe")" "$WORK/bin/plexus"
	# what an init container's cp does: fails while the binary runs
	err=$(cp "$PLEXUS" "$WORK/bin/plexus" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] && expect_contains "cp hits text file busy" "$err" "busy"
	"$PLEXUS" install --bin-dir "$WORK/bin" >/dev/null
	kill -0 "$pid" || fail "the running old binary died"
	cmp "$PLEXUS" "$WORK/bin/plexus" || fail "not the new binary"
	expect_contains "the new binary runs" "$("$WORK/bin/plexus" --version)" "plexus "
	expect_eq "the old one still runs its own image" "$(readlink "/proc/$pid/exe")" "$WORK/bin/plexus (deleted)"
}

t_install_errors_name_the_file() {
	local err rc=0
	mkdir -p "$WORK/empty"
	err=$("$PLEXUS" install --from "$WORK/empty" --bin-dir "$WORK/bin" 2>&1) || rc=$?
	expect_eq "nothing to install: exit status" "$rc" 1
	expect_contains "names the dir" "$err" "no plexus or sriov binary in $WORK/empty"
	install_from "$WORK/from"
	touch "$WORK/afile"
	rc=0
	err=$("$PLEXUS" install --from "$WORK/from" --bin-dir "$WORK/afile/bin" 2>&1) || rc=$?
	expect_eq "bin dir under a file: exit status" "$rc" 1
	expect_contains "names it" "$err" "$WORK/afile"
}

# a plexus netconf with two bridge delegates, caches under $WORK/cni
list_netconf() {
	cat <<EOF
{"cniVersion":"1.0.0","name":"plexus-net","type":"plexus","cniDir":"$WORK/cni","binDir":"$WORK/nobin","delegates":[
 {"cniVersion":"1.0.0","name":"cluster","type":"bridge","bridge":"${TAG}l0","isGateway":true,"ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.234.0.0/24"}]]}},
 {"cniVersion":"1.0.0","name":"second","plugins":[{"type":"bridge","bridge":"${TAG}l1","ipam":{"type":"host-local","dataDir":"$WORK/ipam","ranges":[[{"subnet":"10.234.1.0/24"}]]}},{"type":"tuning","mtu":1400}]}]}
EOF
}

plexus_verb() { # VERB NETNS CID
	CNI_COMMAND=$1 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$2 CNI_IFNAME=eth0 CNI_PATH=$PLUGINS \
		CNI_ARGS="K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_UID=uid-$3;K8S_POD_INFRA_CONTAINER_ID=$3" \
		$MEMCHECK "$PLEXUS" <"$WORK/nc.json" >/dev/null
}

t_list_shows_what_add_attached() {
	local ns=${TAG}l out cid=0123456789abcdef0123
	mkdir -p "$WORK/ipam" "$WORK/nobin"
	cleanup_add "ip link del ${TAG}l0; ip link del ${TAG}l1"
	netns_new "$ns"
	list_netconf >"$WORK/nc.json"
	plexus_verb ADD "$ns" "$cid"
	out=$($MEMCHECK "$PLEXUS" list --cni-dir "$WORK/cni")
	expect_contains "header" "$out" "CONTAINER"
	expect_contains "short container ID" "$out" "0123456789ab "
	expect_not_contains "not the full ID by default" "$out" "$cid"
	expect_contains "pod" "$out" "shop/web-1"
	expect_contains "netns" "$out" "/run/netns/$ns"
	expect_eq "the cluster network on eth0" "$(awk '$4 == "eth0" {print $5, $6}' <<<"$out")" "cluster bridge"
	expect_eq "the second network on net1" "$(awk '$1 == "net1" {print $2, $3}' <<<"$out")" "second bridge,tuning"
	out=$("$PLEXUS" list --cni-dir "$WORK/cni" --no-trunc)
	expect_contains "--no-trunc" "$out" "$cid"
	out=$($MEMCHECK "$PLEXUS" list --cni-dir "$WORK/cni" --json)
	expect_eq "json: one container" "$(json_get "$out" 'len(j["containers"])')" 1
	expect_eq "json: container" "$(json_get "$out" 'j["containers"][0]["containerID"]')" "$cid"
	expect_eq "json: pod" "$(json_get "$out" 'j["containers"][0]["podName"]')" web-1
	expect_eq "json: interfaces" "$(json_get "$out" '[a["ifname"] for a in j["containers"][0]["attachments"]]')" '["eth0", "net1"]'
	expect_eq "json: types" "$(json_get "$out" 'j["containers"][0]["attachments"][1]["types"]')" '["bridge", "tuning"]'
	expect_eq "json: master" "$(json_get "$out" 'j["containers"][0]["attachments"][0]["master"]')" true
	plexus_verb DEL "$ns" "$cid"
	out=$("$PLEXUS" list --cni-dir "$WORK/cni" --json)
	expect_eq "nothing after DEL" "$(json_get "$out" 'j["containers"]')" "[]"
}

t_list_reports_corrupt_caches_without_crashing() {
	local out rc=0
	mkdir -p "$WORK/cni/plexus"
	printf '{"kind":"plexusCacheV1","containerID":' >"$WORK/cni/plexus/truncated"
	echo '{"kind":"cniCacheV1"}' >"$WORK/cni/plexus/wrongkind"
	echo '{"kind":"plexusCacheV1","containerID":"c","ifname":"eth0","attachments":[{"network":"n","ifname":"eth0","config":"%%%"}]}' \
		>"$WORK/cni/plexus/badconfig"
	head -c 4096 /dev/urandom >"$WORK/cni/plexus/binary"
	: >"$WORK/cni/plexus/c1.lock"
	out=$($MEMCHECK "$PLEXUS" list --cni-dir "$WORK/cni") || rc=$?
	expect_eq "exit status" "$rc" 0
	expect_eq "every bad cache is a row" "$(grep -c "unreadable cache: " <<<"$out")" 4
	expect_contains "names the file" "$out" "$WORK/cni/plexus/truncated"
	expect_not_contains "lock files are not caches" "$out" c1.lock
	out=$("$PLEXUS" list --cni-dir "$WORK/cni" --json)
	expect_eq "json: errors" "$(json_get "$out" 'sorted(c["containerID"] for c in j["containers"] if "error" in c)')" \
		'["badconfig", "binary", "truncated", "wrongkind"]'
	# no cache dir at all: nothing attached; a cache dir that is a file: an error
	out=$("$PLEXUS" list --cni-dir "$WORK/none" --json)
	expect_eq "no dir" "$(json_get "$out" 'j["containers"]')" "[]"
	mkdir -p "$WORK/f" && touch "$WORK/f/plexus"
	rc=0
	out=$("$PLEXUS" list --cni-dir "$WORK/f" 2>&1) || rc=$?
	expect_eq "cache dir is a file: exit status" "$rc" 1
	expect_contains "names it" "$out" "$WORK/f/plexus"
}

t_help_for_every_command() {
	local out cmd
	for a in --help -h help; do
		out=$("$PLEXUS" $a)
		expect_contains "plexus $a" "$out" "Usage: plexus"
		for cmd in generate-config install list; do
			expect_contains "plexus $a lists $cmd" "$out" "  $cmd "
		done
	done
	for cmd in generate-config install list; do
		out=$("$PLEXUS" $cmd --help)
		expect_contains "$cmd --help" "$out" "Usage: plexus $cmd"
		expect_eq "$cmd -h" "$("$PLEXUS" $cmd -h)" "$out"
		expect_eq "help $cmd" "$("$PLEXUS" help $cmd)" "$out"
	done
}

t_version() {
	local out
	out=$("$PLEXUS" --version)
	expect_contains "version" "$out" "plexus 0.1.0"
	expect_contains "CNI versions" "$out" "0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0"
	expect_contains "build" "$out" "built with"
	expect_eq "-v" "$("$PLEXUS" -v)" "$out"
}

t_man_pages_render_and_cover_every_option() {
	local page out warn opt cmd
	command -v groff >/dev/null || skip "groff is not installed (scripts/deps installs groff-base)"
	for page in plexus plexus-generate-config plexus-install plexus-list; do
		[ -f "$ROOT/docs/man/$page.1" ] || fail "no docs/man/$page.1"
		warn=$(groff -man -Tutf8 -ww -z "$ROOT/docs/man/$page.1" 2>&1)
		expect_eq "groff warnings for $page.1" "$warn" ""
		out=$(MANWIDTH=200 man -l "$ROOT/docs/man/$page.1" 2>&1)
		expect_contains "$page.1 NAME" "$out" "NAME"
		expect_contains "$page.1 names itself" "$out" "$page"
		expect_contains "$page.1 SYNOPSIS" "$out" "SYNOPSIS"
	done
	# every option a command's --help shows is documented in its page
	for cmd in generate-config install list; do
		out=$(MANWIDTH=200 man -l "$ROOT/docs/man/plexus-$cmd.1" 2>&1)
		for opt in $("$PLEXUS" $cmd --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
			expect_contains "plexus-$cmd.1 documents $opt" "$out" "$opt"
		done
	done
	out=$(MANWIDTH=200 man -l "$ROOT/docs/man/plexus.1" 2>&1)
	for cmd in generate-config install list; do
		expect_contains "plexus.1 mentions $cmd" "$out" "plexus-$cmd(1)"
	done
}

run_tests
