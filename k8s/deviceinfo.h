/* k8s/deviceinfo.h: device-info spec v1.1.0 files (the device plugin's dp/ file copied to the
 * CNI's cni/ file, read back for network-status) and device ID injection into delegate configs.
 * Follows device-info-spec v1.1.0, the NAD client's pkg/utils/cniconfig.go device-info helpers
 * and Multus pkg/types/conf.go (delegateAddDeviceID, addDeviceIDInConfList). */
#ifndef PLEXUS_K8S_DEVICEINFO_H
#define PLEXUS_K8S_DEVICEINFO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

/* Default of the netconf key deviceInfoDir. */
#define K8S_DEVINFO_DEFAULT_DIR "/var/run/k8s.cni.cncf.io/devinfo"
#define K8S_DEVINFO_MAX		(1u << 20) /* larger device-info files are refused */

/* The file names. Every part has each '/' replaced by '-' (resource names carry one:
 * "intel.com/sriov_a"), so a part can never add a directory level. A part is refused (NULL,
 * code 7, the message names it) when it is empty, longer than 253 bytes, contains "..", a
 * control character or is "." ; the file name is refused when longer than 255 bytes (NAME_MAX).
 * dir must be an absolute path without "..". Returns a malloc'd path.
 *
 * <dir>/dp/<resource>-<device_id>-device.json, e.g.
 *   /var/run/k8s.cni.cncf.io/devinfo/dp/intel.com-sriov_a-0000:00:05.1-device.json */
char *k8s_devinfo_dp_path(const char *dir, const char *resource, const char *device_id,
			  struct cni_err *err);

/* <dir>/cni/<net_name>-<container_id>_<ifname>, Multus's name for the CNI file, where net_name
 * is the delegate's name (for a NAD Multus uses "<namespace>/<name>", giving "ns1-sriov-a"). */
char *k8s_devinfo_cni_path(const char *dir, const char *net_name, const char *container_id,
			   const char *ifname, struct cni_err *err);

/* Writes a device-info file as the spec's savers do: mode 0444, the parent directories created
 * (0755) when missing, the content (len bytes) complete before the name appears (a temporary
 * file hard-linked into place), and never over an existing file: that fails with -EEXIST and
 * `device-info file <path> already exists` (code 5). Other failures: -1 (code 5). */
CNI_MUST_CHECK int k8s_devinfo_save(const char *path, const char *data, size_t len,
				    struct cni_err *err);

/* The ADD step (NAD client CopyDeviceInfoForCNIFromDP, as Multus pkg/multus/multus.go calls
 * it): copies the device plugin's file to the CNI file after
 * checking it (k8s_devinfo_read's rules). Returns 1 when copied, 0 when there is no DP file
 * (the device plugin writes none: not an error; nothing is written), -1 on failure (err set;
 * Multus ignores copy errors, the caller may log and carry on).
 *
 * An existing CNI file is replaced, atomically, when it is a regular file: its name holds the
 * network, container ID and interface, so it can only be a leftover of an earlier ADD of this
 * same attachment whose DEL never ran (a crash, a retried ADD). Refusing it, as the spec's
 * generic saver does, would fail every retry of that ADD or leave a stale copy behind. Anything
 * else at that name (a directory, a symlink, a socket) is refused (code 5). */
CNI_MUST_CHECK int k8s_devinfo_copy(const char *dp_path, const char *cni_path, struct cni_err *err);

/* Reads a device-info file back (for network-status "device-info"): a JSON object of at most
 * K8S_DEVINFO_MAX bytes with string "type" and "version". Returns 0 with *out the object
 * (caller deletes), 0 with *out NULL when the file does not exist, -1 when it cannot be read
 * (code 5) or is not such an object (code 6); messages name the file. */
CNI_MUST_CHECK int k8s_devinfo_read(const char *path, cJSON **out, struct cni_err *err);

/* The DEL step: removes the file; a missing file is fine. Returns 0, or -1 (code 5). */
CNI_MUST_CHECK int k8s_devinfo_remove(const char *path, struct cni_err *err);

/* Device ID injection (Multus pkg/types/conf.go delegateAddDeviceID, addDeviceIDInConfList): conf
 * is a delegate's config (len bytes), a single plugin config or a conflist (a top-level "plugins"
 * list); returns it with "deviceID" and "pciBusID" set to device_id at the top level of the conf,
 * or of EVERY plugin of the conflist (sriov-cni reads deviceID, host-device pciBusID), printed as
 * Go's json.Marshal of a map: compact, keys sorted, Go's escapes and numbers (cni_json_print_go).
 * Existing values are replaced. Fails (NULL) with code 6 when conf is not a JSON object, code 7
 * when "plugins" is not a list of objects or device_id is empty. Returns a malloc'd string. */
char *k8s_inject_device_id(const char *conf, size_t len, const char *device_id,
			   struct cni_err *err);

#endif
