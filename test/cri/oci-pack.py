#!/usr/bin/python3
# test/cri/oci-pack.py: packs one static program as a single-layer OCI image layout tar, the
# form `ctr images import` reads (OCI image-spec image-layout.md, manifest.md, config.md).
# Usage: oci-pack.py PROGRAM IMAGE-NAME OUT.tar
#   The program becomes /<its basename> and the entrypoint. The index names the image with its
#   full reference in "io.containerd.image.name" (ctr 1.6 otherwise names an image whose
#   org.opencontainers.image.ref.name is a bare tag "import-<date>:<tag>", and a CRI
#   sandbox_image never matches it). Byte-for-byte reproducible: fixed times, owners, order.
import hashlib
import io
import json
import os
import platform
import sys
import tarfile

ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
        "s390x": "s390x", "riscv64": "riscv64"}


def tar_bytes(members):
    """members: (name, bytes, mode) in order -> an uncompressed tar with fixed metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, 0
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def blob(blobs, media_type, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs.append(("blobs/sha256/" + digest[7:], data, 0o644))
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def canon(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: oci-pack.py PROGRAM IMAGE-NAME OUT.tar")
    program, name, out = sys.argv[1:]
    if "/" not in name or ":" not in name.rsplit("/", 1)[1]:
        sys.exit("oci-pack.py: give a full image name (registry/path:tag), not %r" % name)
    arch = ARCH.get(platform.machine())
    if not arch:
        sys.exit("oci-pack.py: unknown machine %r" % platform.machine())
    with open(program, "rb") as f:
        exe = f.read()
    entry = "/" + os.path.basename(program)
    layer = tar_bytes([(entry[1:], exe, 0o755)])
    blobs = []
    layer_desc = blob(blobs, "application/vnd.oci.image.layer.v1.tar", layer)
    config = {"architecture": arch, "os": "linux",
              "config": {"Entrypoint": [entry], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": [layer_desc["digest"]]}}
    config_desc = blob(blobs, "application/vnd.oci.image.config.v1+json", canon(config))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(blobs, "application/vnd.oci.image.manifest.v1+json", canon(manifest))
    manifest_desc["annotations"] = {"io.containerd.image.name": name,
                                    "org.opencontainers.image.ref.name": name}
    manifest_desc["platform"] = {"architecture": arch, "os": "linux"}
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_desc]}
    layout = [("oci-layout", canon({"imageLayoutVersion": "1.0.0"}), 0o644),
              ("index.json", canon(index), 0o644)]
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(tar_bytes(layout + blobs))
    os.rename(tmp, out)


if __name__ == "__main__":
    main()
