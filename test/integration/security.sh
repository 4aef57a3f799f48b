#!/usr/bin/env bash
# test/integration/security.sh: the claims of docs/SECURITY.md that a test can show: names that
# reach file paths are validated, plugin lookup cannot be steered out of its directories, cache
# files are neither read nor written through symlinks, TLS is verified by default, tokens are
# never logged, and the product never runs a shell.
. "$(dirname "$0")/../lib.sh"

PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
STANDIN=$ROOT/test/stand-ins/apiserver.py

plexus() { # VERB NETNS CID [IFNAME]
	CNI_COMMAND=$1 CNI_NETNS=${2:+/run/netns/$2} CNI_CONTAINERID=$3 CNI_IFNAME=${4:-eth0} \
	CNI_PATH=${PATH_DIRS:-/usr/lib/cni} CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1" "$PLEXUS"
}

conf() { # TYPE [EXTRA]
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"sec\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"delegates\":[{\"cniVersion\":\"1.0.0\",\"name\":\"d\",\"type\":\"$1\",\"bridge\":\"${TAG}x0\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.240.9.0/24\"}]]}}]${2:+,$2}}"
}

t_plugin_types_cannot_leave_the_plugin_directories() {
	local ns=${TAG}t out t
	netns_new $ns
	mkdir -p "$WORK/bin/sub" "$WORK/bin/dir-plugin"
	ln -s /nonexistent "$WORK/bin/dangling"
	printf '#!/bin/sh\necho pwned >%s/pwned\n' "$WORK" >"$WORK/bin/sub/evil"
	chmod +x "$WORK/bin/sub/evil"
	for t in ../../../bin/sh sub/evil '..' '.' 'sub\\evil' /bin/sh dangling dir-plugin; do
		out=$(conf "$t" | plexus ADD $ns ct) && fail "type [$t] was run"
		[ ! -e "$WORK/pwned" ] || fail "type [$t] executed a file outside the plugin dirs"
	done
	expect_eq "interfaces" "$(links_in $ns)" 0
	[ -z "$(find "$WORK/cni" -type f 2>/dev/null)" ] || fail "a refused ADD wrote a cache"
}

t_names_reaching_paths_are_validated_before_use() {
	local ns=${TAG}n out cid
	netns_new $ns
	for cid in '../../etc/x' 'a/b' '.hidden' '-x' "$(printf 'a\nb')"; do
		out=$(conf bridge | plexus ADD $ns "$cid") && fail "container ID [$cid] accepted"
		expect_eq "code for [$cid]" "$(json_get "$out" 'j["code"]')" 4
	done
	out=$(conf bridge | plexus ADD $ns cn "../eth0") && fail "ifname with a slash accepted"
	out=$(conf bridge | plexus DEL $ns "../../x") && fail "DEL with a bad container ID accepted"
	[ -z "$(find "$WORK/cni" -type f 2>/dev/null)" ] || fail "bad names produced cache files"
}

t_cache_files_are_not_followed_through_symlinks() {
	local ns=${TAG}c out
	netns_new $ns
	cleanup_add "ip link del ${TAG}x0"
	echo "victim" >"$WORK/victim"
	# the cache directory itself a symlink: refused, nothing written through it
	mkdir -p "$WORK/cni" "$WORK/elsewhere"
	ln -s "$WORK/elsewhere" "$WORK/cni/plexus"
	out=$(conf bridge | plexus ADD $ns cc) && fail "ADD through a symlinked cache dir"
	[ -z "$(ls -A "$WORK/elsewhere")" ] || fail "files written through the symlinked directory"
	expect_eq "nothing attached" "$(links_in $ns)" 0
	rm "$WORK/cni/plexus"
	# a symlink planted where the lock or the cache file goes
	mkdir -m 700 "$WORK/cni/plexus"
	ln -s "$WORK/victim" "$WORK/cni/plexus/cc.lock"
	out=$(conf bridge | plexus ADD $ns cc) && fail "ADD locked through a symlink"
	rm "$WORK/cni/plexus/cc.lock"
	ln -s "$WORK/victim" "$WORK/cni/plexus/cc"
	conf bridge | plexus ADD $ns cc >/dev/null
	expect_eq "victim untouched" "$(cat "$WORK/victim")" victim
	[ -f "$WORK/cni/plexus/cc" ] && [ ! -L "$WORK/cni/plexus/cc" ] || fail "cache not a regular file"
	expect_eq "cache dir mode" "$(stat -c %a "$WORK/cni/plexus")" 700
	expect_eq "cache mode" "$(stat -c %a "$WORK/cni/plexus/cc")" 600
	conf bridge | plexus DEL $ns cc
	expect_eq "victim untouched after DEL" "$(cat "$WORK/victim")" victim
}

api_start() {
	mkdir -p "$WORK/api"
	echo '{"tokens":{"s3cr3t-t0ken-value":"u"},"pods":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"ns1","uid":"u1"}}],"nads":[]}' >"$WORK/fixture.json"
	/usr/bin/python3 -u "$STANDIN" --dir "$WORK/api" --fixture "$WORK/fixture.json" --max-lifetime 300 >"$WORK/api/out" 2>/dev/null &
	cleanup_add "kill $!"
	for _ in $(seq 1 100); do grep -q listening "$WORK/api/out" 2>/dev/null && break; sleep 0.1; done
	API=$(awk '/listening/{print $2}' "$WORK/api/out")
}

kubeconfig() { # CA-LINE
	printf 'apiVersion: v1\nkind: Config\ncurrent-context: t\ncontexts:\n- name: t\n  context: {cluster: s, user: u}\nclusters:\n- name: s\n  cluster: {server: "%s"%s}\nusers:\n- name: u\n  user: {token: s3cr3t-t0ken-value}\n' "$API" "$1" >"$WORK/kubeconfig"
}

t_tls_is_verified_and_tokens_never_logged() {
	local ns=${TAG}k out
	netns_new $ns
	cleanup_add "ip link del ${TAG}x0"
	mkdir -p "$WORK/bin"
	cp /usr/lib/cni/bridge /usr/lib/cni/host-local "$WORK/bin/"
	api_start
	# no CA given: the system store does not trust the stand-in, and a NAD cannot change that
	kubeconfig ""
	out=$(conf bridge "\"kubeconfig\":\"$WORK/kubeconfig\",\"insecure-skip-tls-verify\":true" | plexus ADD $ns ck) && fail "an untrusted server was accepted"
	expect_eq "nothing attached" "$(links_in $ns)" 0
	kubeconfig ", certificate-authority: $WORK/api/ca.crt"
	conf bridge "\"kubeconfig\":\"$WORK/kubeconfig\",\"logLevel\":\"debug\",\"logFile\":\"$WORK/plexus.log\"" >"$WORK/nc.json"
	plexus ADD $ns ck <"$WORK/nc.json" >/dev/null 2>"$WORK/stderr"
	plexus DEL $ns ck <"$WORK/nc.json" 2>>"$WORK/stderr"
	[ -s "$WORK/plexus.log" ] || fail "nothing was logged at debug level"
	! grep -q s3cr3t "$WORK/plexus.log" "$WORK/stderr" || fail "the token appears in the logs"
}

t_the_product_never_runs_a_shell() {
	local srcs dirs d hits b syms bad=""
	# every product source: all .c and .h files but those of the tests, the benchmarks and the
	# build trees, so a new directory is covered without naming it here
	srcs=$(cd "$ROOT" && find . \( -path ./test -o -path ./bench -o -path './build*' -o -path ./.git \) -prune \
		-o -type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
	dirs=$(printf '%s\n' "$srcs" | sed -n 's|/.*||p' | sort -u | tr '\n' ' ')
	# the search must at least reach the directories of today's four binaries and their library
	for d in cni delegates meta ops k8s sriov daemon shim; do
		[[ " $dirs" == *" $d "* ]] || fail "no sources found in $d/ (searched: $dirs)"
	done
	hits=$(cd "$ROOT" && printf '%s\n' "$srcs" | xargs grep -nE '\b(system|popen|execl|execlp|execle)[[:space:]]*\(|"/bin/sh"|"sh", "-c"' || true)
	[ -z "$hits" ] || bad+="shell or system() in the sources: $hits"$'\n'
	# every binary: the dynamic ones import system/popen from libc; plexus and plexus-shim are
	# static (musl, every library inside), so their own symbol tables would hold them; a binary
	# without symbols would pass unseen, so each listing must show a symbol every binary has
	for b in plexus sriov plexusd plexus-shim; do
		if elf_dynamic "$ROOT/bin/$b"; then
			syms=$(nm -D "$ROOT/bin/$b")
		else
			syms=$(nm "$ROOT/bin/$b")
		fi
		grep -qwE 'execve|malloc' <<<"$syms" || fail "bin/$b: no symbols to check"
		hits=$(grep -wE 'system|popen' <<<"$syms" || true)
		[ -z "$hits" ] || bad+="system/popen linked into bin/$b: $hits"$'\n'
	done
	[ -z "$bad" ] || fail "$bad"
}

run_tests
