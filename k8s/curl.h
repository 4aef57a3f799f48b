/* k8s/curl.h: libcurl loaded with dlopen on first use, shared by every k8s/ module that talks
 * HTTP (the API client, the kubelet pod-resources client). Follows docs/DESIGN.md: the glibc
 * binaries have no NEEDED entry for libcurl, so only paths that make a request pay for loading
 * it; the static musl bin/plexus (K8S_CURL_STATIC) has it linked in, and loading binds it. */
#ifndef PLEXUS_K8S_CURL_H
#define PLEXUS_K8S_CURL_H

#include <stdbool.h>

/* Types and constants only: no libcurl symbol is referenced, so nothing links against it. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "cni/err.h"

#define K8S_CURL_SONAME "libcurl.so.4"

/* The libcurl entry points plexus uses. Process-wide, like a linked library would be: it is
 * never dlclose'd, because libcurl's TLS backend registers exit handlers. Members are valid
 * only after k8s_curl_load() has returned 0. */
struct k8s_curl_api {
	void *dl;
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	/* the multi interface, for streamed replies that another thread may interrupt */
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
	CURLMcode (*multi_perform)(CURLM *m, int *running);
	CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd fds[], unsigned int n, int timeout_ms,
				int *numfds);
	CURLMcode (*multi_wakeup)(CURLM *m);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURLMcode (*multi_cleanup)(CURLM *m);
};

extern struct k8s_curl_api k8s_curl;

/* Loads libcurl.so.4 (or, with K8S_CURL_STATIC, takes the linked-in one), resolves every member
 * and runs curl_global_init, once per process (safe to call from several threads: the
 * reflectors each load it). Returns 0, or -1 with code 5: "cannot load libcurl.so.4: <dlerror>",
 * "libcurl.so.4 has no <symbol>" or "...: curl_global_init failed"; after a failure the next
 * call tries again. */
CNI_MUST_CHECK int k8s_curl_load(struct cni_err *err);

/* True once this process has loaded libcurl. */
bool k8s_curl_loaded(void);

/* For the header callbacks: true when the n bytes at data are the header line "<name>:<value>"
 * (name matched case-insensitively, at least one byte after the colon), with the value's first
 * size - 1 bytes, leading blanks and the trailing CR LF dropped, NUL-terminated in out. */
bool k8s_curl_header(const char *data, size_t n, const char *name, char *out, size_t size);

/* The clock and the pause both API clients budget their attempts with: monotonic milliseconds,
 * and a sleep that resumes after signals. */
long k8s_now_ms(void);
void k8s_sleep_ms(long ms);

#endif
