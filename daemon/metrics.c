/* daemon/metrics.c: plexusd's counters, gauges and histograms, rendered as Prometheus text.
 * Follows the text exposition format 0.0.4 (escaping, _bucket/_sum/_count, le="+Inf") and
 * client_golang's process collector (the process_* names and their /proc/self sources). */
#include "daemon/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cni/buf.h"
#include "cni/file.h"
#include "cni/json.h"
#include "k8s/curl.h"

#define MAX_LABELS 3

/* Seconds: a CNI call through a tiny delegate is about a millisecond, one through IPAM and
 * the API tens to hundreds, and a stuck one runs into the runtime's timeout (minutes). */
static const double cni_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				      0.5,   1,	     2.5,   5,	  10,	 30,   60 };
#define NBUCKETS (sizeof(cni_buckets) / sizeof(cni_buckets[0]))

enum kind { COUNTER, HISTOGRAM };

struct series {
	char *labels[MAX_LABELS];
	uint64_t count; /* counter value, or observations */
	double sum;	/* histogram */
	uint64_t
	    bucket[NBUCKETS]; /* histogram, not cumulative: observations <= le[i] and > le[i-1] */
};

struct family {
	const char *name;
	const char *help;
	enum kind kind;
	unsigned nlabels;
	const char *label[MAX_LABELS];
	struct series *series;
	size_t n, cap;
};

enum fam { F_REQUEST, F_VERB, F_DELEGATE, F_API, F_RECONCILE, F_COUNT };

static struct family families[F_COUNT] = {
	[F_REQUEST] = { "multus_server_request_total",
			"Counter of HTTP requests",
			COUNTER,
			3,
			{ "handler", "code", "method" },
			NULL,
			0,
			0 },
	[F_VERB] = { "plexus_cni_request_duration_seconds",
		     "Duration of CNI requests served by the daemon, by verb and result",
		     HISTOGRAM,
		     2,
		     { "verb", "result" },
		     NULL,
		     0,
		     0 },
	[F_DELEGATE] = { "plexus_delegate_exec_duration_seconds",
			 "Duration of delegate plugin executions, by plugin type, verb and result",
			 HISTOGRAM,
			 3,
			 { "type", "verb", "result" },
			 NULL,
			 0,
			 0 },
	[F_RECONCILE] = { "plexus_hotplug_reconciles_total",
			  "Reconciles of a running pod's networks annotation (dynamicNetworks), by "
			  "result: success, retry (a change failed: tried again), refused (the "
			  "annotation cannot be applied)",
			  COUNTER,
			  1,
			  { "result" },
			  NULL,
			  0,
			  0 },
	[F_API] = { "plexus_api_requests_total",
		    "Kubernetes API requests, by HTTP method and status (0: no answer)",
		    COUNTER,
		    2,
		    { "verb", "status" },
		    NULL,
		    0,
		    0 },
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long queue_depth, inflight, attachments;
static struct pxd_caches *caches; /* read at each scrape; NULL: none */
static struct MHD_Daemon *server;

static void family_clear(struct family *f)
{
	for (size_t i = 0; i < f->n; i++)
		for (unsigned l = 0; l < f->nlabels; l++)
			free(f->series[i].labels[l]);
	free(f->series);
	f->series = NULL;
	f->n = f->cap = 0;
}

int pxd_metrics_init(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < F_COUNT; i++)
		family_clear(&families[i]);
	queue_depth = inflight = attachments = 0;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* A label value as the format accepts it: valid UTF-8 (a run of invalid bytes becomes one
 * U+FFFD, as Go's strings.ToValidUTF8 writes it), cut at a whole character to at most
 * PXD_METRICS_LABEL_MAX bytes: a hostile netconf's plugin type must not spoil the page. */
static void label_clean(char out[PXD_METRICS_LABEL_MAX + 1], const char *v)
{
	bool bad = false; /* in a run of invalid bytes: one U+FFFD stands for the run */
	size_t o = 0;

	while (*v) {
		size_t n = cni_utf8_len(v);

		if (n == 0 && bad) {
			v++;
			continue;
		}
		if (o + (n ? n : 3) > PXD_METRICS_LABEL_MAX)
			break;
		memcpy(out + o, n ? v : "\xef\xbf\xbd", n ? n : 3);
		o += n ? n : 3;
		v += n ? n : 1;
		bad = n == 0;
	}
	out[o] = '\0';
}

static bool same(const struct series *s, unsigned n, const char *const *v)
{
	for (unsigned l = 0; l < n && l < MAX_LABELS; l++)
		if (strcmp(s->labels[l], v[l]) != 0)
			return false;
	return true;
}

/* The series with these label values (all MAX_LABELS set, the family's first nlabels used),
 * made when new; the "other" series once the family is full; NULL when out of memory. Called
 * with the lock held. */
static struct series *series_get(struct family *f, const char *const *v)
{
	static const char *const other[MAX_LABELS] = { "other", "other", "other" };
	struct series *s;

	for (size_t i = 0; i < f->n; i++)
		if (same(&f->series[i], f->nlabels, v))
			return &f->series[i];
	if (f->n >= PXD_METRICS_SERIES_MAX && v != other)
		return series_get(f, other);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct series *grown = realloc(f->series, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		f->series = grown;
		f->cap = cap;
	}
	s = &f->series[f->n];
	memset(s, 0, sizeof(*s));
	for (unsigned l = 0; l < f->nlabels && l < MAX_LABELS; l++) {
		s->labels[l] = strdup(v[l]);
		if (!s->labels[l]) {
			while (l-- > 0)
				free(s->labels[l]);
			return NULL;
		}
	}
	f->n++;
	return s;
}

/* The label values made clean, in buf; v points into it. */
static void labels_clean(char buf[MAX_LABELS][PXD_METRICS_LABEL_MAX + 1], const char *v[MAX_LABELS],
			 const char *const raw[MAX_LABELS])
{
	for (unsigned l = 0; l < MAX_LABELS; l++) {
		label_clean(buf[l], raw[l]);
		v[l] = buf[l];
	}
}

static void count(enum fam fam, const char *const raw[MAX_LABELS])
{
	char buf[MAX_LABELS][PXD_METRICS_LABEL_MAX + 1];
	const char *v[MAX_LABELS];
	struct series *s;

	labels_clean(buf, v, raw);
	pthread_mutex_lock(&lock);
	s = series_get(&families[fam], v);
	if (s)
		s->count++;
	pthread_mutex_unlock(&lock);
}

static void observe(enum fam fam, const char *const raw[MAX_LABELS], double seconds)
{
	char buf[MAX_LABELS][PXD_METRICS_LABEL_MAX + 1];
	const char *v[MAX_LABELS];
	struct series *s;
	size_t b = 0;

	labels_clean(buf, v, raw);
	if (!(seconds >= 0)) /* NaN or negative: a clock went backwards; count it as 0 */
		seconds = 0;
	while (b < NBUCKETS && seconds > cni_buckets[b])
		b++;
	pthread_mutex_lock(&lock);
	s = series_get(&families[fam], v);
	if (s) {
		s->count++;
		s->sum += seconds;
		if (b < NBUCKETS)
			s->bucket[b]++;
	}
	pthread_mutex_unlock(&lock);
}

static const char *nonnull(const char *s)
{
	return s ? s : "";
}

void pxd_metrics_request(const char *handler, int code, const char *method)
{
	char codes[16];

	snprintf(codes, sizeof(codes), "%d", code);
	count(F_REQUEST,
	      (const char *const[MAX_LABELS]){ nonnull(handler), codes, nonnull(method) });
}

static const char *result(bool ok)
{
	return ok ? "success" : "error";
}

void pxd_metrics_verb(const char *verb, double seconds, bool ok)
{
	observe(F_VERB, (const char *const[MAX_LABELS]){ nonnull(verb), result(ok), "" }, seconds);
}

void pxd_metrics_delegate(const char *type, const char *verb, double seconds, bool ok)
{
	observe(F_DELEGATE,
		(const char *const[MAX_LABELS]){ nonnull(type), nonnull(verb), result(ok) },
		seconds);
}

void pxd_metrics_api(const char *verb, int status)
{
	char codes[16];

	snprintf(codes, sizeof(codes), "%d", status);
	count(F_API, (const char *const[MAX_LABELS]){ nonnull(verb), codes, "" });
}

void pxd_metrics_reconcile(const char *result)
{
	count(F_RECONCILE, (const char *const[MAX_LABELS]){ nonnull(result), "", "" });
}

void pxd_metrics_queue(int depth, int now)
{
	pthread_mutex_lock(&lock);
	queue_depth = depth;
	inflight = now;
	pthread_mutex_unlock(&lock);
}

void pxd_metrics_set_caches(struct pxd_caches *c)
{
	caches = c;
}

void pxd_metrics_attachments(long held)
{
	pthread_mutex_lock(&lock);
	attachments = held;
	pthread_mutex_unlock(&lock);
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static int add_label_value(struct cni_buf *b, const char *v)
{
	int rc = 0;

	for (; *v && rc == 0; v++) {
		if (*v == '\\')
			rc = cni_buf_adds(b, "\\\\");
		else if (*v == '"')
			rc = cni_buf_adds(b, "\\\"");
		else if (*v == '\n')
			rc = cni_buf_adds(b, "\\n");
		else
			rc = cni_buf_add(b, v, 1);
	}
	return rc;
}

/* A float as Go's strconv 'g' -1 writes it for the values that occur here: the shortest of
 * %.15g and %.17g that reads back exactly. */
static int add_float(struct cni_buf *b, double x)
{
	char s[32];

	if (isinf(x))
		return cni_buf_adds(b, x > 0 ? "+Inf" : "-Inf");
	snprintf(s, sizeof(s), "%.15g", x);
	if (strtod(s, NULL) != x)
		snprintf(s, sizeof(s), "%.17g", x);
	return cni_buf_adds(b, s);
}

/* name{l1="v1",...,extra} value-less: the caller appends " value\n". extra is a preformatted
 * label (le="0.5") or NULL. */
static int add_sample_head(struct cni_buf *b, const struct family *f, const char *suffix,
			   const struct series *s, const char *le)
{
	int rc = cni_buf_printf(b, "%s%s{", f->name, suffix);

	for (unsigned l = 0; l < f->nlabels && rc == 0; l++) {
		rc = cni_buf_printf(b, "%s%s=\"", l ? "," : "", f->label[l]);
		if (rc == 0)
			rc = add_label_value(b, s->labels[l]);
		if (rc == 0)
			rc = cni_buf_adds(b, "\"");
	}
	if (rc == 0 && le)
		rc = cni_buf_printf(b, ",le=\"%s\"", le);
	return rc ? rc : cni_buf_adds(b, "}");
}

static int render_family(struct cni_buf *b, const struct family *f)
{
	int rc = cni_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
				f->kind == COUNTER ? "counter" : "histogram");

	for (size_t i = 0; i < f->n && rc == 0; i++) {
		const struct series *s = &f->series[i];
		uint64_t cum = 0;

		if (f->kind == COUNTER) {
			rc = add_sample_head(b, f, "", s, NULL);
			if (rc == 0)
				rc = cni_buf_printf(b, " %llu\n", (unsigned long long)s->count);
			continue;
		}
		for (size_t k = 0; k <= NBUCKETS && rc == 0; k++) {
			char le[32];

			if (k < NBUCKETS) {
				cum += s->bucket[k];
				snprintf(le, sizeof(le), "%g", cni_buckets[k]);
			} else {
				cum = s->count;
				snprintf(le, sizeof(le), "+Inf");
			}
			rc = add_sample_head(b, f, "_bucket", s, le);
			if (rc == 0)
				rc = cni_buf_printf(b, " %llu\n", (unsigned long long)cum);
		}
		if (rc == 0)
			rc = add_sample_head(b, f, "_sum", s, NULL);
		if (rc == 0)
			rc = cni_buf_adds(b, " ");
		if (rc == 0)
			rc = add_float(b, s->sum);
		if (rc == 0)
			rc = cni_buf_adds(b, "\n");
		if (rc == 0)
			rc = add_sample_head(b, f, "_count", s, NULL);
		if (rc == 0)
			rc = cni_buf_printf(b, " %llu\n", (unsigned long long)s->count);
	}
	return rc;
}

/* One sample line name{label="value"} v (label NULL: none); the family's HELP and TYPE first
 * when help is given. */
static int render_sample(struct cni_buf *b, const char *name, const char *help, const char *type,
			 const char *label, const char *value, double v)
{
	int rc =
	    help ? cni_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type) : 0;

	if (rc == 0)
		rc = cni_buf_adds(b, name);
	if (rc == 0 && label) {
		rc = cni_buf_printf(b, "{%s=\"", label);
		if (rc == 0)
			rc = add_label_value(b, value ? value : "");
		if (rc == 0)
			rc = cni_buf_adds(b, "\"}");
	}
	if (rc == 0)
		rc = cni_buf_adds(b, " ");
	if (rc == 0)
		rc = add_float(b, v);
	return rc ? rc : cni_buf_adds(b, "\n");
}

static int render_gauge(struct cni_buf *b, const char *name, const char *help, const char *type,
			double v)
{
	return render_sample(b, name, help, type, NULL, NULL, v);
}

/* A per-resource family of the watch caches: one sample per resource. */
static int per_resource(struct cni_buf *b, const char *name, const char *help, const char *type,
			const double v[PXD_CACHE_N])
{
	int rc = 0;

	for (int k = 0; k < PXD_CACHE_N && rc == 0; k++)
		rc = render_sample(b, name, k ? NULL : help, type, "resource", pxd_cache_name(k),
				   v[k]);
	return rc;
}

/* The watch caches, read now: sizes, syncs, restarts by reason, 410 re-lists, event ages, and
 * the ADD path's cache hits and live-GET fallbacks. */
static int render_caches(struct cni_buf *b, struct pxd_caches *c)
{
	double objects[PXD_CACHE_N], synced[PXD_CACHE_N], lists[PXD_CACHE_N];
	double gone[PXD_CACHE_N], gap[PXD_CACHE_N];
	struct pxd_caches_stats st;
	long now = k8s_now_ms();
	int rc = 0;

	pxd_caches_stats(c, &st);
	if (!st.running)
		return 0;

	for (int k = 0; k < PXD_CACHE_N; k++) {
		objects[k] = (double)st.kind[k].objects;
		synced[k] = st.kind[k].synced;
		lists[k] = (double)st.kind[k].r.lists;
		gone[k] = (double)st.kind[k].r.relists_gone;
		gap[k] = (double)st.kind[k].r.gap_deletions;
	}
	rc = per_resource(b, "plexus_cache_objects", "Objects held in the watch caches.", "gauge",
			  objects);
	if (rc == 0)
		rc = per_resource(b, "plexus_cache_synced",
				  "1 once the cache's first LIST has completed.", "gauge", synced);
	if (rc == 0)
		rc = render_sample(b, "plexus_cache_sync_wait_expired",
				   "1 when cacheSyncTimeoutSeconds ran out before both caches "
				   "synced: ready, asking the API live until they do.",
				   "gauge", NULL, NULL, st.wait_expired);
	if (rc == 0)
		rc = per_resource(b, "plexus_cache_lists_total",
				  "Complete LISTs of the watch caches (the first sync and every "
				  "re-list).",
				  "counter", lists);
	if (rc == 0)
		rc = per_resource(
		    b, "plexus_watch_relists_gone_total",
		    "Re-LISTs because a watch's resourceVersion was too old (410 Gone).", "counter",
		    gone);
	if (rc == 0)
		rc = per_resource(b, "plexus_watch_gap_deletions_total",
				  "Objects a re-LIST found deleted while no watch ran.", "counter",
				  gap);
	if (rc == 0)
		rc = cni_buf_adds(b, "# HELP plexus_watch_restarts_total Ends of the caches' "
				     "watches, by resource and reason.\n"
				     "# TYPE plexus_watch_restarts_total counter\n");
	for (int k = 0; k < PXD_CACHE_N && rc == 0; k++)
		for (int e = 0; e < K8S_WATCH_END_N && rc == 0; e++)
			rc = cni_buf_printf(b,
					    "plexus_watch_restarts_total{resource=\"%s\","
					    "reason=\"%s\"} %llu\n",
					    pxd_cache_name(k), k8s_watch_end_name(e),
					    (unsigned long long)st.kind[k].r.restarts[e]);
	for (int k = 0; k < PXD_CACHE_N && rc == 0; k++) {
		long last = st.kind[k].r.last_event_ms;

		/* no event yet: no sample rather than a made-up age */
		if (last > 0)
			rc = render_sample(
			    b, "plexus_watch_last_event_age_seconds",
			    k ? NULL : "Seconds since the watch's newest event or bookmark.",
			    "gauge", "resource", pxd_cache_name(k), (double)(now - last) / 1000.0);
	}
	for (int i = 0; i < META_POD_SOURCE_N && rc == 0; i++)
		rc = render_sample(b, "plexus_pod_lookups_total",
				   i ? NULL
				     : "Pods looked up by CNI requests, by where they came from: "
				       "the cache, or a live GET and why.",
				   "counter", "source", meta_pod_source_name(i),
				   (double)st.pods_by[i]);
	for (int i = 0; i < META_NAD_SOURCE_N && rc == 0; i++)
		rc = render_sample(
		    b, "plexus_nad_lookups_total",
		    i ? NULL
		      : "NetworkAttachmentDefinitions looked up by CNI requests: from "
			"the cache, or live (a cache miss).",
		    "counter", "source", meta_nad_source_name(i), (double)st.nads_by[i]);
	for (int i = 0; i < PXD_DRA_STATE_N && rc == 0; i++)
		rc =
		    render_sample(b, "plexus_dra_cache_state",
				  i ? NULL
				    : "1 for the state of the DRA caches: probing, absent (the API "
				      "does not serve resource.k8s.io/v1), forbidden (no RBAC), "
				      "watching.",
				  "gauge", "state", pxd_dra_state_name(i), (int)st.dra == i);
	if (rc == 0)
		rc = cni_buf_adds(b,
				  "# HELP plexus_dra_lookups_total ResourceClaims and drivers' "
				  "ResourceSlices read by CNI requests: from the cache, or live.\n"
				  "# TYPE plexus_dra_lookups_total counter\n");
	for (int i = 0; i < META_DRA_SOURCE_N && rc == 0; i++)
		rc = cni_buf_printf(b,
				    "plexus_dra_lookups_total{resource=\"resourceclaims\","
				    "source=\"%s\"} %llu\n"
				    "plexus_dra_lookups_total{resource=\"resourceslices\","
				    "source=\"%s\"} %llu\n",
				    meta_dra_source_name(i), st.claims_by[i],
				    meta_dra_source_name(i), st.slices_by[i]);
	return rc;
}

/* A /proc file's text, NULL when it cannot be read (the sample is then left out). */
static char *read_proc(const char *path)
{
	struct cni_err err = { 0 };
	char *text = cni_read_file(path, 1 << 20, CNI_FILE_NOFOLLOW, NULL, &err);

	cni_err_clear(&err);
	return text;
}

/* Fields 14 (utime), 15 (stime), 22 (starttime, clock ticks after boot) and 24 (rss, pages)
 * of /proc/self/stat, counted after the ")" that closes comm (a name may hold spaces). */
static int proc_stat(double *cpu, double *start_ticks, double *rss_pages)
{
	char *text = read_proc("/proc/self/stat");
	char *p = text ? strrchr(text, ')') : NULL;
	unsigned long long v[24] = { 0 };
	int field = 2; /* p is at the end of field 2 (comm) */

	if (!p) {
		free(text);
		return -1;
	}
	for (p++; field < 24 && *p;) {
		char *end;

		while (*p == ' ')
			p++;
		field++;
		if (field == 3) { /* state, a letter */
			while (*p && *p != ' ')
				p++;
			continue;
		}
		v[field - 1] = strtoull(p, &end, 10);
		if (end == p)
			break;
		p = end;
	}
	free(text);
	if (field < 24)
		return -1;
	*cpu = (double)(v[13] + v[14]);
	*start_ticks = (double)v[21];
	*rss_pages = (double)v[23];
	return 0;
}

/* The boot time (the "btime" line of /proc/stat), seconds since the epoch; 0 when unknown. */
static double boot_time(void)
{
	char *text = read_proc("/proc/stat");
	char *p = text ? strstr(text, "\nbtime ") : NULL;
	double t = p ? strtod(p + 7, NULL) : 0;

	free(text);
	return t;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own fd */
}

static int render_process(struct cni_buf *b)
{
	double ticks = (double)sysconf(_SC_CLK_TCK), cpu, start, rss;
	struct rlimit rl;
	long fds = open_fds();
	int rc = 0;

	if (proc_stat(&cpu, &start, &rss) == 0) {
		rc = render_gauge(b, "process_cpu_seconds_total",
				  "Total user and system CPU time spent in seconds.", "counter",
				  cpu / ticks);
		if (rc == 0)
			rc = render_gauge(b, "process_resident_memory_bytes",
					  "Resident memory size in bytes.", "gauge",
					  rss * (double)sysconf(_SC_PAGESIZE));
		if (rc == 0)
			rc = render_gauge(b, "process_start_time_seconds",
					  "Start time of the process since unix epoch in seconds.",
					  "gauge", boot_time() + start / ticks);
	}
	if (rc == 0 && fds >= 0)
		rc = render_gauge(b, "process_open_fds", "Number of open file descriptors.",
				  "gauge", (double)fds);
	if (rc == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		rc = render_gauge(b, "process_max_fds", "Maximum number of open file descriptors.",
				  "gauge",
				  rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
	return rc;
}

char *pxd_metrics_render(void)
{
	struct cni_buf b;
	int rc = 0;

	cni_buf_init(&b, SIZE_MAX, false);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < F_COUNT && rc == 0; i++)
		rc = render_family(&b, &families[i]);
	if (rc == 0)
		rc = render_gauge(&b, "plexus_queue_depth", "CNI requests waiting for a worker.",
				  "gauge", (double)queue_depth);
	if (rc == 0)
		rc = render_gauge(&b, "plexus_requests_in_flight", "CNI requests being served.",
				  "gauge", (double)inflight);
	if (rc == 0)
		rc = render_gauge(&b, "plexus_attachments",
				  "Attachments (container, interface) held in the cache.", "gauge",
				  (double)attachments);
	pthread_mutex_unlock(&lock);
	if (rc == 0 && caches)
		rc = render_caches(&b, caches);
	if (rc == 0)
		rc = render_process(&b);
	if (rc != 0) {
		cni_buf_free(&b);
		return NULL;
	}
	return cni_buf_take(&b, NULL);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     bool metrics)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    strlen(body), (void *)body, metrics ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (metrics)
			free((void *)body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				metrics ? "text/plain; version=0.0.4; charset=utf-8"
					: "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **state)
{
	char *text;

	(void)cls;
	(void)version;
	(void)upload;
	(void)state;
	*upload_size = 0; /* a body is read and dropped: none of these requests takes one */
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "404 page not found\n", false);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed\n", false);
	text = pxd_metrics_render();
	if (!text)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", false);
	return reply(c, MHD_HTTP_OK, text, true);
}

int pxd_metrics_serve(const char *bind_addr, int port, struct cni_err *err)
{
	const char *addr = bind_addr && *bind_addr ? bind_addr : PXD_METRICS_DEFAULT_BIND;
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (port < 0 || port > 65535)
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "metrics: port %d out of range 0..65535", port);
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		char *q = cni_quote(addr, 64);

		cni_err_set(err, CNI_ERR_INVALID_CONFIG,
			    "metrics: bind address %s is not an IPv4 or IPv6 address",
			    q ? q : "(out of memory)");
		free(q);
		return -1;
	}
	if (server)
		return cni_err_set(err, CNI_ERR_INTERNAL, "metrics: already serving");
	/* A scraper needs one connection; a few more cover a retry and an operator's curl. The
	 * timeout closes idle and slow connections as Multus's ReadHeaderTimeout does. */
	server =
	    MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
			     (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!server)
		return cni_err_set(err, CNI_ERR_IO, "metrics: cannot listen on %s%s%s:%d",
				   ss.ss_family == AF_INET6 ? "[" : "", addr,
				   ss.ss_family == AF_INET6 ? "]" : "", port);
	return 0;
}

int pxd_metrics_port(void)
{
	const union MHD_DaemonInfo *info;

	if (!server)
		return 0;
	info = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void pxd_metrics_stop(void)
{
	if (server)
		MHD_stop_daemon(server);
	server = NULL;
}
