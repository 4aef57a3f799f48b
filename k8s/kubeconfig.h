/* k8s/kubeconfig.h: where the API server is and how to prove who we are (kubeconfig, in-cluster).
 * Follows client-go clientcmd (current-context, relative paths, *-data, tokenFile) and
 * rest.InClusterConfig. */
#ifndef PLEXUS_K8S_KUBECONFIG_H
#define PLEXUS_K8S_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"

/* Where a pod's service-account credentials are mounted (rest.InClusterConfig). */
#define K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Credentials with every referenced file already read, so a missing or unreadable file is
 * reported at load time, naming the file and the key that points at it, and the client only
 * deals with bytes. All members are owned; free with k8s_creds_free(), which wipes secrets. */
struct k8s_creds {
	char *server; /* "https://host:port" (no trailing '/'); never NULL after a load */
	char *ca;     /* PEM bundle to verify the server with, or NULL for the system store */
	size_t ca_len;
	char *cert; /* client certificate (PEM), or NULL */
	size_t cert_len;
	char *key; /* its private key (PEM), or NULL; secret */
	size_t key_len;
	char *token;	 /* bearer token (no trailing newline), or NULL; secret */
	bool insecure;	 /* insecure-skip-tls-verify: true (set by a kubeconfig only) */
	char *namespace; /* the context's or the service account's namespace, or NULL */
	char *source;	 /* "kubeconfig <path>" or "in-cluster service account <dir>", for
			    * messages */
};

/* Reads a kubeconfig file afresh (no caching: rotated tokens and certificates are picked up
 * by the next call). Uses current-context -> contexts[].context.{cluster,user,namespace} ->
 * clusters[].cluster.{server, certificate-authority(-data), insecure-skip-tls-verify} and
 * users[].user.{token, tokenFile, client-certificate(-data), client-key(-data)}. File paths
 * are relative to the kubeconfig's directory; -data values are base64; tokenFile wins over
 * token (client-go). Errors (code 7 for content, 5 for a file that cannot be read) start with
 * "kubeconfig <path>: " and name the key, e.g. `users["u"].user.tokenFile /t: No such file or
 * directory`. Token values never appear in any message. Exec plugins, auth providers,
 * basic auth, proxy-url and tls-server-name are refused by name. Returns 0 or -1; out is
 * zeroed on failure. */
CNI_MUST_CHECK int k8s_kubeconfig_load(const char *path, struct k8s_creds *out,
				       struct cni_err *err);

/* The in-cluster service account: server from KUBERNETES_SERVICE_HOST and _PORT (an IPv6
 * host is bracketed), token from <sa_dir>/token (required, read afresh), CA from
 * <sa_dir>/ca.crt (when absent the system store verifies, as client-go does after logging),
 * namespace from <sa_dir>/namespace (optional). sa_dir NULL means K8S_SA_DIR. Files may be
 * symlinks (projected volumes are). Returns 0, or -1 with err (code 4 when the environment is
 * incomplete, 5 when the token cannot be read). */
CNI_MUST_CHECK int k8s_incluster_load(const char *sa_dir, struct k8s_creds *out,
				      struct cni_err *err);

/* Multus's choice (pkg/k8sclient/k8sclient.go GetK8sClient): kubeconfig when non-empty; otherwise
 * the in-cluster account when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are both set and
 * non-empty; otherwise there is no API access. Returns 1 with out filled, 0 for "no API" (out
 * zeroed, not an error), -1 with err. */
CNI_MUST_CHECK int k8s_creds_load(const char *kubeconfig, const char *sa_dir, struct k8s_creds *out,
				  struct cni_err *err);

/* Wipes the secrets and frees every member; out is zeroed. Safe on a zeroed struct. */
void k8s_creds_free(struct k8s_creds *c);

#endif
