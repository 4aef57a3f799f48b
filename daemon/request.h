/* daemon/request.h: one body of Multus's daemon API, checked: POST /cni and /delegate carry
 * {"env": {...}, "config": "<base64 netconf>", "interfaceAttributes": {...}}.
 * Follows Multus pkg/server/api/api.go (Request) and pkg/server/server.go (HandleCNIRequest). */
#ifndef PLEXUS_DAEMON_REQUEST_H
#define PLEXUS_DAEMON_REQUEST_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cni/err.h"

#define PXD_BODY_MAX_BYTES	     (4u << 20) /* a netconf in base64 plus the env: generous */
#define PXD_ENV_MAX_ENTRIES	     1024	/* Multus's shim sends its whole environment */
#define PXD_ENV_NAME_MAX	     1024
#define PXD_ENV_VALUE_MAX	     (64u << 10)
#define PXD_CONFIG_MAX_BYTES_DECODED (2u << 20)

struct pxd_request {
	char **env; /* NULL-terminated "K=V" strings */
	size_t nenv;
	char *config; /* the netconf bytes, decoded, NUL-terminated */
	size_t config_len;
	cJSON *iface_attrs;  /* interfaceAttributes (for /delegate), or NULL; owned */
	const char *command; /* CNI_COMMAND, borrowed from env; NULL when absent */
};

/* Parses a body strictly: a JSON object with "env" an object of strings (Multus's shim
 * sends the runtime's whole environment: names without '=', at most PXD_ENV_MAX_ENTRIES), "config" a base64 string of a netconf (required,
 * at most PXD_CONFIG_MAX_BYTES_DECODED), "interfaceAttributes" an object when present, and no
 * other key. Every failure is a CNI error naming the field: code 6 for a body that does not
 * decode, 7 for a field with the wrong shape. Free with pxd_request_free(). */
int pxd_request_parse(const char *body, size_t len, struct pxd_request *req, struct cni_err *err)
    __attribute__((warn_unused_result));

void pxd_request_free(struct pxd_request *req);

/* /delegate: the plexus netconf that carries the request's one network config (a JSON object,
 * code 6 otherwise) as its only delegate, with interfaceAttributes, for meta_delegate_plugin:
 * {"cniVersion": the config's (else 1.0.0), "name": "plexus-delegate", "type": "plexus",
 * "delegates": [config], "interfaceAttributes": {...}}. The daemon config is laid over it as
 * over a /cni netconf; the network config itself reaches its plugin as the request gave it.
 * Returns malloc'd bytes (*len set) or NULL with err. */
char *pxd_delegate_netconf(const struct pxd_request *req, size_t *len, struct cni_err *err)
    __attribute__((warn_unused_result));

#endif
