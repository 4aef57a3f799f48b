/* test/fuzz/fuzz_kubeconfig.c: libFuzzer harness: k8s_kubeconfig_load (libyaml document API,
 * base64 -data values, referenced files) on the fuzzed bytes written to <tmp>/config.
 * A temp dir made once holds the kubeconfig and the files it may name by relative path
 * (ca.pem, crt.pem, key.pem, tok, and an empty file), so relative references resolve inside it.
 * Their contents are canaries: no error message may quote them (a message may only repeat
 * what the kubeconfig itself says).
 * Invariants: a load gives an http(s) server without trailing '/', a certificate only with its
 * key, no CA with insecure-skip-tls-verify, no empty token, and a source; a failure leaves out
 * zeroed and says "kubeconfig <path>: ..."; a second load of the same bytes gives the same. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s/kubeconfig.h"

#define CANARY "CANARY-7f3a9"

static char dir[64], path[96];

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void remove_dir(void)
{
	static const char *const files[] = { "config",	"ca.pem", "crt.pem",
					     "key.pem", "tok",	  "empty" };
	char p[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/pxfuzz-kc-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/config", dir);
	put("ca.pem", "-----BEGIN CERTIFICATE-----\n" CANARY "-ca\n-----END CERTIFICATE-----\n");
	put("crt.pem", "-----BEGIN CERTIFICATE-----\n" CANARY "-crt\n-----END CERTIFICATE-----\n");
	put("key.pem", "-----BEGIN PRIVATE KEY-----\n" CANARY "-key\n-----END PRIVATE KEY-----\n");
	put("tok", CANARY "-token\n");
	put("empty", "");
	atexit(remove_dir);
}

static bool mem_has(const uint8_t *data, size_t size, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; n <= size && i <= size - n; i++)
		if (memcmp(data + i, s, n) == 0)
			return true;
	return false;
}

static bool same_blob(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (!a) == (!b) && (!a || memcmp(a, b, alen) == 0);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct k8s_creds zero;
	struct cni_err err = { 0 };
	struct k8s_creds c, again;
	char prefix[128];
	size_t n;
	int fd, r;

	if (!dir[0])
		setup();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	r = k8s_kubeconfig_load(path, &c, &err);
	if (r == 0) {
		if (!c.server ||
		    (strncmp(c.server, "https://", 8) && strncmp(c.server, "http://", 7)))
			abort();
		n = strlen(c.server);
		if (n && c.server[n - 1] == '/')
			abort();
		if (!c.cert != !c.key || (c.insecure && c.ca) || (c.token && !c.token[0]) ||
		    !c.source || (c.ca && !c.ca_len && c.ca[0]))
			abort();
		if (k8s_kubeconfig_load(path, &again, &err) < 0)
			abort(); /* nothing changed: it loads again, the same */
		if (!same_str(c.server, again.server) || !same_str(c.token, again.token) ||
		    !same_str(c.namespace, again.namespace) || c.insecure != again.insecure ||
		    !same_blob(c.ca, c.ca_len, again.ca, again.ca_len) ||
		    !same_blob(c.cert, c.cert_len, again.cert, again.cert_len) ||
		    !same_blob(c.key, c.key_len, again.key, again.key_len))
			abort();
		k8s_creds_free(&again);
		k8s_creds_free(&c);
		if (memcmp(&c, &zero, sizeof(c)))
			abort(); /* freed means zeroed */
	} else {
		if (memcmp(&c, &zero, sizeof(c)) || !err.msg)
			abort(); /* out zeroed on failure */
		snprintf(prefix, sizeof(prefix), "kubeconfig %s: ", path);
		if (strncmp(err.msg, prefix, strlen(prefix)) && strcmp(err.msg, "out of memory"))
			abort(); /* every message names the file */
		if (strstr(err.msg, CANARY) && !mem_has(data, size, CANARY))
			abort(); /* a credential's content reached a message */
	}
	cni_err_clear(&err);
	return 0;
}
