/* test/unit/test_daemon_metrics.c: plexusd's metrics (daemon/metrics.h).
 * The rendered text is checked line by line against the Prometheus text format 0.0.4 grammar
 * (comments, sample names, label escaping, values) by a strict parser written here, not by the
 * renderer's own code; test/integration/metrics.sh parses it again with prometheus_client. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "daemon/metrics.h"
#include "test/unit/unit.h"

/* One parsed sample: name, label text (unescaped, "k=v,k=v" in order), value. */
struct sample {
	char name[128];
	char labels[512];
	double value;
};

struct parsed {
	struct sample s[512];
	int n;
	char types[64][128]; /* "name type" from # TYPE lines */
	int ntypes;
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* Parses one sample line strictly; fails the test naming the line on any deviation. */
static void parse_sample(struct parsed *p, const char *line)
{
	struct sample *s = &p->s[p->n++];
	const char *c = line;
	size_t k = 0, lk = 0;
	char *end;

	ck_assert_int_lt(p->n, 512);
	ck_assert_msg(name_char(*c, true), "bad metric name start: %s", line);
	while (name_char(*c, false) && k < sizeof(s->name) - 1)
		s->name[k++] = *c++;
	s->name[k] = '\0';
	if (*c == '{') {
		c++;
		while (*c != '}') {
			ck_assert_msg(name_char(*c, true), "bad label name: %s", line);
			while (name_char(*c, false))
				s->labels[lk++] = *c++;
			ck_assert_msg(c[0] == '=' && c[1] == '"', "label without =\": %s", line);
			s->labels[lk++] = '=';
			c += 2;
			while (*c != '"') {
				ck_assert_msg(*c != '\0' && *c != '\n', "unterminated value: %s",
					      line);
				if (*c == '\\') {
					c++;
					ck_assert_msg(*c == '\\' || *c == '"' || *c == 'n',
						      "bad escape \\%c: %s", *c, line);
					s->labels[lk++] = *c == 'n' ? '\n' : *c;
				} else {
					s->labels[lk++] = *c;
				}
				c++;
				ck_assert_uint_lt(lk, sizeof(s->labels) - 2);
			}
			c++;
			if (*c == ',') {
				s->labels[lk++] = ',';
				c++;
			} else {
				ck_assert_msg(*c == '}', "labels not closed: %s", line);
			}
		}
		c++;
	}
	s->labels[lk] = '\0';
	ck_assert_msg(*c == ' ', "no space before value: %s", line);
	c++;
	if (strcmp(c, "+Inf") == 0) {
		s->value = INFINITY;
		return;
	}
	s->value = strtod(c, &end);
	ck_assert_msg(end != c && *end == '\0', "bad value (or timestamp): %s", line);
}

static void parse(struct parsed *p, const char *text)
{
	char *copy = strdup(text), *save = NULL;

	memset(p, 0, sizeof(*p));
	ck_assert_ptr_nonnull(copy);
	ck_assert_msg(text[0] && text[strlen(text) - 1] == '\n', "text must end with a newline");
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_int_lt(p->ntypes, 64);
			snprintf(p->types[p->ntypes++], sizeof(p->types[0]), "%s", line + 7);
		} else if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_msg(strchr(line + 7, ' '), "HELP without text: %s", line);
		} else {
			ck_assert_msg(line[0] != '#', "unknown comment: %s", line);
			parse_sample(p, line);
		}
	}
	free(copy);
}

/* The value of name{labels} (labels as parse writes them); fails when absent. */
static double value(const struct parsed *p, const char *name, const char *labels)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->s[i].name, name) == 0 && strcmp(p->s[i].labels, labels) == 0)
			return p->s[i].value;
	ck_abort_msg("no sample %s{%s}", name, labels);
	return NAN;
}

static bool has_type(const struct parsed *p, const char *name_type)
{
	for (int i = 0; i < p->ntypes; i++)
		if (strcmp(p->types[i], name_type) == 0)
			return true;
	return false;
}

static struct parsed P;

static void render_and_parse(void)
{
	char *text = pxd_metrics_render();

	ck_assert_ptr_nonnull(text);
	parse(&P, text);
	free(text);
}

START_TEST(request_counter_is_multus_name_help_and_label_order)
{
	char *text;

	pxd_metrics_init();
	pxd_metrics_request("/cni", 200, "post");
	pxd_metrics_request("/cni", 200, "post");
	pxd_metrics_request("NotFound", 404, "get");
	text = pxd_metrics_render();
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text,
				     "# HELP multus_server_request_total Counter of HTTP "
				     "requests\n# TYPE multus_server_request_total counter\n"));
	ck_assert_ptr_nonnull(strstr(
	    text,
	    "\nmultus_server_request_total{handler=\"/cni\",code=\"200\",method=\"post\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
	    text,
	    "\nmultus_server_request_total{handler=\"NotFound\",code=\"404\",method=\"get\"} 1\n"));
	free(text);
}
END_TEST

START_TEST(every_family_has_a_type_and_gauges_show_the_last_value)
{
	pxd_metrics_init();
	pxd_metrics_api("GET", 200);
	pxd_metrics_api("GET", 200);
	pxd_metrics_api("PATCH", 0);
	pxd_metrics_queue(7, 3);
	pxd_metrics_queue(5, 2);
	pxd_metrics_attachments(42);
	pxd_metrics_verb("ADD", 0.01, true);
	pxd_metrics_delegate("bridge", "ADD", 0.01, true);
	render_and_parse();
	ck_assert(has_type(&P, "multus_server_request_total counter"));
	ck_assert(has_type(&P, "plexus_cni_request_duration_seconds histogram"));
	ck_assert(has_type(&P, "plexus_delegate_exec_duration_seconds histogram"));
	ck_assert(has_type(&P, "plexus_api_requests_total counter"));
	ck_assert(has_type(&P, "plexus_queue_depth gauge"));
	ck_assert(has_type(&P, "plexus_requests_in_flight gauge"));
	ck_assert(has_type(&P, "plexus_attachments gauge"));
	ck_assert(has_type(&P, "process_cpu_seconds_total counter"));
	ck_assert(has_type(&P, "process_resident_memory_bytes gauge"));
	ck_assert(has_type(&P, "process_open_fds gauge"));
	ck_assert_double_eq(value(&P, "plexus_api_requests_total", "verb=GET,status=200"), 2);
	ck_assert_double_eq(value(&P, "plexus_api_requests_total", "verb=PATCH,status=0"), 1);
	ck_assert_double_eq(value(&P, "plexus_queue_depth", ""), 5);
	ck_assert_double_eq(value(&P, "plexus_requests_in_flight", ""), 2);
	ck_assert_double_eq(value(&P, "plexus_attachments", ""), 42);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative_and_match_count_and_sum)
{
	/* 0.0005 and 0.001 fall in le=0.001 (le is inclusive), 0.003 in le=0.005, 0.5 in 0.5,
	 * 100 only in +Inf */
	const double obs[] = { 0.0005, 0.001, 0.003, 0.5, 100 };
	const struct {
		const char *le;
		double count;
	} want[] = { { "0.001", 2 }, { "0.0025", 2 }, { "0.005", 3 },
		     { "0.5", 4 },   { "60", 4 },     { "+Inf", 5 } };
	double sum = 0, prev = 0;
	int buckets = 0;

	pxd_metrics_init();
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
		pxd_metrics_verb("ADD", obs[i], true);
		sum += obs[i];
	}
	pxd_metrics_verb("ADD", 0.2, false);
	render_and_parse();
	for (int i = 0; i < P.n; i++) {
		const char *l = P.s[i].labels;

		if (strcmp(P.s[i].name, "plexus_cni_request_duration_seconds_bucket") != 0 ||
		    strncmp(l, "verb=ADD,result=success,le=", 27) != 0)
			continue;
		ck_assert_msg(P.s[i].value >= prev, "bucket %s went down: %g < %g", l, P.s[i].value,
			      prev);
		prev = P.s[i].value;
		buckets++;
	}
	ck_assert_int_eq(buckets, 16); /* 15 bounds and +Inf */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char labels[64];

		snprintf(labels, sizeof(labels), "verb=ADD,result=success,le=%s", want[i].le);
		ck_assert_double_eq(value(&P, "plexus_cni_request_duration_seconds_bucket", labels),
				    want[i].count);
	}
	ck_assert_double_eq(
	    value(&P, "plexus_cni_request_duration_seconds_count", "verb=ADD,result=success"), 5);
	ck_assert_double_eq_tol(
	    value(&P, "plexus_cni_request_duration_seconds_sum", "verb=ADD,result=success"), sum,
	    1e-12);
	ck_assert_double_eq(
	    value(&P, "plexus_cni_request_duration_seconds_count", "verb=ADD,result=error"), 1);
}
END_TEST

START_TEST(label_values_are_escaped_per_the_text_format)
{
	char *text;

	pxd_metrics_init();
	pxd_metrics_delegate("we\"ird\\ty\npe", "ADD", 0.5, false);
	text = pxd_metrics_render();
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text,
				     "plexus_delegate_exec_duration_seconds_count{type=\"we\\\"ird"
				     "\\\\ty\\npe\",verb=\"ADD\",result=\"error\"} 1\n"));
	parse(&P, text);
	free(text);
	ck_assert_double_eq(value(&P, "plexus_delegate_exec_duration_seconds_sum",
				  "type=we\"ird\\ty\npe,verb=ADD,result=error"),
			    0.5);
}
END_TEST

START_TEST(label_values_are_valid_utf8_and_cut_at_a_whole_character)
{
	char lng[PXD_METRICS_LABEL_MAX + 2], want[PXD_METRICS_LABEL_MAX + 16];
	size_t i = 0;

	pxd_metrics_init();
	/* a stray byte and an overlong "/" (one run), a sequence cut short: one U+FFFD per run */
	pxd_metrics_api("a\xff\xc0\xaf"
			"b\xe2\x82",
			200);
	/* "x" then 64 two-byte characters (129 bytes): the one that would end past 128 bytes goes */
	lng[i++] = 'x';
	while (i + 2 <= sizeof(lng) - 1) {
		lng[i++] = '\xc3';
		lng[i++] = '\xa9';
	}
	lng[i] = '\0';
	ck_assert_uint_eq(strlen(lng), PXD_METRICS_LABEL_MAX + 1);
	pxd_metrics_api(lng, 200);
	render_and_parse();
	ck_assert_double_eq(value(&P, "plexus_api_requests_total",
				  "verb=a\xef\xbf\xbd"
				  "b\xef\xbf\xbd,status=200"),
			    1);
	ck_assert_int_lt(
	    snprintf(want, sizeof(want), "verb=%.*s,status=200", PXD_METRICS_LABEL_MAX - 1, lng),
	    (int)sizeof(want));
	ck_assert_double_eq(value(&P, "plexus_api_requests_total", want), 1);
}
END_TEST

START_TEST(new_label_values_past_the_cap_fold_into_other)
{
	char type[32];

	pxd_metrics_init();
	for (int i = 0; i < PXD_METRICS_SERIES_MAX + 10; i++) {
		snprintf(type, sizeof(type), "t%d", i);
		pxd_metrics_api(type, 200);
	}
	pxd_metrics_api("t0", 200); /* an existing series still counts on its own */
	render_and_parse();
	ck_assert_double_eq(value(&P, "plexus_api_requests_total", "verb=t0,status=200"), 2);
	/* 256 named series, then the 10 new values in one series whose every label is "other" */
	ck_assert_double_eq(value(&P, "plexus_api_requests_total", "verb=other,status=other"), 10);
}
END_TEST

START_TEST(process_metrics_come_from_proc_self)
{
	long size = 0, pages = 0, fds_before;
	FILE *f = fopen("/proc/self/statm", "r");
	int extra[3];

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &size, &pages), 2);
	fclose(f);
	pxd_metrics_init();
	render_and_parse();
	fds_before = (long)value(&P, "process_open_fds", "");
	ck_assert_double_gt(value(&P, "process_resident_memory_bytes", ""), 0);
	/* within 25% of statm's resident pages read just before */
	ck_assert_double_lt(fabs(value(&P, "process_resident_memory_bytes", "") -
				 (double)pages * (double)sysconf(_SC_PAGESIZE)),
			    0.25 * (double)pages * (double)sysconf(_SC_PAGESIZE));
	ck_assert_double_ge(value(&P, "process_cpu_seconds_total", ""), 0);
	ck_assert_double_gt(value(&P, "process_start_time_seconds", ""), 1.6e9);
	for (int i = 0; i < 3; i++)
		extra[i] = dup(0);
	render_and_parse();
	ck_assert_double_eq(value(&P, "process_open_fds", ""), (double)(fds_before + 3));
	for (int i = 0; i < 3; i++)
		close(extra[i]);
}
END_TEST

#define THREADS	   8
#define PER_THREAD 20000

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		pxd_metrics_request("/cni", 200, "post");
		pxd_metrics_verb(i % 2 ? "ADD" : "DEL", 0.25, true);
		if (i % 1000 == 0)
			free(pxd_metrics_render());
	}
	return NULL;
}

START_TEST(concurrent_increments_are_all_counted)
{
	pthread_t t[THREADS];

	pxd_metrics_init();
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	render_and_parse();
	ck_assert_double_eq(
	    value(&P, "multus_server_request_total", "handler=/cni,code=200,method=post"),
	    THREADS * PER_THREAD);
	ck_assert_double_eq(
	    value(&P, "plexus_cni_request_duration_seconds_count", "verb=ADD,result=success"),
	    THREADS * PER_THREAD / 2);
	ck_assert_double_eq(
	    value(&P, "plexus_cni_request_duration_seconds_sum", "verb=DEL,result=success"),
	    0.25 * THREADS * PER_THREAD / 2);
}
END_TEST

/* One HTTP/1.0 request to 127.0.0.1:port; returns the status code, the body in *body. */
static int http(int port, const char *request, char **body)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	size_t len = 0, cap = 1 << 20;
	char *buf = calloc(1, cap), *b;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	sscanf(buf, "HTTP/1.%*d %d", &status);
	b = strstr(buf, "\r\n\r\n");
	if (body)
		*body = strdup(b ? b + 4 : "");
	free(buf);
	return status;
}

START_TEST(serves_metrics_404_elsewhere_405_for_other_methods)
{
	struct cni_err err = { 0 };
	char *body = NULL;
	int port;

	pxd_metrics_init();
	pxd_metrics_request("/healthz", 200, "get");
	ck_assert_int_eq(pxd_metrics_serve(NULL, 0, &err), 0);
	port = pxd_metrics_port();
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(pxd_metrics_serve(NULL, 0, &err), -1); /* once only */
	ck_assert_str_eq(err.msg, "metrics: already serving");
	cni_err_clear(&err);

	ck_assert_int_eq(http(port, "GET /metrics HTTP/1.0\r\n\r\n", &body), 200);
	parse(&P, body);
	ck_assert_double_eq(
	    value(&P, "multus_server_request_total", "handler=/healthz,code=200,method=get"), 1);
	free(body);
	ck_assert_int_eq(http(port, "GET /metricsx HTTP/1.0\r\n\r\n", NULL), 404);
	ck_assert_int_eq(http(port, "GET / HTTP/1.0\r\n\r\n", NULL), 404);
	ck_assert_int_eq(http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", NULL),
			 405);
	ck_assert_int_eq(http(port, "DELETE /metrics HTTP/1.0\r\n\r\n", NULL), 405);
	ck_assert_int_eq(http(port, "HEAD /metrics HTTP/1.0\r\n\r\n", NULL), 200);
	pxd_metrics_stop();
	ck_assert_int_eq(pxd_metrics_port(), 0);
}
END_TEST

START_TEST(bad_bind_address_or_port_is_a_config_error)
{
	struct cni_err err = { 0 };

	ck_assert_int_eq(pxd_metrics_serve("localhost", 9091, &err), -1);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg,
			 "metrics: bind address \"localhost\" is not an IPv4 or IPv6 address");
	cni_err_clear(&err);
	ck_assert_int_eq(pxd_metrics_serve("127.0.0.1", 70000, &err), -1);
	ck_assert_str_eq(err.msg, "metrics: port 70000 out of range 0..65535");
	cni_err_clear(&err);
	/* 192.0.2.1 (TEST-NET-1) is on no interface here: cannot listen */
	ck_assert_int_eq(pxd_metrics_serve("192.0.2.1", 0, &err), -1);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_str_eq(err.msg, "metrics: cannot listen on 192.0.2.1:0");
	cni_err_clear(&err);
	ck_assert_int_eq(pxd_metrics_port(), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("daemon_metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, request_counter_is_multus_name_help_and_label_order);
	tcase_add_test(tc, every_family_has_a_type_and_gauges_show_the_last_value);
	tcase_add_test(tc, histogram_buckets_are_cumulative_and_match_count_and_sum);
	tcase_add_test(tc, label_values_are_escaped_per_the_text_format);
	tcase_add_test(tc, label_values_are_valid_utf8_and_cut_at_a_whole_character);
	tcase_add_test(tc, new_label_values_past_the_cap_fold_into_other);
	tcase_add_test(tc, process_metrics_come_from_proc_self);
	tcase_add_test(tc, concurrent_increments_are_all_counted);
	tcase_add_test(tc, serves_metrics_404_elsewhere_405_for_other_methods);
	tcase_add_test(tc, bad_bind_address_or_port_is_a_config_error);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
