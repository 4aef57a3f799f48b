/* k8s/curl.c: the one dlopen of libcurl in the process (see k8s/curl.h).
 * Follows docs/DESIGN.md: libcurl costs ~3 ms and 6 MB per exec, so only API paths load it.
 * Built with K8S_CURL_STATIC (the static musl bin/plexus), libcurl is linked in instead: its
 * pages are only read in by the paths that use it. */
#include "k8s/curl.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct k8s_curl_api k8s_curl;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

bool k8s_curl_loaded(void)
{
	bool loaded;

	pthread_mutex_lock(&load_lock);
	loaded = k8s_curl.dl != NULL;
	pthread_mutex_unlock(&load_lock);
	return loaded;
}

/* Every member of struct k8s_curl_api but dl, with the libcurl function it stands for. */
#define CURL_FUNCS(X)                                                                              \
	X(global_init, curl_global_init)                                                           \
	X(easy_init, curl_easy_init)                                                               \
	X(easy_setopt, curl_easy_setopt)                                                           \
	X(easy_perform, curl_easy_perform)                                                         \
	X(easy_getinfo, curl_easy_getinfo)                                                         \
	X(easy_cleanup, curl_easy_cleanup)                                                         \
	X(easy_strerror, curl_easy_strerror)                                                       \
	X(slist_append, curl_slist_append)                                                         \
	X(slist_free_all, curl_slist_free_all)                                                     \
	X(multi_init, curl_multi_init)                                                             \
	X(multi_add_handle, curl_multi_add_handle)                                                 \
	X(multi_remove_handle, curl_multi_remove_handle)                                           \
	X(multi_perform, curl_multi_perform)                                                       \
	X(multi_poll, curl_multi_poll)                                                             \
	X(multi_wakeup, curl_multi_wakeup)                                                         \
	X(multi_info_read, curl_multi_info_read)                                                   \
	X(multi_cleanup, curl_multi_cleanup)

#ifdef K8S_CURL_STATIC
/* the static (musl) bin/plexus: libcurl is linked in, and loading it is binding the members */
#define CURL_NAME	"libcurl (linked in)"
#define BIND(field, fn) lc->field = fn;
#else
#define CURL_NAME K8S_CURL_SONAME
#define BIND(field, fn)                                                                            \
	*(void **)&lc->field = dlsym(dl, #fn);                                                     \
	if (!lc->field) {                                                                          \
		cni_err_set(err, CNI_ERR_IO, "%s has no %s", K8S_CURL_SONAME, #fn);                \
		goto fail;                                                                         \
	}
#endif

static int load(struct cni_err *err)
{
	struct k8s_curl_api *lc = &k8s_curl;
	void *dl;

	if (lc->dl)
		return 0;
#ifdef K8S_CURL_STATIC
	dl = lc; /* no handle to keep: dl only says "loaded" */
#else
	dl = dlopen(K8S_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return cni_err_set(err, CNI_ERR_IO, "cannot load %s: %s", K8S_CURL_SONAME,
				   dlerror());
#endif
	CURL_FUNCS(BIND)
	if (lc->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cni_err_set(err, CNI_ERR_IO, "%s: curl_global_init failed", CURL_NAME);
		goto fail;
	}
	lc->dl = dl;
	return 0;
fail:
	memset(lc, 0, sizeof(*lc));
#ifndef K8S_CURL_STATIC
	dlclose(dl);
#endif
	return -1;
}

int k8s_curl_load(struct cni_err *err)
{
	int ret;

	pthread_mutex_lock(&load_lock);
	ret = load(err);
	pthread_mutex_unlock(&load_lock);
	return ret;
}

bool k8s_curl_header(const char *data, size_t n, const char *name, char *out, size_t size)
{
	size_t k = strlen(name), len;

	if (n <= k + 1 || data[k] != ':' || strncasecmp(data, name, k) != 0)
		return false;
	data += k + 1;
	n -= k + 1;
	while (n && (*data == ' ' || *data == '\t'))
		data++, n--;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	len = n < size - 1 ? n : size - 1;
	memcpy(out, data, len);
	out[len] = '\0';
	return true;
}

long k8s_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void k8s_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
