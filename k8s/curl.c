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

#ifdef K8S_CURL_STATIC
/* The static (musl) bin/plexus: libcurl is linked in, and loading it is binding the members. */
static int load(struct cni_err *err)
{
	struct k8s_curl_api *lc = &k8s_curl;

	if (lc->dl)
		return 0;
	lc->global_init = curl_global_init;
	lc->easy_init = curl_easy_init;
	lc->easy_setopt = curl_easy_setopt;
	lc->easy_perform = curl_easy_perform;
	lc->easy_getinfo = curl_easy_getinfo;
	lc->easy_cleanup = curl_easy_cleanup;
	lc->easy_strerror = curl_easy_strerror;
	lc->slist_append = curl_slist_append;
	lc->slist_free_all = curl_slist_free_all;
	lc->multi_init = curl_multi_init;
	lc->multi_add_handle = curl_multi_add_handle;
	lc->multi_remove_handle = curl_multi_remove_handle;
	lc->multi_perform = curl_multi_perform;
	lc->multi_poll = curl_multi_poll;
	lc->multi_wakeup = curl_multi_wakeup;
	lc->multi_info_read = curl_multi_info_read;
	lc->multi_cleanup = curl_multi_cleanup;
	if (lc->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		memset(lc, 0, sizeof(*lc));
		return cni_err_set(err, CNI_ERR_IO, "libcurl: curl_global_init failed");
	}
	lc->dl = lc; /* loaded: no handle to keep */
	return 0;
}
#else
static int load(struct cni_err *err)
{
	struct k8s_curl_api *lc = &k8s_curl;
	void *dl;

	if (lc->dl)
		return 0;
	dl = dlopen(K8S_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return cni_err_set(err, CNI_ERR_IO, "cannot load %s: %s", K8S_CURL_SONAME,
				   dlerror());
#define SYM(field, name)                                                                           \
	do {                                                                                       \
		*(void **)&lc->field = dlsym(dl, name);                                            \
		if (!lc->field) {                                                                  \
			cni_err_set(err, CNI_ERR_IO, "%s has no %s", K8S_CURL_SONAME, name);       \
			goto fail;                                                                 \
		}                                                                                  \
	} while (0)
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(multi_init, "curl_multi_init");
	SYM(multi_add_handle, "curl_multi_add_handle");
	SYM(multi_remove_handle, "curl_multi_remove_handle");
	SYM(multi_perform, "curl_multi_perform");
	SYM(multi_poll, "curl_multi_poll");
	SYM(multi_wakeup, "curl_multi_wakeup");
	SYM(multi_info_read, "curl_multi_info_read");
	SYM(multi_cleanup, "curl_multi_cleanup");
#undef SYM
	if (lc->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cni_err_set(err, CNI_ERR_IO, "%s: curl_global_init failed", K8S_CURL_SONAME);
		goto fail;
	}
	lc->dl = dl;
	return 0;
fail:
	memset(lc, 0, sizeof(*lc));
	dlclose(dl);
	return -1;
}
#endif

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
