/* cni/netns.h: run code inside a network namespace and always come back.
 * Follows containernetworking/plugins pkg/ns (Do): setns on the calling thread only. */
#ifndef PLEXUS_CNI_NETNS_H
#define PLEXUS_CNI_NETNS_H

#include <stdbool.h>

#include "cni/err.h"

typedef int (*cni_netns_fn)(void *arg, struct cni_err *err);

/* Enters the netns at path (a file such as /run/netns/x or /proc/PID/ns/net), runs fn(arg, err),
 * and returns the calling thread to the netns it was in, on every path. Returns fn's return
 * value, or -1 with err set when the netns cannot be opened or entered (code 5, naming the
 * path) or the caller's netns cannot be restored (code 999). */
int cni_netns_do(const char *path, cni_netns_fn fn, void *arg, struct cni_err *err) CNI_MUST_CHECK;

/* Opens a netns path for a later setns/RTM move (O_RDONLY|O_CLOEXEC); checks it really is a
 * network namespace (nsfs magic and NS_GET_NSTYPE, so /proc/PID/ns/mnt is refused too).
 * Returns an fd (caller closes) or -1 with err set (code 5, naming the path). */
int cni_netns_open(const char *path, struct cni_err *err) CNI_MUST_CHECK;

/* True when path names an existing network namespace (false for "", missing paths, or
 * files that are not netns). Used by DEL, which tolerates a gone netns. */
bool cni_netns_exists(const char *path);

/* True when path is the calling thread's own netns (same st_dev/st_ino as
 * /proc/thread-self/ns/net; libcni code 8 territory). False for "" and unreadable paths. */
bool cni_netns_is_current(const char *path);

#endif
