/* test/fuzz/fuzz_daemon_request.c: libFuzzer harness: plexusd's parsers of hostile input: a
 * /cni or /delegate request body (and the netconf a /delegate one becomes), the daemon config,
 * and the overlay of one onto the other's netconf. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char netconf[] = "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"x\"}";
	struct cni_err err = { 0 };
	struct pxd_request req;
	struct pxd_config cfg;

	if (pxd_request_parse((const char *)data, size, &req, &err) == 0) {
		/* a request that parses holds a NULL-terminated env of K=V strings */
		for (size_t i = 0; i < req.nenv; i++)
			if (!req.env[i] || !strchr(req.env[i], '='))
				abort();
		if (req.env[req.nenv] || req.config[req.config_len] != '\0')
			abort();
		{
			size_t len = 0;
			char *nc = pxd_delegate_netconf(&req, &len, &err);

			/* a netconf, or a reason */
			if (nc ? strlen(nc) != len : !cni_err_isset(&err))
				abort();
			free(nc);
			cni_err_clear(&err);
		}
		pxd_request_free(&req);
	} else if (!cni_err_isset(&err)) {
		abort(); /* every failure says why */
	}
	cni_err_clear(&err);
	if (pxd_config_parse((const char *)data, size, &cfg, &err) == 0) {
		size_t len = 0;
		char *out = pxd_config_overlay(&cfg, netconf, sizeof(netconf) - 1, &len, &err);

		if (!out || strlen(out) != len || !cfg.socket_path)
			abort();
		free(out);
		pxd_config_free(&cfg);
	}
	cni_err_clear(&err);
	return 0;
}
