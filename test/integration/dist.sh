#!/usr/bin/env bash
# test/integration/dist.sh: `make dist` gives binaries that run on a node without libnl,
# cJSON, libcurl, libpci or libyaml: plexus and plexus-shim static against musl (nothing of the
# node, not even its libc), sriov and plexusd with libnl and libyaml linked statically and the
# rest bundled in plexus-lib/ behind DT_RPATH $ORIGIN/plexus-lib. Checked with readelf, then for
# real: inside a bare root filesystem (busybox-static, the installed dist files, and only the
# glibc files the dynamic loader asks for) plexus and sriov run, and in one without any glibc a
# plexus ADD/DEL talks to the kube-apiserver stand-in over TLS through its linked-in libcurl.
. "$(dirname "$0")/../lib.sh"

DIST=$BUILD/dist
DEBUG=$BUILD/dist-debug
LIBDIR=plexus-lib
STANDIN=$ROOT/test/stand-ins/apiserver.py
# the libraries a node may lack, by file name
MISSING_RE='^lib(nl-[a-z-]*3|cjson|curl|pci|yaml)[-.]'

# once for every test: the dist tree from the current objects
DIST_LOG=$WORKROOT/make-dist.log
make -s -C "$ROOT" dist >"$DIST_LOG" 2>&1 || DIST_FAILED=1

need_dist() {
	[ -z "${DIST_FAILED:-}" ] || fail "make dist failed: $(tail -5 "$DIST_LOG")"
	[ -x "$DIST/plexus" ] && [ -x "$DIST/sriov" ] && [ -d "$DIST/$LIBDIR" ] || fail "no $DIST"
}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

build_id() { readelf -n "$1" | sed -n 's/.*Build ID: *//p'; }

# stripped FILE: FILE has neither a symbol table nor DWARF
stripped() { ! readelf -S "$1" | grep -Eq '\.(symtab|debug_info) '; }

# debug_file BINARY: the path of the shipped BINARY's debug file, which must come from the same
# link, as the build ID both carry says
debug_file() {
	expect_eq "$1: build ID of its debug file" "$(build_id "$DEBUG/$1.debug")" "$(build_id "$DIST/$1")"
	echo "$DEBUG/$1.debug"
}

# the symbols of the shipped BINARY (stripped), from its debug file
symbols_of() {
	nm "$(debug_file "$1")"
}

is_glibc() { # FILE-NAME: a library of glibc itself (the node's, never bundled)
	[[ "$1" =~ ^(libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libmvec|ld-linux[-a-z0-9_]*)\.so ]]
}

# rootfs R [noglibc]: busybox, `plexus install` of the dist into R/opt/cni/bin, and the glibc
# files the dynamic loader resolves for every installed dynamic ELF file (and nothing else of
# Debian's); with noglibc, none of them
rootfs() {
	R=$WORK/root
	local f path glibc=${1:-}
	mkdir -p "$R"/{bin,dev,etc/plexus,proc,run/netns,tmp,var/lib/cni,opt/cni/bin}
	chmod 1777 "$R/tmp"
	cp /bin/busybox "$R/bin/busybox"
	ln -s busybox "$R/bin/sh"
	mknod -m 666 "$R/dev/null" c 1 3
	"$DIST/plexus" install --bin-dir "$R/opt/cni/bin" >"$WORK/install.out"
	mount -t proc proc "$R/proc"
	cleanup_add "umount $R/proc"
	: >"$WORK/host-libs"
	[ "$glibc" != noglibc ] || return 0
	cp "$(readelf -l "$DIST/sriov" | sed -n 's/.*interpreter: \(.*\)]/\1/p')" "$WORK/interp"
	mkdir -p "$R/lib64"
	cp "$WORK/interp" "$R/lib64/ld-linux-x86-64.so.2"
	for f in "$R/opt/cni/bin/sriov" "$R/opt/cni/bin/$LIBDIR"/*; do
		LD_LIBRARY_PATH=$R/opt/cni/bin/$LIBDIR ldd "$f"
	done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u >"$WORK/resolved"
	while read -r path; do
		case "$path" in "$R"/*) continue ;; esac
		echo "$path" >>"$WORK/host-libs"
		mkdir -p "$R$(dirname "$path")"
		cp -L "$path" "$R$path"
	done <"$WORK/resolved"
}

# static FILE: no program interpreter and no NEEDED entry
is_static() {
	[ -z "$(needed "$1")" ] && ! elf_dynamic "$1"
}

t_dist_binaries_need_only_libc_and_their_bundle() {
	need_dist
	local b lib n
	for b in sriov plexusd; do
		expect_eq "$b: DT_RPATH" "$(readelf -d "$DIST/$b" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')" "\$ORIGIN/$LIBDIR"
		[ -z "$(readelf -d "$DIST/$b" | grep RUNPATH)" ] || fail "$b has a DT_RUNPATH (it would not serve dlopen()ed libcurl's dependencies)"
		for lib in $(needed "$DIST/$b"); do
			is_glibc "$lib" || [ -f "$DIST/$LIBDIR/$lib" ] || fail "$b needs $lib, which is neither glibc nor bundled"
			[[ ! "$lib" =~ ^lib(nl-|yaml|curl) ]] || fail "$b needs $lib dynamically"
			[[ ! "$lib" =~ ^libcjson ]] || fail "$b needs $lib dynamically (cJSON is linked in)"
		done
	done
	for b in plexus plexus-shim; do
		is_static "$DIST/$b" || fail "$b is not static: $(readelf -l "$DIST/$b" | grep interpreter) $(needed "$DIST/$b")"
	done
	# plexus has its libraries inside: libcurl with OpenSSL and nghttp2, libnl, libyaml, cJSON
	local sym syms
	syms=$(symbols_of plexus)
	for sym in curl_easy_perform SSL_CTX_new nghttp2_session_client_new2 nl_socket_alloc \
		yaml_parser_initialize cJSON_Parse; do
		grep -q " T $sym\$" <<<"$syms" || fail "plexus does not contain $sym"
	done
	# and runs none of OpenSSL before main: its CPU probe waits for the first API call
	# (scripts/musl-libs)
	! objdump -d -j .init "$DIST/plexus" | grep -q OPENSSL || fail "plexus's .init calls OpenSSL: $(objdump -d -j .init "$DIST/plexus" | grep OPENSSL)"
	# libnl and libyaml are inside the binaries, not next to them
	[ -z "$(ls "$DIST/$LIBDIR" | grep -E '^lib(nl-|yaml)')" ] || fail "libnl or libyaml bundled instead of linked statically: $(ls "$DIST/$LIBDIR")"
	symbols_of sriov | grep -q ' T nl_socket_alloc$' || fail "sriov does not contain libnl"
	# what has no .a in Debian is bundled, libcurl with it (plexusd dlopen()s it)
	for lib in libcurl.so.4 libpci.so.3; do
		[ -f "$DIST/$LIBDIR/$lib" ] || fail "$lib not bundled"
	done
	readelf -d "$DIST/plexusd" | grep -q 'NEEDED.*libcurl' && fail "plexusd links libcurl (it must dlopen it)"
	# the bundle is closed: each library's dependencies are bundled or glibc
	n=0
	for f in "$DIST/$LIBDIR"/*; do
		for lib in $(needed "$f"); do
			is_glibc "$lib" || [ -f "$DIST/$LIBDIR/$lib" ] || fail "$(basename "$f") needs $lib, not bundled"
		done
		n=$((n + 1))
	done
	[ "$n" -gt 10 ] || fail "only $n bundled libraries: libcurl's closure is missing"
}

t_dist_binaries_ship_stripped_with_their_debug_files() {
	need_dist
	local b id dbg out
	for b in plexus sriov plexus-shim plexusd; do
		stripped "$DIST/$b" || fail "$b ships with its symbols or DWARF"
		expect_eq "$b: the debug file it names" "$(readelf --string-dump=.gnu_debuglink "$DIST/$b" 2>/dev/null | sed -n 's/^ *\[ *0\] *//p')" "$b.debug"
		id=$(build_id "$DIST/$b")
		[ -n "$id" ] || fail "$b has no build ID"
		dbg=$(debug_file "$b")
		readelf -S "$dbg" | grep -q '\.symtab ' || fail "$b.debug has no symbols"
		# installed as a distribution installs debug files, under .build-id
		mkdir -p "$WORK/debug/.build-id/${id:0:2}"
		cp "$dbg" "$WORK/debug/.build-id/${id:0:2}/${id:2}.debug"
	done
	# gdb, a real consumer, finds them by build ID and maps the shipped code to our sources
	for b in "plexus cni_skel_run cni/skel.c" "plexusd pxd_request_parse daemon/request.c" \
		"sriov main sriov/main.c"; do
		set -- $b
		out=$(gdb -batch -nx -iex "set debug-file-directory $WORK/debug" -ex "info line $2" "$DIST/$1" 2>&1)
		expect_contains "gdb: $1's $2" "$out" "of \"$3\" starts at address"
		out=$(gdb -batch -nx -iex "set debug-file-directory $WORK/nothing" -ex "info line $2" "$DIST/$1" 2>&1 || true)
		expect_not_contains "gdb without the debug files: $1" "$out" "of \"$3\""
	done
}

# A strip that fails takes the half-made binary with it (.DELETE_ON_ERROR): left in place, the
# unstripped copy would be newer than its inputs and the next `make dist` would ship it.
t_a_dist_binary_whose_strip_failed_is_not_left_behind() {
	need_dist
	local out
	mkdir -p "$WORK/fakebin"
	cat >"$WORK/fakebin/objcopy" <<-'EOF'
	#!/bin/sh
	for a; do [ "$a" = --strip-all ] && { echo "objcopy (test): strip refused" >&2; exit 1; }; done
	exec /usr/bin/objcopy "$@"
	EOF
	chmod +x "$WORK/fakebin/objcopy"
	touch "$ROOT/bin/plexus-shim"
	if out=$(PATH="$WORK/fakebin:$PATH" make -s -C "$ROOT" dist 2>&1); then
		fail "make dist succeeded with a strip that fails: $out"
	fi
	expect_contains "make dist's error" "$out" "strip refused"
	[ ! -e "$DIST/plexus-shim" ] || fail "the unstripped plexus-shim was left in $DIST"
	[ ! -e "$DEBUG/plexus-shim.debug" ] || fail "plexus-shim.debug was left in $DEBUG"
	# and the next make dist makes both again
	make -s -C "$ROOT" dist >"$WORK/redo.log" 2>&1 || fail "make dist after: $(tail -5 "$WORK/redo.log")"
	stripped "$DIST/plexus-shim" || fail "plexus-shim made again unstripped"
	debug_file plexus-shim >/dev/null
}

t_install_puts_the_bundle_next_to_the_binaries() {
	need_dist
	local out f
	out=$("$DIST/plexus" install --bin-dir "$WORK/bin")
	expect_contains "report" "$out" "installed $WORK/bin/$LIBDIR/libcurl.so.4"
	for f in plexus sriov; do cmp "$DIST/$f" "$WORK/bin/$f" || fail "$f differs"; done
	for f in "$DIST/$LIBDIR"/*; do
		cmp "$f" "$WORK/bin/$LIBDIR/$(basename "$f")" || fail "$(basename "$f") differs"
		expect_eq "mode of $(basename "$f")" "$(stat -c %a "$WORK/bin/$LIBDIR/$(basename "$f")")" 644
	done
	# the libraries go first: when a binary is installed, its libraries already are
	expect_eq "order" "$(echo "$out" | grep -n "/plexus (from" | cut -d: -f1)" "$(echo "$out" | wc -l | awk '{print $1 - 1}')"
	out=$("$DIST/plexus" install --bin-dir "$WORK/bin")
	expect_contains "idempotent" "$out" "unchanged $WORK/bin/$LIBDIR/libcurl.so.4"
	expect_not_contains "idempotent" "$out" "installed"
	# a build without a bundle (bin/) installs just the binaries
	out=$("$ROOT/bin/plexus" install --bin-dir "$WORK/bin2")
	expect_not_contains "no bundle from bin/" "$out" "$LIBDIR"
}

t_plexus_and_sriov_run_in_a_bare_root_filesystem() {
	need_dist
	local out path lib
	rootfs
	# nothing of the five libraries outside the bundle; Debian's files are glibc's alone
	out=$(cd "$R" && find . -path ./proc -prune -o -name 'lib*.so*' -print | grep -v "^./opt/cni/bin/$LIBDIR/" || true)
	for lib in $out; do
		[[ ! "$(basename "$lib")" =~ $MISSING_RE ]] || fail "$lib in the root filesystem"
	done
	while read -r path; do
		expect_contains "$path is glibc's" "$(dpkg -S "$path" 2>/dev/null)" "libc6:"
	done <"$WORK/host-libs"
	[ -s "$WORK/host-libs" ] || fail "no glibc copied?"
	out=$(chroot "$R" /opt/cni/bin/plexus --version)
	expect_contains "plexus --version in the root" "$out" "plexus 0.1.0"
	out=$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION chroot "$R" /opt/cni/bin/sriov)
	expect_contains "sriov VERSION in the root" "$out" '"supportedVersions"'
	out=$(echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION chroot "$R" /opt/cni/bin/plexus)
	expect_contains "plexus VERSION in the root" "$out" '"supportedVersions"'
	# what the loader resolves inside for sriov: the bundle or glibc, nothing missing
	out=$(chroot "$R" /lib64/ld-linux-x86-64.so.2 --list /opt/cni/bin/sriov)
	expect_not_contains "sriov: every library found" "$out" "not found"
	echo "$out" | awk '$2 == "=>" {print $1, $3}' | while read -r lib path; do
		is_glibc "$lib" || [[ "$path" == /opt/cni/bin/$LIBDIR/* ]] || fail "sriov: $lib from $path"
	done
	is_static "$R/opt/cni/bin/plexus" || fail "the installed plexus is not static"
}

t_plexusd_runs_on_the_bundled_libraries() {
	need_dist
	local out
	[ -x "$DIST/plexusd" ] || fail "no $DIST/plexusd"
	rootfs
	# next to the bundle, as the image's /usr/libexec/plexus has it
	cp "$DIST/plexusd" "$R/opt/cni/bin/plexusd"
	out=$(chroot "$R" /lib64/ld-linux-x86-64.so.2 --list /opt/cni/bin/plexusd)
	expect_not_contains "plexusd: every library found" "$out" "not found"
	expect_contains "libmicrohttpd from the bundle" "$out" "/opt/cni/bin/$LIBDIR/libmicrohttpd.so"
	out=$(chroot "$R" /opt/cni/bin/plexusd --help)
	expect_contains "plexusd --help in the root" "$out" "usage: plexusd"
}

t_add_and_del_in_a_root_without_glibc_reach_the_api() {
	need_dist
	local ns=${TAG}d api out st
	rootfs noglibc
	# nothing of glibc, nor any other shared library, outside the bundle (which is sriov's
	# and plexusd's)
	out=$(cd "$R" && find . -path ./proc -prune -o -path "./opt/cni/bin/$LIBDIR" -prune -o \
		\( -name 'lib*.so*' -o -name 'ld-linux*' \) -print)
	[ -z "$out" ] || fail "shared libraries in the root: $out"
	# the API stand-in, outside the root: a pod with one extra network
	mkdir -p "$WORK/api"
	cat >"$WORK/fixture.json" <<'EOF'
{"tokens":{"dist-token-1":"system:serviceaccount:kube-system:plexus"},
 "pods":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"ns1","uid":"uid-1",
   "annotations":{"k8s.v1.cni.cncf.io/networks":"blue"}},"spec":{"nodeName":"n1"}}],
 "nads":[{"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition",
   "metadata":{"name":"blue","namespace":"ns1"},
   "spec":{"config":"{\"cniVersion\":\"1.0.0\",\"name\":\"blue\",\"type\":\"fake\"}"}}]}
EOF
	/usr/bin/python3 -u "$STANDIN" --dir "$WORK/api" --fixture "$WORK/fixture.json" \
		--max-lifetime 120 >"$WORK/api/out" 2>"$WORK/api/err" &
	cleanup_add "kill $!"
	for _ in $(seq 1 100); do
		grep -q listening "$WORK/api/out" 2>/dev/null && break
		sleep 0.1
	done
	api=$(awk '/listening/{print $2}' "$WORK/api/out")
	[ -n "$api" ] || fail "stand-in did not start: $(cat "$WORK/api/err")"
	cp "$WORK/api/ca.crt" "$R/etc/plexus/ca.crt"
	cat >"$R/etc/plexus/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: test
contexts:
- name: test
  context: {cluster: stand-in, user: plexus}
clusters:
- name: stand-in
  cluster: {server: "$api", certificate-authority: ca.crt}
users:
- name: plexus
  user: {token: dist-token-1}
EOF
	# a delegate that needs nothing but busybox: records the call, answers a result
	cat >"$R/opt/cni/bin/fake" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "$CNI_COMMAND $CNI_IFNAME" >>/tmp/fake.log
case "$CNI_COMMAND" in
ADD) printf '{"cniVersion":"1.0.0","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"address":"10.99.0.%s/24","interface":0}]}' \
	"$CNI_IFNAME" "$CNI_NETNS" "$([ "$CNI_IFNAME" = eth0 ] && echo 2 || echo 3)" ;;
VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.1","0.4.0","1.0.0"]}' ;;
esac
EOF
	chmod 755 "$R/opt/cni/bin/fake"
	echo '{"cniVersion":"1.0.0","name":"plexus-net","type":"plexus","kubeconfig":"/etc/plexus/kubeconfig","cniDir":"/var/lib/cni/multus","binDir":"/opt/cni/bin","delegates":[{"cniVersion":"1.0.0","name":"cluster","type":"fake"}]}' >"$WORK/nc.json"
	netns_new $ns
	touch "$R/run/netns/$ns"
	mount --bind "/run/netns/$ns" "$R/run/netns/$ns"
	cleanup_add "umount $R/run/netns/$ns"
	export CNI_NETNS=/run/netns/$ns CNI_CONTAINERID=dist-c1 CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin
	export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p1;K8S_POD_INFRA_CONTAINER_ID=dist-c1;K8S_POD_UID=uid-1"
	out=$(CNI_COMMAND=ADD chroot "$R" /opt/cni/bin/plexus <"$WORK/nc.json" 2>"$WORK/add.err") ||
		fail "ADD in the root: $out $(cat "$WORK/add.err")"
	expect_eq "result: the cluster network's" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.99.0.2/24
	# the API calls went through: pod, NAD, network-status
	st=$(curl -sS --cacert "$WORK/api/ca.crt" "$api/_standin/requests")
	expect_eq "API calls" "$(echo "$st" | /usr/bin/python3 -c 'import json,sys; print(" ".join(r["method"]+":"+str(r["status"]) for r in json.load(sys.stdin)))')" "GET:200 GET:200 PATCH:200"
	st=$(curl -sS --cacert "$WORK/api/ca.crt" "$api/_standin/objects/pods/ns1/p1")
	expect_contains "network-status written" "$st" 'ns1/blue'
	expect_eq "delegates called" "$(tr '\n' ',' <"$R/tmp/fake.log")" "ADD eth0,ADD net1,"
	CNI_COMMAND=DEL chroot "$R" /opt/cni/bin/plexus <"$WORK/nc.json" >/dev/null || fail "DEL in the root"
	expect_eq "delegates called" "$(tr '\n' ',' <"$R/tmp/fake.log")" "ADD eth0,ADD net1,DEL net1,DEL eth0,"
	[ -z "$(find "$R/var/lib/cni" -type f)" ] || fail "cache left: $(find "$R/var/lib/cni" -type f)"
}

run_tests
