#!/usr/bin/python3
# test/stand-ins/apiserver.py: a TEST STAND-IN for kube-apiserver, not a Kubernetes API server.
# Speaks the real wire format for what plexus uses (pods, pods/status, NADs, events; Status
# error bodies; RFC 7386 merge patch) over HTTPS with its own CA, with fault injection and a
# request log so tests can count requests and connections. Python stdlib + the openssl CLI.
#
# Usage: apiserver.py --dir DIR [--fixture FILE] [--parent-pid PID] [--max-lifetime S]
#   DIR gets the certificates (generated when missing): ca.crt, server.{crt,key},
#   client.{crt,key} (CN=plexus-client), other-ca.crt (a CA the server does not use), and
#   requests.log (one JSON object per API request: seq, conn, method, path, status, user).
#   Once listening it prints one line to stdout: "listening https://127.0.0.1:PORT".
#   It binds 127.0.0.1 only, and exits when the parent process goes away or after
#   --max-lifetime seconds (default 600).
#
# Fixture (JSON): {"tokens": {"<token>": "<user>"}, "forbidden": ["<user>"],
#                  "pods": [<Pod>...], "nads": [<NetworkAttachmentDefinition>...],
#                  "resourceclaims": [<ResourceClaim>...], "resourceslices": [<ResourceSlice>...]}
# Dynamic Resource Allocation (resource.k8s.io/v1, read only): GET, LIST and WATCH of
# namespaced ResourceClaims (also across namespaces) and cluster-scoped ResourceSlices, these
# with fieldSelector spec.nodeName, spec.driver and spec.pool.name (other fields are refused as
# kube-apiserver does); "no_dra": true in the fixture makes the group absent (404). Log entries
# of collection GETs also carry "query" (the raw query string).
# Client certificates signed by the CA authenticate as their CN.
#
# Control endpoints (no authentication, not logged; tests only):
#   POST   /_standin/faults   {"latency_ms": N, "status": 503, "count": N, "retry_after": S,
#                              "drop": N}  -> the next N API requests get that status (a
#                              Kubernetes Status body), the next "drop" ones are answered by a
#                              connection reset; latency applies until changed. {} clears.
#                              "rules": [...] scopes faults to one kind of request: each rule
#                              is "METHOD RESOURCE STATUS xN" (e.g. "PATCH pods/status 409 x2";
#                              STATUS "drop" resets the connection; METHOD or RESOURCE "*"
#                              matches any) or the object {"method", "resource", "status",
#                              "count", "retry_after"}. RESOURCE is the API resource the path
#                              names, with its subresource: pods, pods/status, events,
#                              network-attachment-definitions; a RESOURCE starting with "/" is
#                              the request's path instead (e.g. "/api/v1/pods": the cluster-wide
#                              LIST and WATCH of pods, not a GET of one). The first rule that
#                              matches and has a count left answers; the unscoped fields apply
#                              after. An object rule with "latency_ms" and no "status" holds the
#                              request that long and then serves it as usual (e.g. a slow POST
#                              events).
#   POST   /_standin/objects  a Pod, NAD, ResourceClaim or ResourceSlice object (or a list):
#                              created or replaced
#   GET    /_standin/objects/{pods|network-attachment-definitions|events}/NS[/NAME]
#   DELETE /_standin/objects/{pods|network-attachment-definitions}/NS/NAME
#   GET    /_standin/requests the request log as a JSON list;  POST /_standin/reset-log
#   GET|POST /_standin/watch   watch streams and their faults (see "LIST and WATCH" below)
# Collections are listed and watched as kube-apiserver does (see "LIST and WATCH" below).
import argparse
import base64
import collections
import copy
import http.server
import itertools
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

GROUP = "k8s.cni.cncf.io"
NAD_RES = "network-attachment-definitions"


def gen_certs(d):
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an
    unrelated CA for wrong-CA tests. ECDSA P-256: fast to generate."""
    if os.path.exists(os.path.join(d, "client.crt")):
        return

    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2", "-subj",
            "/CN=stand-in " + ca)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    for name, subj in (("server", "/CN=stand-in apiserver"),
                       ("client", "/O=system:nodes/CN=plexus-client")):
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj)
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt")


def status_body(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def parse_rule(r):
    """A fault rule from its text form "METHOD RESOURCE STATUS xN" or its object form."""
    if isinstance(r, str):
        m = re.fullmatch(r"\s*(\S+)\s+(\S+)\s+(\d+|drop)(?:\s+x(\d+))?\s*", r)
        if not m:
            raise ValueError("bad fault rule %r (want METHOD RESOURCE STATUS xN)" % r)
        method, res, status, count = m.groups()
        r = {"method": method, "resource": res, "status": status, "count": int(count or 1)}
    delay_only = "latency_ms" in r and "status" not in r
    rule = {"method": str(r.get("method", "*")).upper(), "resource": r.get("resource", "*"),
            "status": None if delay_only else r.get("status", 503),
            "count": int(r.get("count", 1)), "retry_after": r.get("retry_after"),
            "latency_ms": int(r.get("latency_ms", 0))}
    if rule["status"] not in ("drop", None):
        rule["status"] = int(rule["status"])
    return rule


def resource_of(path):
    """The resource (with subresource) an API path names: pods, pods/status, events, ..."""
    m = re.fullmatch(r"/api/v1/namespaces/[^/]+/([^/]+)(?:/[^/]+)?(?:/([^/]+))?", path)
    if not m:
        m = re.fullmatch(r"/apis/[^/]+/[^/]+/namespaces/[^/]+/([^/]+)(?:/[^/]+)?(?:/([^/]+))?",
                         path)
    if not m:
        c = re.fullmatch(r"/api/v1/([^/]+)|/apis/[^/]+/[^/]+/([^/]+)", path)
        return (c.group(1) or c.group(2)) if c else path
    return m.group(1) + ("/" + m.group(2) if m.group(2) else "")


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class State:
    def __init__(self, fixture):
        self.lock = threading.RLock()  # replies are logged while it is held
        self.tokens = fixture.get("tokens", {})
        self.forbidden = set(fixture.get("forbidden", []))
        self.objects = {res: {} for res in LISTABLE}
        self.no_dra = bool(fixture.get("no_dra"))  # a cluster without resource.k8s.io/v1
        self.rv = itertools.count(1000)
        self.watch = WatchHub(self.lock, fixture.get("watch", {}))
        for p in fixture.get("pods", []):
            self.put("pods", p)
        for n in fixture.get("nads", []):
            self.put(NAD_RES, n)
        dra_load_fixture(self, fixture)
        self.faults = {}
        self.log = []
        self.seq = itertools.count(1)

    def put(self, res, obj):
        md = obj.setdefault("metadata", {})
        if res not in CLUSTER_SCOPED:
            md.setdefault("namespace", "default")
        md.setdefault("uid", str(uuid.uuid4()))
        md["resourceVersion"] = str(next(self.rv))
        key = (md.get("namespace", ""), md["name"])
        old = self.objects[res].get(key)
        self.objects[res][key] = obj
        self.watch.record(res, "MODIFIED" if old else "ADDED", obj, old)

    def remove(self, res, key):
        """Deletes an object; like etcd, the deletion gets a resourceVersion of its own."""
        old = self.objects[res].pop(key)
        gone = copy.deepcopy(old)
        gone["metadata"]["resourceVersion"] = str(next(self.rv))
        self.watch.record(res, "DELETED", gone, old)


# -- LIST and WATCH, as kube-apiserver serves them ------------------------------------------------
# Collections: GET /api/v1/pods and /api/v1/namespaces/NS/pods, the same for NADs under
# /apis/k8s.cni.cncf.io/v1 (and events). Query: resourceVersion, resourceVersionMatch, limit,
# continue, fieldSelector, labelSelector; watch=1|true, allowWatchBookmarks, timeoutSeconds.
# Every change gets the next global resourceVersion (a deletion too, as in etcd) and goes into a
# bounded history (fixture "watch": {"history": N}); a watch from a resourceVersion older than
# the history gets an ERROR event with a 410 Expired Status, an expired continue token a 410
# Status. Discovery (/api, /apis, /api/v1, /apis/GROUP/VERSION, /version) lets kubectl find the
# resources. Control (tests only):
#   GET  /_standin/watch   {"streams": open watch streams, "watches": watches served,
#                           "resourceVersion": newest, "compacted": oldest kept - 1}
#   POST /_standin/watch   {"drop": true}: every open stream is reset (an API server restart);
#                          {"stall": true}: every open stream goes silent, no events nor
#                          bookmarks, until it is dropped or its client leaves (new streams are
#                          served normally); {"compact": true}: the history is emptied, so older
#                          resourceVersions and continue tokens get 410; "bookmark_ms": N (the
#                          bookmark interval, default 1000), "history": N, "timeout_s": N (the
#                          stream length when timeoutSeconds is not given, default 300).

# resource -> (group, version, kind, singular name, short names); a new resource is one line.
LISTABLE = {
    "pods": ("", "v1", "Pod", "pod", ["po"]),
    "events": ("", "v1", "Event", "event", ["ev"]),
    NAD_RES: (GROUP, "v1", "NetworkAttachmentDefinition", "network-attachment-definition",
              ["net-attach-def"]),
    "resourceclaims": ("resource.k8s.io", "v1", "ResourceClaim", "resourceclaim", []),
    "resourceslices": ("resource.k8s.io", "v1", "ResourceSlice", "resourceslice", []),
}
CLUSTER_SCOPED = ("resourceslices",)
# Field selectors each resource supports (every resource has the metadata ones).
FIELD_LABELS = {"pods": ("spec.nodeName", "status.phase"),
                "resourceslices": ("spec.nodeName", "spec.driver", "spec.pool.name")}
STALL_MAX_S = 300
GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # what Go's strconv.ParseBool takes as true


class WatchHub:
    """The event history every watch reads, bounded; list snapshots for continue tokens.
    Guarded by the state lock; cond wakes the streams."""

    def __init__(self, lock, opts):
        self.cond = threading.Condition(lock)
        self.history = collections.deque()  # (rv, type, resource, object, previous object)
        self.limit = int(opts.get("history", 1000))
        self.bookmark_ms = int(opts.get("bookmark_ms", 1000))
        self.timeout_s = float(opts.get("timeout_s", 300))
        self.compacted = 0  # changes at or below this resourceVersion are forgotten
        self.last = 0  # the newest resourceVersion
        self.drops = self.stalls = 0  # generations: streams older than a change obey it
        self.streams = self.watches = 0
        self.snapshots = collections.OrderedDict()  # id -> (rv, items) for continue tokens
        self.snap_ids = itertools.count(1)

    def record(self, res, typ, obj, old):
        rv = int(obj["metadata"]["resourceVersion"])
        with self.cond:
            self.last = max(self.last, rv)
            self.history.append((rv, typ, res, obj, old))
            while len(self.history) > self.limit:
                self.compacted = self.history.popleft()[0]
            self.cond.notify_all()

    def compact(self):
        self.history.clear()
        self.compacted = self.last
        self.snapshots.clear()

    def snapshot(self, rv, items):
        sid = next(self.snap_ids)
        self.snapshots[sid] = (rv, items)
        while len(self.snapshots) > 64:
            self.snapshots.popitem(last=False)
        return sid

    def stats(self):
        return {"streams": self.streams, "watches": self.watches,
                "resourceVersion": self.last, "compacted": self.compacted,
                "bookmark_ms": self.bookmark_ms, "history": self.limit}


def parse_selector(text, fields, res):
    """The requirements (key, op, value) of a selector: k=v, k==v, k!=v; labels also k, !k."""
    reqs = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", part)
        if m:
            key, op, val = m.groups()
            op = "!=" if op == "!=" else "="
        elif not fields and re.fullmatch(r"!?[A-Za-z0-9./_-]+", part):
            key, op, val = part.lstrip("!"), "!" if part[0] == "!" else "exists", None
        else:
            raise ValueError('unable to parse requirement: "%s"' % part)
        if fields and key not in ("metadata.name", "metadata.namespace") + \
                FIELD_LABELS.get(res, ()):
            raise ValueError('"%s" is not a known field selector: only "metadata.name", '
                             '"metadata.namespace"%s' % (key, "".join(
                                 ', "%s"' % f for f in FIELD_LABELS.get(res, ()))))
        reqs.append((key, op, val))
    return reqs


def field_value(obj, path):
    v = obj
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return "" if v is None else str(v)


def selected(obj, ns, fsel, lsel):
    if obj is None:
        return False
    md = obj.get("metadata") or {}
    if ns and md.get("namespace") != ns:
        return False
    for key, op, val in fsel:
        if (field_value(obj, key) == val) != (op == "="):
            return False
    labels = md.get("labels") or {}
    for key, op, val in lsel:
        ok = {"exists": key in labels, "!": key not in labels, "=": labels.get(key) == val,
              "!=": labels.get(key) != val}[op]
        if not ok:
            return False
    return True


def watch_event(typ, obj, old, ns, fsel, lsel):
    """How a change looks through a selector: an object that starts matching is ADDED, one
    that stops matching is DELETED (kube-apiserver's watch cache does the same)."""
    now, before = selected(obj, ns, fsel, lsel), selected(old, ns, fsel, lsel)
    if typ == "DELETED":
        return typ if before else None
    if now:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


def api_version(res):
    group, version = LISTABLE[res][:2]
    return group + "/" + version if group else version


class ListWatch:
    """Handler mixin: collection GETs (LIST and WATCH) and discovery."""

    def list_watch_or_discovery(self, path, user):
        """Serves path and returns True when it is discovery or a listable collection."""
        if self.discovery(path):
            return True
        m = re.fullmatch(r"/api/v1(?:/namespaces/([^/]+))?/([^/]+)", path)
        g = re.fullmatch(r"/apis/([^/]+)/([^/]+)(?:/namespaces/([^/]+))?/([^/]+)", path)
        if m:
            ns, res, group = m.group(1), m.group(2), ""
        elif g:
            ns, res, group = g.group(3), g.group(4), g.group(1)
        else:
            return False
        if res not in LISTABLE or LISTABLE[res][0] != group:
            return False
        st = self.server.state
        query = self.path.partition("?")[2]
        if self.pending is not None:
            self.pending["query"] = query
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        watch = q.get("watch") in GO_TRUE
        if user in st.forbidden:
            scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
            kind_txt = res if not group else res + "." + group
            self.fail(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in '
                      'API group "%s" %s' % (kind_txt, user, "watch" if watch else "list", res,
                                             group, scope), {"group": group, "kind": res})
            return True
        try:
            fsel = parse_selector(q.get("fieldSelector"), True, res)
            lsel = parse_selector(q.get("labelSelector"), False, res)
            limit = int(q.get("limit") or 0)
            timeout = float(q.get("timeoutSeconds") or 0)
            rv = q.get("resourceVersion", "")
            if rv not in ("", "0"):
                int(rv)
        except ValueError as e:
            self.fail(400, "BadRequest", str(e))
            return True
        if watch:
            self.serve_watch(res, ns, rv, timeout, q.get("allowWatchBookmarks") in GO_TRUE,
                             fsel, lsel)
        else:
            self.serve_list(res, ns, rv, q, limit, fsel, lsel)
        return True

    def discovery(self, path):
        groups = {}
        for res, (group, version, kind, singular, short) in LISTABLE.items():
            if group == DRA_GROUP and self.server.state.no_dra:
                continue
            groups.setdefault((group, version), []).append(
                {"name": res, "singularName": singular,
                 "namespaced": res not in CLUSTER_SCOPED, "kind": kind,
                 "shortNames": short,
                 "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        if path == "/version":
            self.reply(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-stand-in",
                             "platform": "linux/amd64"})
        elif path == "/api":
            self.reply(200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [
                                 {"clientCIDR": "0.0.0.0/0",
                                  "serverAddress": "%s:%d" % self.server.server_address}]})
        elif path == "/apis":
            gl = [{"name": g, "versions": [{"groupVersion": g + "/" + v, "version": v}],
                   "preferredVersion": {"groupVersion": g + "/" + v, "version": v}}
                  for (g, v) in groups if g]
            self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": gl})
        else:
            m = re.fullmatch(r"/api/(v1)|/apis/([^/]+)/([^/]+)", path)
            key = ("", "v1") if m and m.group(1) else (m.group(2), m.group(3)) if m else None
            if key not in groups:
                return False
            self.reply(200, {"kind": "APIResourceList", "apiVersion": "v1",
                             "groupVersion": "/".join(k for k in key if k),
                             "resources": groups[key]})
        return True

    def serve_list(self, res, ns, rv, q, limit, fsel, lsel):
        st = self.server.state
        hub = st.watch
        cont = q.get("continue")
        start = 0
        with st.lock:
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont, validate=True))
                    sid, start, list_rv = int(tok["id"]), int(tok["start"]), int(tok["rv"])
                except (ValueError, KeyError, TypeError):
                    return self.fail(400, "BadRequest", "continue key is not valid")
                snap = hub.snapshots.get(sid)
                if snap is None or list_rv <= hub.compacted:
                    return self.fail(410, "Expired", "The provided continue parameter is too "
                                     "old to display a consistent list result. You can start "
                                     "a new list without the continue parameter.")
                items = snap[1]
            else:
                list_rv = hub.last
                if q.get("resourceVersionMatch") == "Exact" and rv not in ("", "0") \
                        and int(rv) != hub.last:
                    if int(rv) <= hub.compacted:
                        return self.fail(410, "Expired", "too old resource version: %s (%d)"
                                         % (rv, hub.compacted + 1))
                    return self.fail(400, "BadRequest", "stand-in: resourceVersionMatch=Exact "
                                     "serves only the newest resourceVersion")
                items = sorted((o for o in st.objects[res].values()
                                if selected(o, ns, fsel, lsel)),
                               key=lambda o: (o["metadata"].get("namespace", ""),
                                              o["metadata"]["name"]))
                sid = None
            end = start + limit if limit > 0 else len(items)
            meta = {"resourceVersion": str(list_rv)}
            if end < len(items):
                if sid is None:
                    sid = hub.snapshot(list_rv, items)
                meta["continue"] = base64.b64encode(json.dumps(
                    {"id": sid, "start": end, "rv": list_rv}).encode()).decode()
                meta["remainingItemCount"] = len(items) - end
            page = items[start:end]
        return self.reply(200, {"kind": LISTABLE[res][2] + "List", "apiVersion": api_version(res),
                                "metadata": meta, "items": page})

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_event(self, typ, obj):
        self.send_chunk(json.dumps({"type": typ, "object": obj}).encode() + b"\n")

    def serve_watch(self, res, ns, rv, timeout, bookmarks, fsel, lsel):
        st = self.server.state
        hub = st.watch
        self.record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with st.lock:
            hub.watches += 1
            hub.streams += 1
            drops, stalls = hub.drops, hub.stalls
            if rv in ("", "0"):  # the current state as ADDED events first
                pending = [("ADDED", o) for _, o in sorted(st.objects[res].items())
                           if selected(o, ns, fsel, lsel)]
                last = hub.last
            else:
                pending, last = [], int(rv)
        end = time.monotonic() + (timeout if timeout > 0 else hub.timeout_s)
        next_bookmark = time.monotonic() + hub.bookmark_ms / 1000.0
        silent = False
        try:
            while True:
                for typ, obj in pending:
                    self.send_event(typ, obj)
                if pending and pending[-1][0] == "ERROR":
                    break
                pending = []
                with st.lock:
                    while not pending:
                        now = time.monotonic()
                        if hub.drops != drops:
                            self.reset_connection()
                            return
                        if hub.stalls != stalls:
                            silent = True
                            break
                        if now >= end:
                            break
                        if last < hub.compacted:
                            pending = [("ERROR", status_body(
                                410, "Expired", "too old resource version: %d (%d)"
                                % (last, hub.compacted + 1)))]
                            break
                        for erv, typ, r, obj, old in hub.history:
                            if erv > last and r == res:
                                seen = watch_event(typ, obj, old, ns, fsel, lsel)
                                if seen:
                                    pending.append((seen, obj))
                        last = max(last, hub.last)
                        if pending:
                            break
                        if bookmarks and now >= next_bookmark:
                            group, version, kind = LISTABLE[res][:3]
                            pending = [("BOOKMARK", {"kind": kind, "apiVersion": api_version(res),
                                                     "metadata": {"resourceVersion": str(last)}})]
                            next_bookmark = now + hub.bookmark_ms / 1000.0
                            break
                        wake = min(end, next_bookmark) if bookmarks else end
                        hub.cond.wait(max(0.0, wake - now))
                    if silent:
                        hub.streams -= 1
                        self.stall(drops)
                        return
                if not pending:
                    break
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            if not silent:
                with st.lock:
                    hub.streams -= 1
                    hub.cond.notify_all()

    def stall(self, drops):
        """A silent stream: no event, no bookmark, no end, until a drop or STALL_MAX_S."""
        st = self.server.state
        end = time.monotonic() + STALL_MAX_S
        while time.monotonic() < end and st.watch.drops == drops:
            st.watch.cond.wait(1.0)
        self.reset_connection()

    def watch_control(self, method, doc):
        hub = self.server.state.watch
        if method == "POST":
            doc = doc or {}
            if doc.get("drop"):
                hub.drops += 1
            if doc.get("stall"):
                hub.stalls += 1
            if doc.get("compact"):
                hub.compact()
            for k, attr, conv in (("bookmark_ms", "bookmark_ms", int), ("history", "limit", int),
                                  ("timeout_s", "timeout_s", float)):
                if k in doc:
                    setattr(hub, attr, conv(doc[k]))
            hub.cond.notify_all()
        return self.reply(200, hub.stats())


class Handler(ListWatch, http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "plexus-apiserver-stand-in"
    timeout = 60  # idle keep-alive connections end, so their threads do too

    def log_message(self, fmt, *args):
        pass

    # -- plumbing -----------------------------------------------------------------------
    def setup(self):
        super().setup()
        # as kube-apiserver (Go) does: without it, Nagle on our header and body writes meets
        # the client's delayed ACK and every reply waits 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = next(self.server.conn_ids)

    def record(self, code):
        """Logs the pending API request before its reply leaves, so that a test reading the
        log right after getting the reply always finds it."""
        entry, self.pending = self.pending, None
        if entry is None:
            return
        entry["status"] = code
        st = self.server.state
        with st.lock:
            st.log.append(entry)
            with open(self.server.log_path, "a") as lf:
                lf.write(json.dumps(entry) + "\n")

    def reply(self, code, obj, extra=None):
        self.record(code)
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def fail(self, code, reason, message, details=None, extra=None):
        self.reply(code, status_body(code, reason, message, details), extra)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > (3 << 20):
            raise ValueError("request entity too large")
        return self.rfile.read(n) if n else b""

    def user(self):
        st = self.server.state
        cert = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return v
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return st.tokens.get(auth[7:])
        return None

    def reset_connection(self):
        # SO_LINGER 0: close with a TCP RST, which the client sees as "connection reset".
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass
        self.close_connection = True

    # -- dispatch -----------------------------------------------------------------------
    def handle_one_request(self):
        self.pending = None
        super().handle_one_request()

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        path = self.path.split("?", 1)[0]
        if path.startswith("/_standin/"):
            return self.control(method, path)
        st = self.server.state
        with st.lock:
            f = st.faults
            latency = f.get("latency_ms", 0)
            drop, burst = False, None
            res = resource_of(path)
            for rule in f.get("rules", ()):
                if rule["count"] > 0 and rule["method"] in ("*", method) and \
                        rule["resource"] in ("*", res, path):
                    rule["count"] -= 1
                    if rule["status"] is None:
                        latency = rule["latency_ms"]
                    elif rule["status"] == "drop":
                        drop = True
                    else:
                        burst = (rule["status"], rule["retry_after"])
                    break
            if not drop and not burst:
                drop = f.get("drop", 0) > 0
                if drop:
                    f["drop"] -= 1
            if not drop and not burst and f.get("count", 0) > 0:
                f["count"] -= 1
                burst = (f.get("status", 503), f.get("retry_after"))
            seq = next(st.seq)
        try:
            body = self.body()
        except ValueError:
            body, burst = b"", (413, None)
        if latency:
            time.sleep(latency / 1000.0)
        user = None if (drop or burst) else self.user()
        self.pending = {"seq": seq, "conn": self.conn_id, "method": method, "path": path,
                        "status": 0, "user": user}
        if drop:
            self.record(0)
            self.reset_connection()
        elif burst:
            code, retry_after = burst
            reasons = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError",
                       503: "ServiceUnavailable", 413: "RequestEntityTooLarge"}
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else None
            self.fail(code, reasons.get(code, "InternalError"),
                      "injected fault: %d" % code, extra=extra)
        else:
            self.api(method, path, body, user)

    def api(self, method, path, body, user):
        st = self.server.state
        if user is None:
            return self.fail(401, "Unauthorized", "Unauthorized")
        if path.startswith("/apis/%s/" % DRA_GROUP):
            if st.no_dra:
                return self.fail(404, "NotFound", "the server could not find the requested "
                                 "resource")
            if method == "GET" and self.list_watch_or_discovery(path, user):
                return None
            return dra_api(self, method, path, user)
        if method == "GET" and self.list_watch_or_discovery(path, user):
            return None
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/(pods|events)(?:/([^/]+))?(/status)?", path)
        g = re.fullmatch(r"/apis/k8s\.cni\.cncf\.io/v1/namespaces/([^/]+)/"
                         r"network-attachment-definitions(?:/([^/]+))?", path)
        if m:
            ns, res, name, sub = m.groups()
        elif g:
            (ns, name), res, sub = g.groups(), NAD_RES, None
        elif path in ("/healthz", "/readyz", "/livez"):
            return self.reply(200, "ok")
        else:
            return self.fail(404, "NotFound", "the server could not find the requested resource")
        verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch",
                "PUT": "update", "DELETE": "delete"}[method]
        group = GROUP if res == NAD_RES else ""
        resource = res + (sub or "")
        kind_txt = res if res != NAD_RES else NAD_RES + "." + GROUP
        if user in st.forbidden:
            what = ('%s "%s" is forbidden' % (kind_txt, name)) if name else \
                ("%s is forbidden" % kind_txt)
            return self.fail(403, "Forbidden",
                             '%s: User "%s" cannot %s resource "%s" in API group "%s" in the '
                             'namespace "%s"' % (what, user, verb, resource, group, ns),
                             {"name": name or "", "group": group, "kind": res})
        if res == "events" and method == "POST" and not name:
            return self.create_event(ns, body)
        if not name:  # GET of a collection is ListWatch's
            return self.fail(405, "MethodNotAllowed", "the server does not allow this method")
        key = (ns, name)
        with st.lock:
            obj = st.objects[res].get(key)
            if obj is None:
                details = {"name": name, "kind": res}
                if group:
                    details["group"] = group
                return self.fail(404, "NotFound", '%s "%s" not found' % (kind_txt, name),
                                 details)
            if method == "GET":
                return self.reply(200, obj)
            if method == "DELETE":
                st.remove(res, key)
                return self.reply(200, status_body(200, "", "")
                                  | {"status": "Success", "details": {"name": name,
                                                                      "kind": res}})
            if res != "pods":
                return self.fail(405, "MethodNotAllowed", "the server does not allow this method")
            try:
                doc = json.loads(body or b"null")
            except ValueError as e:
                return self.fail(400, "BadRequest", "error decoding patch: %s" % e)
            if method == "PATCH":
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if ctype != "application/merge-patch+json":
                    return self.fail(415, "UnsupportedMediaType",
                                     'the body of the request was in an unknown format - '
                                     'accepted media types include: '
                                     'application/merge-patch+json')
                if not isinstance(doc, dict):
                    return self.fail(400, "BadRequest", "patch must be a JSON object")
                rv = (doc.get("metadata") or {}).get("resourceVersion")
                if rv is not None and rv != obj["metadata"]["resourceVersion"]:
                    return self.conflict(name)
                # The status subresource keeps the spec; the main resource keeps the status.
                keep = "spec" if sub else "status"
                new = merge_patch(obj, doc)
                new[keep] = copy.deepcopy(obj.get(keep))
                if new[keep] is None:
                    del new[keep]
            else:  # PUT: a full replace, with the optimistic-concurrency check
                if not isinstance(doc, dict) or doc.get("metadata", {}).get(
                        "resourceVersion") != obj["metadata"]["resourceVersion"]:
                    return self.conflict(name)
                new = doc
            for k in ("name", "namespace", "uid"):
                new.setdefault("metadata", {})[k] = obj["metadata"][k]
            st.put("pods", new)
            return self.reply(200, new)

    def conflict(self, name):
        return self.fail(409, "Conflict",
                         'Operation cannot be fulfilled on pods "%s": the object has been '
                         'modified; please apply your changes to the latest version and try '
                         'again' % name, {"name": name, "kind": "pods"})

    def create_event(self, ns, body):
        st = self.server.state
        try:
            ev = json.loads(body)
        except ValueError as e:
            return self.fail(400, "BadRequest", "error decoding event: %s" % e)
        md = ev.setdefault("metadata", {})
        if not md.get("name"):
            md["name"] = md.get("generateName", "event.") + uuid.uuid4().hex[:5]
        md["namespace"] = ns
        with st.lock:
            st.put("events", ev)
        return self.reply(201, ev)

    # -- control ------------------------------------------------------------------------
    def control(self, method, path):
        st = self.server.state
        try:
            body = self.body()
            doc = json.loads(body) if body else None
        except ValueError as e:
            return self.fail(400, "BadRequest", str(e))
        parts = path.split("/")[2:]
        with st.lock:
            if parts == ["watch"]:
                return self.watch_control(method, doc)
            if parts == ["faults"] and method == "POST":
                try:
                    faults = dict(doc or {})
                    faults["rules"] = [parse_rule(r) for r in faults.get("rules", ())]
                except (TypeError, ValueError) as e:
                    return self.fail(400, "BadRequest", str(e))
                st.faults = faults
                return self.reply(200, st.faults)
            if parts == ["requests"] and method == "GET":
                return self.reply(200, st.log)
            if parts == ["reset-log"] and method == "POST":
                st.log = []
                open(self.server.log_path, "w").close()
                return self.reply(200, {})
            if parts == ["objects"] and method == "POST":
                for obj in doc if isinstance(doc, list) else [doc]:
                    if obj.get("kind") in DRA_KINDS:
                        dra_put(st, obj)
                        continue
                    res = "pods" if obj.get("kind") == "Pod" else NAD_RES
                    st.put(res, obj)
                return self.reply(200, {})
            if len(parts) in (3, 4) and parts[0] == "objects" and parts[1] in st.objects:
                res, ns = parts[1], parts[2]
                if len(parts) == 3 and method == "GET":
                    return self.reply(200, [o for (n, _), o in st.objects[res].items()
                                            if n == ns])
                if len(parts) == 4:
                    obj = st.objects[res].get((ns, parts[3]))
                    if method == "GET" and obj is not None:
                        return self.reply(200, obj)
                    if method == "DELETE" and obj is not None:
                        st.remove(res, (ns, parts[3]))
                        return self.reply(200, {})
                    return self.fail(404, "NotFound", "no such object")
        return self.fail(404, "NotFound", "no such control endpoint")


# -- Dynamic Resource Allocation (resource.k8s.io/v1) ----------------------------------------
# Collections (LIST and WATCH, field selectors spec.nodeName, spec.driver and spec.pool.name of
# ResourceSlices) are served with the others above; here: GET of one object. Fixture "no_dra":
# true makes the group absent (404, not in discovery), as on a cluster older than 1.34.
DRA_GROUP = "resource.k8s.io"
DRA_KINDS = {"ResourceClaim": "resourceclaims", "ResourceSlice": "resourceslices"}


def dra_put(st, obj):
    st.put(DRA_KINDS[obj["kind"]], obj)


def dra_load_fixture(st, fixture):
    for kind, res in DRA_KINDS.items():
        for o in fixture.get(res, []):
            o.setdefault("kind", kind)
            dra_put(st, o)


def dra_api(h, method, path, user):
    """GET of a resource.k8s.io/v1 ResourceClaim (namespaced) or ResourceSlice (cluster-scoped)."""
    st = h.server.state
    c = re.fullmatch(r"/apis/resource\.k8s\.io/v1/namespaces/([^/]+)/resourceclaims/([^/]+)",
                     path)
    s = re.fullmatch(r"/apis/resource\.k8s\.io/v1/resourceslices/([^/]+)", path)
    if not c and not s:
        return h.fail(404, "NotFound", "the server could not find the requested resource")
    ns, name = c.groups() if c else ("", s.group(1))
    res = "resourceclaims" if c else "resourceslices"
    if method != "GET":
        return h.fail(405, "MethodNotAllowed", "the server does not allow this method")
    if user in st.forbidden:
        scope = ' in the namespace "%s"' % ns if ns else " at the cluster scope"
        return h.fail(403, "Forbidden", '%s.%s "%s" is forbidden: User "%s" cannot get resource '
                      '"%s" in API group "%s"%s' % (res, DRA_GROUP, name, user, res, DRA_GROUP,
                                                    scope),
                      {"name": name, "group": DRA_GROUP, "kind": res})
    with st.lock:
        obj = st.objects[res].get((ns, name))
        if obj is None:
            return h.fail(404, "NotFound", '%s.%s "%s" not found' % (res, DRA_GROUP, name),
                          {"name": name, "group": DRA_GROUP, "kind": res})
        return h.reply(200, obj)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ctx, state, log_path):
        self.ctx = ctx
        self.state = state
        self.log_path = log_path
        self.conn_ids = itertools.count(1)
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's thread, not in accept().
        try:
            request.settimeout(30)
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def watchdog(parent, deadline):
    while True:
        if time.monotonic() > deadline or (parent and os.getppid() != parent):
            os._exit(0)
        if parent:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description="kube-apiserver TEST STAND-IN")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--fixture")
    ap.add_argument("--parent-pid", type=int, default=os.getppid())
    ap.add_argument("--max-lifetime", type=float, default=600)
    a = ap.parse_args()
    threading.Thread(target=watchdog, args=(a.parent_pid, time.monotonic() + a.max_lifetime),
                     daemon=True).start()
    gen_certs(a.dir)
    fixture = {}
    if a.fixture:
        with open(a.fixture) as f:
            fixture = json.load(f)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.dir, "server.crt"), os.path.join(a.dir, "server.key"))
    ctx.load_verify_locations(os.path.join(a.dir, "ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    log_path = os.path.join(a.dir, "requests.log")
    open(log_path, "w").close()
    srv = Server(ctx, State(fixture), log_path)
    print("listening https://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
