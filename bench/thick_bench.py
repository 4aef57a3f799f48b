#!/usr/bin/python3
"""bench/thick_bench.py: thick mode (bin/plexus-shim -> bin/plexusd) against the thin plugin.

Static delegates only (no API): a tiny static plugin, so the figures are plexus's own.
- Own time per ADD/DEL: (the call) - (the tiny delegate called directly), medians of calls
  interleaved in one loop: thin bin/plexus, thick through the shim, and the daemon alone
  (POST /cni from here, no shim exec; on a kept-alive connection and on a new one each time).
- The daemon's RSS (VmRSS of its process, delegates excluded): idle after start, idle after
  the sequential calls, and the peak (VmHWM, reset before) during a burst of 100 concurrent pod
  ADDs through the shim, then 100 DELs. Wall time of the bursts, thin and thick.
- What the plan's durable write waits for on the cache's filesystem (fsync of a new small file,
  then of its directory), measured beside the calls: the device's share of an ADD.
- The shim's size and libraries.
- The own time of a DEL whose pod's files were written back (sync(2) between its ADD and its
  DEL, as the first 30 s of a pod's life do): on a disk that trims at removal, the figure a
  node sees, since calls back to back remove files that never got a block.
- The floor of each design, in the same loop: bench/floor.c, which does nothing but what a thin
  plugin (run the one delegate through pipes) or a shim and its daemon (hand the CNI variables
  and the netconf over a unix socket to a thread per connection that does the same) cannot do
  less than; plexus's own time above it is its plan, lock, caches and checks.
- The same own times with the cache (cniDir: plans, Multus's and libcni's caches, locks) on tmpfs,
  a second daemon for thick: what the code costs without the device's fsync and trim.
Prints "thick: not built" when bin/plexusd or bin/plexus-shim is missing. Asserts nothing."""
import base64, json, os, shutil, statistics, subprocess, sys, tempfile, threading, time

from benchlib import (PLEXUS, PLEXUSD, ROOT, SHIM, UnixHTTP, describe_fs, durable_write_ms,
                      kib, own_ms, status_of, stop, thick_setup, wait_ready)

RUNS = int(os.environ.get("BENCH_RUNS", "100"))
BURST = int(os.environ.get("BENCH_BURST", "100"))
work = tempfile.mkdtemp(prefix="plexus-tbench.")
# a tmpfs (/dev/shm on any glibc system, /run where systemd mounts it): a cache there costs no
# device I/O
MEMFS = next((d for d in ("/dev/shm", "/run") if describe_fs(d).startswith("tmpfs")), None)
memwork = tempfile.mkdtemp(prefix="plexus-tbench.", dir=MEMFS)
netns = "pxtb%d" % (os.getpid() % 10000)
bindir, cnidir, sockdir = work + "/bin", work + "/cni", work + "/sock"
sock = sockdir + "/multus.sock"
memcni, memsockdir = memwork + "/cni", memwork + "/sock"
memsock = memsockdir + "/multus.sock"
FLOOR_MUSL = os.path.join(ROOT, "build", "bench", "floor-musl")
FLOOR_GLIBC = os.path.join(ROOT, "build", "bench", "floor-glibc")
floorsock = sockdir + "/floor.sock"
DELEGATES = [{"cniVersion": "1.0.0", "name": "t0", "type": "tiny"}]


def netconf(kind, cni_dir=cnidir, socket=sock):
    conf = {"cniVersion": "1.0.0", "name": "bench", "type": kind, "cniDir": cni_dir,
            "binDir": bindir, "delegates": DELEGATES}
    if kind == "plexus-shim":
        conf["daemonSocketPath"] = socket
    return conf


def log_path(name):
    return "%s/%s.log" % (work, name)


def log_tail(name):
    return open(log_path(name), errors="replace").read()[-2000:]


def start_daemon(cni_dir, socket_dir, name):
    """plexusd with its cache in cni_dir, serving in socket_dir; (process, None) once ready,
    else (None, why with the end of its log)"""
    config = "%s/%s-config.json" % (work, name)
    with open(config, "w") as f:
        json.dump({"cniVersion": "1.0.0", "socketDir": socket_dir, "binDir": bindir,
                   "cniDir": cni_dir, "logToStderr": True, "logLevel": "error"}, f)
    with open(log_path(name), "wb") as log:
        daemon = subprocess.Popen([PLEXUSD, "--config", config], stdout=log, stderr=log,
                                  env=dict(os.environ, PLEXUS_NODE_NAME="bench"))
    why = wait_ready(daemon, socket_dir + "/multus.sock")
    if why:
        stop(daemon)
        return None, "plexusd %s; its log:\n%s" % (why, log_tail(name))
    return daemon, None


def cni_env(verb, cid):
    return {"CNI_COMMAND": verb, "CNI_CONTAINERID": cid, "CNI_NETNS": "/run/netns/" + netns,
            "CNI_IFNAME": "eth0", "CNI_PATH": bindir,
            "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=" + cid}


def run(binary, verb, conf, cid, args=()):
    data = json.dumps(conf).encode()
    t0 = time.perf_counter()
    p = subprocess.Popen([binary] + list(args), env=dict(os.environ, **cni_env(verb, cid)),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = p.communicate(data)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("%s %s %s failed: %s" % (os.path.basename(binary), verb, cid,
                                                   out.decode(errors="replace").strip()))
    return dt * 1000.0


def post_cni(conn, verb, conf, cid):
    """The daemon alone: POST /cni as the shim sends it, on a kept-alive connection."""
    body = json.dumps({"env": cni_env(verb, cid),
                       "config": base64.b64encode(json.dumps(conf).encode()).decode()})
    t0 = time.perf_counter()
    conn.request("POST", "/cni", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    if r.status != 200:
        raise RuntimeError("POST /cni %s %s: %d %s" % (verb, cid, r.status, data.decode()))
    return dt * 1000.0


def burst(binary, conf, verb, prefix):
    """BURST concurrent calls; returns (wall ms, failures, first failure)."""
    data = json.dumps(conf).encode()
    t0 = time.perf_counter()
    procs = []
    for i in range(BURST):
        p = subprocess.Popen([binary], env=dict(os.environ, **cni_env(verb, "%s%d" % (prefix, i))),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        procs.append(p)
    for p in procs:  # the pipes are small: write, then read, one after the other
        p.stdin.write(data)
        p.stdin.close()
    fails, first = 0, ""
    for p in procs:
        out = p.stdout.read()
        if p.wait() != 0:
            fails += 1
            first = first or out.decode(errors="replace").strip()[:200]
    return (time.perf_counter() - t0) * 1000.0, fails, first


def deps_of(binary):
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    libs = [l.split()[0] for l in out.splitlines() if "=>" in l]
    return ", ".join(os.path.basename(l) for l in libs) or "none (static)"


def main():
    print()
    print("== thick mode: plexus-shim -> plexusd (static tiny delegate, no API) ==")
    daemon = memdaemon = floor = None
    try:
        if not thick_setup(bindir, sockdir):
            return 0
        subprocess.run(["ip", "netns", "add", netns], check=True)
        os.makedirs(memsockdir, mode=0o700)
        daemon, why = start_daemon(cnidir, sockdir, "plexusd")
        if not why and MEMFS:
            memdaemon, why = start_daemon(memcni, memsockdir, "plexusd-tmpfs")
        if why:
            print("thick: " + why)
            return 1
        # the floors run the tiny plugin as their one delegate
        os.environ["FLOOR_DELEGATE"] = bindir + "/tiny"
        floor = subprocess.Popen([FLOOR_GLIBC, "server", floorsock], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        if floor.poll() is not None or not os.path.exists(floorsock):
            print("thick: the floor server (build/bench/floor-glibc) did not start")
            return 1
        rss_start = kib(daemon.pid, "VmRSS")
        thin_conf, shim_conf = netconf("plexus"), netconf("plexus-shim")
        thin_mem, shim_mem = netconf("plexus", memcni), netconf("plexus-shim", memcni, memsock)
        conn = UnixHTTP(sock)
        rows = {k: [] for k in ("thin ADD", "thin DEL", "shim ADD", "shim DEL", "daemon ADD",
                                "daemon DEL", "fresh ADD", "fresh DEL", "tiny ADD", "tiny DEL",
                                "floor thin ADD", "floor thin DEL", "floor shim ADD",
                                "floor shim DEL", "thin DEL written back",
                                "shim DEL written back")}
        if memdaemon:
            rows.update({k: [] for k in ("thin mem ADD", "thin mem DEL", "shim mem ADD",
                                         "shim mem DEL")})
        for r in range(RUNS):
            rows["thin ADD"].append(run(PLEXUS, "ADD", thin_conf, "n%d" % r))
            rows["thin DEL"].append(run(PLEXUS, "DEL", thin_conf, "n%d" % r))
            rows["shim ADD"].append(run(SHIM, "ADD", shim_conf, "s%d" % r))
            rows["shim DEL"].append(run(SHIM, "DEL", shim_conf, "s%d" % r))
            if memdaemon:
                rows["thin mem ADD"].append(run(PLEXUS, "ADD", thin_mem, "m%d" % r))
                rows["thin mem DEL"].append(run(PLEXUS, "DEL", thin_mem, "m%d" % r))
                rows["shim mem ADD"].append(run(SHIM, "ADD", shim_mem, "k%d" % r))
                rows["shim mem DEL"].append(run(SHIM, "DEL", shim_mem, "k%d" % r))
            rows["daemon ADD"].append(post_cni(conn, "ADD", thin_conf, "d%d" % r))
            rows["daemon DEL"].append(post_cni(conn, "DEL", thin_conf, "d%d" % r))
            for verb in ("ADD", "DEL"):  # a connection per request, as the shim dials
                fresh = UnixHTTP(sock)
                rows["fresh " + verb].append(post_cni(fresh, verb, thin_conf, "f%d" % r))
                fresh.close()
            for binary, conf, cid, key in ((PLEXUS, thin_conf, "w%d" % r, "thin"),
                                           (SHIM, shim_conf, "v%d" % r, "shim")):
                run(binary, "ADD", conf, cid)
                os.sync()
                rows[key + " DEL written back"].append(run(binary, "DEL", conf, cid))
            for verb in ("ADD", "DEL"):
                rows["floor thin " + verb].append(run(FLOOR_MUSL, verb, thin_conf, "p%d" % r,
                                                      ["thin"]))
                rows["floor shim " + verb].append(run(FLOOR_MUSL, verb, shim_conf, "q%d" % r,
                                                      ["shim", floorsock]))
            rows["tiny ADD"].append(run(bindir + "/tiny", "ADD", DELEGATES[0], "t%d" % r))
            rows["tiny DEL"].append(run(bindir + "/tiny", "DEL", DELEGATES[0], "t%d" % r))
        conn.close()
        med = {k: statistics.median(v) for k, v in rows.items()}
        time.sleep(1.0)
        rss_warm = kib(daemon.pid, "VmRSS")

        # the burst: peak RSS from VmHWM (reset first; "5" resets it, proc(5)) and sampled VmRSS
        with open("/proc/%d/clear_refs" % daemon.pid, "w") as f:
            f.write("5")
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], kib(daemon.pid, "VmRSS"))
                except (OSError, KeyError):
                    return
                time.sleep(0.002)

        sampler = threading.Thread(target=sample)
        sampler.start()
        thick_add = burst(SHIM, shim_conf, "ADD", "b")
        thick_del = burst(SHIM, shim_conf, "DEL", "b")
        done.set()
        sampler.join()
        hwm = kib(daemon.pid, "VmHWM")
        thin_add = burst(PLEXUS, thin_conf, "ADD", "tb")
        thin_del = burst(PLEXUS, thin_conf, "DEL", "tb")
        rss_after = kib(daemon.pid, "VmRSS")
        threads = status_of(daemon.pid).get("Threads", "?")

        print("%d runs, medians; own time = the call minus the tiny delegate called directly, "
              "interleaved in one loop, then in brackets the lowest and highest of the same over "
              "five slices of the loop (the machine's noise); the cache on %s"
              % (RUNS, describe_fs(cnidir)))
        print()
        print("| measure | thin (bin/plexus) | thick (plexus-shim -> plexusd) | target | Multus |")
        print("|---|---|---|---|---|")
        print("| own time per ADD | %s | %s | thin <= 1.5 ms, thick <= 1.0 ms | "
              "thin 11-20 ms (measured here) |"
              % (own_ms(rows["thin ADD"], rows["tiny ADD"]),
                 own_ms(rows["shim ADD"], rows["tiny ADD"])))
        print("| own time per DEL | %s | %s | thin <= 1.0 ms | |"
              % (own_ms(rows["thin DEL"], rows["tiny DEL"]),
                 own_ms(rows["shim DEL"], rows["tiny DEL"])))
        print("| own time per DEL of a pod whose files were written back (sync(2) between its "
              "ADD and its DEL, as a pod's first 30 s do) | %s | %s | | |"
              % (own_ms(rows["thin DEL written back"], rows["tiny DEL"]),
                 own_ms(rows["shim DEL written back"], rows["tiny DEL"])))
        print("| the design's floor, own time per ADD; per DEL (bench/floor.c: the delegate run "
              "through pipes and nothing else; thick: a static shim handing the CNI variables and "
              "the netconf to a thread per connection that does the same) | %s; %s | %s; %s | | |"
              % (own_ms(rows["floor thin ADD"], rows["tiny ADD"]),
                 own_ms(rows["floor thin DEL"], rows["tiny DEL"]),
                 own_ms(rows["floor shim ADD"], rows["tiny ADD"]),
                 own_ms(rows["floor shim DEL"], rows["tiny DEL"])))
        if memdaemon:
            print("| own time per ADD; per DEL, the cache on tmpfs (no device I/O) | %s; %s "
                  "| %s; %s | | |"
                  % (own_ms(rows["thin mem ADD"], rows["tiny ADD"]),
                     own_ms(rows["thin mem DEL"], rows["tiny DEL"]),
                     own_ms(rows["shim mem ADD"], rows["tiny ADD"]),
                     own_ms(rows["shim mem DEL"], rows["tiny DEL"])))
        else:
            print("| own time per ADD / DEL, the cache on tmpfs | no tmpfs at /dev/shm or /run "
                  "| | | |")
        sync_file, sync_dir = durable_write_ms(work + "/fsync")
        print("| what an ADD's durable plan waits for on the cache's filesystem (fsync of a new "
              "600-byte file; of its directory), measured beside | %.2f ms; %.2f ms | the same | | |"
              % (sync_file, sync_dir))
        print("| ADD total / tiny ADD alone | %.2f / %.2f ms | %.2f / %.2f ms | | |"
              % (med["thin ADD"], med["tiny ADD"], med["shim ADD"], med["tiny ADD"]))
        print("| daemon alone per ADD / DEL (POST /cni from here, no shim exec), own: kept-alive "
              "connection; a new one per request | | %.2f / %.2f ms; %.2f / %.2f ms | | |"
              % (med["daemon ADD"] - med["tiny ADD"], med["daemon DEL"] - med["tiny DEL"],
                 med["fresh ADD"] - med["tiny ADD"], med["fresh DEL"] - med["tiny DEL"]))
        print("| %d-pod ADD burst, wall (failures) | %.0f ms (%d) | %.0f ms (%d) | | |"
              % (BURST, thin_add[0], thin_add[1], thick_add[0], thick_add[1]))
        print("| %d-pod DEL burst, wall (failures) | %.0f ms (%d) | %.0f ms (%d) | | |"
              % (BURST, thin_del[0], thin_del[1], thick_del[0], thick_del[1]))
        print("| daemon RSS idle: after start / after %d calls | | %.1f / %.1f MiB | <= 20 MiB "
              "| 50-60 MiB |" % (8 * RUNS, rss_start / 1024.0, rss_warm / 1024.0))
        print("| daemon peak RSS in the %d-pod burst (VmHWM / sampled), delegates excluded | | "
              "%.1f / %.1f MiB | <= 40 MiB | OOM-killed at its 50 MiB limit (Multus #1346) |"
              % (BURST, hwm / 1024.0, peak[0] / 1024.0))
        print("| daemon RSS after the bursts; threads | | %.1f MiB; %s | | |"
              % (rss_after / 1024.0, threads))
        print("| shim binary size; libraries | | %.0f KiB; %s | static (no loader) | |"
              % (os.path.getsize(SHIM) / 1024.0, deps_of(SHIM)))
        for name, res in (("thick ADD", thick_add), ("thick DEL", thick_del),
                          ("thin ADD", thin_add), ("thin DEL", thin_del)):
            if res[1]:
                print("%s burst: first failure: %s" % (name, res[2]))
        return 0
    except RuntimeError as e:
        print("thick: %s" % e)
        for name, d in (("plexusd", daemon), ("plexusd-tmpfs", memdaemon)):
            if d:
                print("%s's log:\n%s" % (name, log_tail(name)))
        return 1
    finally:
        for d in (daemon, memdaemon, floor):
            if d:
                stop(d)
        subprocess.run(["ip", "netns", "del", netns], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(memwork, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
