/* meta/nadconf.c: a NAD's delegate config, falling back to confDir for an empty spec.config.
 * Follows the NAD client's pkg/utils/cniconfig.go GetCNIConfig (GetCNIConfigFromFile). */
#include "meta/nadconf.h"

#include <string.h>

#include "cni/config.h"
#include "delegates/confdir.h"

int meta_nad_delegate_config(const cJSON *nad, const char *conf_dir, struct k8s_nad_config *out,
			     struct cni_err *err)
{
	const char *name = k8s_object_meta(nad, "name"), *ns = k8s_object_meta(nad, "namespace");
	struct cni_conflist list;

	if (k8s_nad_delegate_config(nad, out, err) < 0)
		return -1;
	if (out->config)
		return 0;
	/* Empty spec: the network is a file in confDir whose CNI name is the NAD's. */
	if (dlg_confdir_load(name, conf_dir, &list, err) < 0) {
		k8s_nad_config_free(out);
		return cni_err_prefix(err,
				      "network-attachment-definition %.253s/%.253s: empty "
				      "spec.config",
				      ns ? ns : "", name);
	}
	out->config = list.bytes;
	out->len = list.len;
	list.bytes = NULL;
	cni_conflist_free(&list);
	return 0;
}
