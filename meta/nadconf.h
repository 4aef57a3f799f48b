/* meta/nadconf.h: a NAD's delegate config with Multus's fallback: a NAD without spec.config
 * names a network file in confDir. Follows the NAD client's pkg/utils/cniconfig.go GetCNIConfig
 * and GetCNIConfigFromFile, as Multus pkg/k8sclient/k8sclient.go getKubernetesDelegate calls
 * them. */
#ifndef PLEXUS_META_NADCONF_H
#define PLEXUS_META_NADCONF_H

#include <cjson/cJSON.h>

#include "cni/err.h"
#include "k8s/objects.h"

/* k8s_nad_delegate_config(), and when the NAD has an empty or missing spec.config, the file in
 * conf_dir whose CNI name is metadata.name (dlg_confdir_load); that failing reads
 * `network-attachment-definition ns/name: empty spec.config: <why>` (code 7). Returns 0 with
 * out->config set, or -1 with out zeroed. */
CNI_MUST_CHECK int meta_nad_delegate_config(const cJSON *nad, const char *conf_dir,
					    struct k8s_nad_config *out, struct cni_err *err);

#endif
