/* daemon/server.h: plexusd's HTTP server on its unix socket: Multus's daemon API (/cni,
 * /delegate, /healthz, /readyz) over libmicrohttpd, in front of the bounded queue.
 * Follows Multus pkg/server/server.go (routes, replies) and pkg/server/api/socket.go. */
#ifndef PLEXUS_DAEMON_SERVER_H
#define PLEXUS_DAEMON_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "cni/err.h"
#include "daemon/config.h"
#include "daemon/queue.h"

#define PXD_CONN_IDLE_TIMEOUT_S 10 /* a client that sends nothing for this long is dropped */

struct MHD_Daemon;

struct pxd_server {
	const struct pxd_config *cfg;
	struct pxd_queue queue;
	struct MHD_Daemon *mhd;
	int listen_fd;
	atomic_bool ready;
	atomic_int answering; /* /cni requests taken in and not yet answered to the end */
};

/* Creates the socket at path: its directory made (0700), a temporary name bound (0600) and
 * renamed over path, so a client that holds the directory (a bind mount) sees the new socket
 * and nothing else in the directory is touched. Returns the listening fd or -1 with err. */
int pxd_socket_listen(const char *path, struct cni_err *err) __attribute__((warn_unused_result));

/* Starts serving on the config's socket (not ready yet: /readyz answers 500). */
int pxd_server_start(struct pxd_server *s, const struct pxd_config *cfg, struct cni_err *err)
    __attribute__((warn_unused_result));

void pxd_server_set_ready(struct pxd_server *s, bool ready);

/* SIGTERM: /readyz 500, waiting requests get code 11, those in the core finish and their
 * replies are sent, within timeout_ms. Returns true when they all finished. */
bool pxd_server_drain(struct pxd_server *s, long timeout_ms);

/* Stops serving (after a drain that finished; otherwise the process just exits). */
void pxd_server_stop(struct pxd_server *s);

#endif
