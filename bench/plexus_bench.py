#!/usr/bin/python3
"""bench/plexus_bench.py: plexus's own cost, measured, never asserted.

Own time per ADD/DEL = plexus with one bridge delegate minus the bridge plugin called
directly with the same config, interleaved in one run, medians. Peak RSS of plexus alone
(its delegate is a tiny static plugin, so the child's peak cannot hide plexus's). Binary
size. Own cost with 1, 2, 4 and 8 bridge delegates (plexus minus the direct calls)."""
import json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

from benchlib import PLEXUS, ROOT, SHIM, TINY, describe_fs

PLUGINS = "/usr/lib/cni"
# the same code as bin/plexus built with glibc (the Makefile's $(BUILD)/glibc/plexus)
GLIBC_PLEXUS = os.path.join(ROOT, "build", "glibc", "plexus")
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
tag = "pxb%d" % (os.getpid() % 10000)
work = tempfile.mkdtemp(prefix="plexus-bench.")
netns = tag + "ns"


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bridge(name, br, subnet):
    return {"cniVersion": "1.0.0", "name": name, "type": "bridge", "bridge": br,
            "ipam": {"type": "host-local", "dataDir": work + "/ipam",
                     "ranges": [[{"subnet": subnet}]]}}


def run(binary, verb, conf, cid, ifname="eth0", path=PLUGINS, extra=None):
    env = dict(os.environ, **(extra or {}))
    env.update(CNI_COMMAND=verb, CNI_CONTAINERID=cid, CNI_NETNS="/run/netns/" + netns,
               CNI_IFNAME=ifname, CNI_PATH=path,
               CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=" + cid)
    data = json.dumps(conf).encode()
    t0 = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    out, _ = p.communicate(data)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("bench: %s %s failed: %s" % (binary, verb, out.decode()))
    return dt * 1000.0


def plexus_conf(delegates, bindir=PLUGINS):
    return {"cniVersion": "1.0.0", "name": "bench", "type": "plexus", "cniDir": work + "/cni",
            "binDir": bindir, "delegates": delegates}


def tiny(name):
    return {"cniVersion": "1.0.0", "name": name, "type": "tiny"}


def own_cost(n, runs, kind="bridge"):
    """median of (plexus with n delegates) - (the same n delegates called directly)"""
    if kind == "bridge":
        delegates = [bridge("b%d" % i, "%sb%d" % (tag, i), "10.%d.%d.0/24" % (234, i))
                     for i in range(n)]
        binary, bindir = PLUGINS + "/bridge", PLUGINS
    else:
        delegates = [tiny("t%d" % i) for i in range(n)]
        binary, bindir = work + "/tinybin/tiny", work + "/tinybin"
    add, dele = [], []
    for r in range(runs):
        cid = "c%d" % r
        conf = plexus_conf(delegates, bindir)
        pa = run(PLEXUS, "ADD", conf, cid, path=bindir)
        pd = run(PLEXUS, "DEL", conf, cid, path=bindir)
        da = dd = 0.0
        for i, d in enumerate(delegates):
            da += run(binary, "ADD", d, "d" + cid, "eth0" if i == 0 else "net%d" % i, bindir)
        for i, d in reversed(list(enumerate(delegates))):
            dd += run(binary, "DEL", d, "d" + cid, "eth0" if i == 0 else "net%d" % i, bindir)
        add.append((pa, da))
        dele.append((pd, dd))
    med = statistics.median
    return (med([p - d for p, d in add]), med([p - d for p, d in dele]),
            med([p for p, _ in add]), med([d for _, d in add]))


def start_ms(binary, extra=None):
    """one `binary version`: its process start with its libraries, next to nothing else"""
    t0 = time.perf_counter()
    subprocess.run([binary, "version"], env=dict(os.environ, **(extra or {})), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000.0


def musl_start_ms():
    """bin/plexus-shim answering VERSION: a static musl process's start and exit, to set
    against the tiny plugin's (a static glibc one)"""
    t0 = time.perf_counter()
    subprocess.run([SHIM],
                   env=dict(os.environ, CNI_COMMAND="VERSION"), check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000.0


def breakdown(runs):
    """Where one ADD and one DEL with a tiny delegate spend their time, from medians of calls
    interleaved in one loop: the tiny plugin run directly (a static process's start and exit,
    and the delegate's share), `plexus version` (plexus's start: static, musl), and the same
    code built with glibc (build/glibc/plexus: dynamic libc, cJSON, libnl, libyaml and
    libprotobuf-c static, libcurl dlopen()ed), whose calls with fsync(2) made a no-op by
    bench/nofsync.c (LD_PRELOAD, which a static binary does not take; the preload's own start
    cost is taken out by timing `version` with it too) tell what the fsyncs cost. The cache's
    filesystem is timed in the same loop: creating a file, and removing one that was synced
    (an ADD creates four: the lock, the plan, Multus's copy, the result cache; its DEL removes
    them), since its cost drifts with the machine as much as a process start does."""
    bindir = work + "/tinybin"
    conf = plexus_conf([tiny("t0")], bindir)
    nofsync = {"LD_PRELOAD": os.path.join(ROOT, "build", "bench", "nofsync.so")}
    m = {}

    def add(k, v):
        m.setdefault(k, []).append(v)

    fsdir = work + "/fs"
    os.makedirs(fsdir, exist_ok=True)
    for r in range(runs):
        cid = "k%d" % r
        t0 = time.perf_counter()
        fd = os.open("%s/f%d" % (fsdir, r), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        add("create", (time.perf_counter() - t0) * 1e6)
        os.write(fd, b"x" * 600)
        os.fsync(fd)
        os.close(fd)
        t0 = time.perf_counter()
        os.unlink("%s/f%d" % (fsdir, r))
        add("unlink", (time.perf_counter() - t0) * 1e6)
        add("tiny", run(bindir + "/tiny", "ADD", tiny("t0"), cid, path=bindir))
        add("tiny DEL", run(bindir + "/tiny", "DEL", tiny("t0"), cid, path=bindir))
        add("version", start_ms(PLEXUS))
        add("musl", musl_start_ms())
        add("ADD", run(PLEXUS, "ADD", conf, cid, path=bindir))
        add("DEL", run(PLEXUS, "DEL", conf, cid, path=bindir))
        add("glibc version", start_ms(GLIBC_PLEXUS))
        add("glibc version nofsync", start_ms(GLIBC_PLEXUS, nofsync))
        add("glibc ADD", run(GLIBC_PLEXUS, "ADD", conf, "g" + cid, path=bindir))
        add("glibc DEL", run(GLIBC_PLEXUS, "DEL", conf, "g" + cid, path=bindir))
        add("glibc ADD nofsync",
            run(GLIBC_PLEXUS, "ADD", conf, "n" + cid, path=bindir, extra=nofsync))
        add("glibc DEL nofsync",
            run(GLIBC_PLEXUS, "DEL", conf, "n" + cid, path=bindir, extra=nofsync))
    # medians of differences taken within one run: slow drift of a shared machine cancels
    med = {k: statistics.median(v) for k, v in m.items()}
    floor = med["tiny"]

    def part(f):
        return statistics.median(f(i) for i in range(runs))

    rows = []
    for verb, tk in (("ADD", "tiny"), ("DEL", "tiny DEL")):
        fsync = part(lambda i: (m["glibc " + verb][i] - m["glibc version"][i]) -
                     (m["glibc " + verb + " nofsync"][i] - m["glibc version nofsync"][i]))
        rows.append((med[verb], part(lambda i: m["version"][i] - m["tiny"][i]), fsync, med[tk],
                     part(lambda i: m[verb][i] - m["version"][i] - m[tk][i]) - fsync,
                     part(lambda i: m[verb][i] - m[tk][i])))
    print()
    print("Where the thin plugin's time goes, 1 tiny delegate (%d runs; ms; each part the median "
          "of its difference within a run, so the parts need not add up exactly):" % runs)
    print()
    print("| part | ADD | DEL |")
    print("|---|---|---|")
    print("| a static process's start and exit (the tiny plugin run directly): the floor | "
          "%.2f | %.2f |" % (floor, floor))
    glibc = part(lambda i: m["tiny"][i] - m["musl"][i])
    print("| of which glibc's own start: the floor minus a static musl process's "
          "(bin/plexus-shim answering VERSION), paid by every glibc process, plexus's and its "
          "delegates' | %.2f | %.2f |" % (glibc, glibc))
    names = ["bin/plexus's start beyond the floor (`plexus version`; below zero: the static "
             "musl plexus starts faster than the static glibc tiny plugin)",
             "the plan made durable: what its two fsyncs (file, directory) add, run once the "
             "delegate has its config, while it runs (DEL calls no fsync: its figure is this "
             "estimate's noise; measured on the glibc build)",
             "the delegate: the tiny plugin's exec and run (its direct call)",
             "the rest: lock, netns check, plan and result-cache files, JSON, spawn and wait"]
    for i, name in enumerate(names):
        print("| %s | %.2f | %.2f |" % (name, rows[0][i + 1], rows[1][i + 1]))
    print("| total / own time (total minus the delegate's direct call) | %.2f / %.2f | "
          "%.2f / %.2f |" % (rows[0][0], rows[0][5], rows[1][0], rows[1][5]))
    print("| the same code built with glibc (build/glibc/plexus: dynamic libc, the rest static, "
          "libcurl dlopen()ed): start beyond the floor; own time | %.2f; %.2f | %.2f; %.2f |"
          % (part(lambda i: m["glibc version"][i] - m["tiny"][i]),
             part(lambda i: m["glibc ADD"][i] - m["tiny"][i]),
             part(lambda i: m["glibc version"][i] - m["tiny"][i]),
             part(lambda i: m["glibc DEL"][i] - m["tiny DEL"][i])))
    print("| the cache's filesystem here (%s), in the same loop: creating a file (ADD creates "
          "four); removing a synced one (DEL removes the plan so), in µs | %.0f | %.0f |"
          % (describe_fs(work), med["create"], med["unlink"]))


def peak_rss_kib():
    """plexus's own peak: its delegate is tiny, and the launcher is a small static program"""
    rss = os.path.join(ROOT, "build", "bench", "rss")
    bindir = work + "/tinybin"
    os.makedirs(bindir, exist_ok=True)
    shutil.copy(TINY, bindir + "/tiny")
    conf = {"cniVersion": "1.0.0", "name": "bench", "type": "plexus", "cniDir": work + "/cni",
            "binDir": bindir, "delegates": [{"cniVersion": "1.0.0", "name": "t", "type": "tiny"}]}
    peaks = []
    for verb in ("ADD", "DEL"):
        env = dict(os.environ, CNI_COMMAND=verb, CNI_CONTAINERID="rss",
                   CNI_NETNS="/run/netns/" + netns, CNI_IFNAME="eth0", CNI_PATH=bindir)
        p = subprocess.run([rss, PLEXUS], env=env, input=json.dumps(conf).encode(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
        peaks.append(int(p.stderr.decode().strip().split("=")[1]))
    return max(peaks)


def stripped_size(binary):
    """bytes of binary once strip(1) has removed its symbols and debug information"""
    out = os.path.join(work, "stripped")
    subprocess.run(["strip", "-o", out, binary], check=True)
    size = os.path.getsize(out)
    os.unlink(out)
    return size


def main():
    sh("ip", "netns", "add", netns)
    try:
        rss = peak_rss_kib()
        one = own_cost(1, RUNS)
        size = os.path.getsize(PLEXUS)
        print("plexus benchmark (%d runs, medians; each plexus call interleaved with the same "
              "delegates called directly)" % RUNS)
        print()
        print("| measure | plexus | target | Multus 4.2 thin (measured here) |")
        print("|---|---|---|---|")
        print("| own time per ADD (1 bridge delegate) | %.2f ms | < 1 ms | 11-20 ms |" % one[0])
        print("| own time per DEL (1 bridge delegate) | %.2f ms | < 1 ms | |" % one[1])
        print("| plexus ADD total / bridge ADD alone | %.2f ms / %.2f ms | | |" % (one[2], one[3]))
        print("| own peak RSS | %.1f MiB | < 4 MiB | about 32 MiB |" % (rss / 1024.0))
        print("| binary size: bin/plexus, static (musl; libnl, libyaml, protobuf-c, OpenSSL, "
              "nghttp2 and libcurl inside), with symbols / stripped | %.0f / %.0f KiB "
              "| < 1 MB dynamically linked (next row) | 68 MB |"
              % (size / 1024.0, stripped_size(PLEXUS) / 1024.0))
        if os.path.exists(GLIBC_PLEXUS):
            print("| binary size: the same code dynamically linked (build/glibc/plexus: libc "
                  "shared, libcurl loaded once the API is used), with symbols / stripped "
                  "| %.0f / %.0f KiB | < 1 MB | |"
                  % (os.path.getsize(GLIBC_PLEXUS) / 1024.0,
                     stripped_size(GLIBC_PLEXUS) / 1024.0))
        print()
        print("The bridge plugin's own time varies by milliseconds between calls, so the scaling")
        print("below uses a tiny static delegate whose cost is steady (about a process start).")
        print()
        print("| tiny delegates | own time per ADD | own time per DEL | added own ADD time per extra delegate |")
        print("|---|---|---|---|")
        base = None
        for n in (1, 2, 4, 8):
            a, d, _, _ = own_cost(n, RUNS, "tiny")
            extra = "" if base is None else "%.2f ms" % ((a - base) / (n - 1))
            base = a if base is None else base
            print("| %d | %.2f ms | %.2f ms | %s |" % (n, a, d, extra))
        breakdown(RUNS)
    finally:
        subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)
        for i in range(8):
            subprocess.run(["ip", "link", "del", "%sb%d" % (tag, i)], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
