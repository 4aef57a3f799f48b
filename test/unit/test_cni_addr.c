/* test/unit/test_cni_addr.c: addresses and CIDRs parse and print as Go's net package does.
 * The expected strings come from Go itself: test/compat/addr-table.go wrote golden/addr_cases.h. */
#include "test/unit/unit.h"

#include <stdbool.h>
#include <sys/socket.h>

#include "cni/addr.h"

struct addr_case {
	const char *in;
	const char *want; /* NULL: Go refuses the input */
	bool is4;
	bool unspecified;
};

#include "test/unit/golden/addr_cases.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* One row of the table: Go's verdict, Go's printed form, Go's To4(). */
static void check(const struct addr_case *c, bool (*parse)(const char *, struct cni_addr *),
		  const char *go_fn)
{
	char text[CNI_ADDR_TEXT_MAX];
	struct cni_addr a;
	bool ok = parse(c->in, &a);

	if (!c->want) {
		ck_assert_msg(!ok, "\"%s\": Go's %s refuses it, we took it as %s", c->in, go_fn,
			      cni_addr_format(&a, text));
		return;
	}
	ck_assert_msg(ok, "\"%s\": Go's %s takes it as %s, we refused it", c->in, go_fn, c->want);
	ck_assert_str_eq(cni_addr_format(&a, text), c->want);
	ck_assert_msg(cni_addr_is4(&a) == c->is4, "\"%s\": To4() != nil is %d, we said %d", c->in,
		      c->is4, cni_addr_is4(&a));
	ck_assert_msg(cni_addr_is_unspecified(&a) == c->unspecified,
		      "\"%s\": IsUnspecified() is %d, we said %d", c->in, c->unspecified,
		      cni_addr_is_unspecified(&a));
}

START_TEST(parse_ip_prints_what_go_prints)
{
	check(&ip_cases[_i], cni_addr_parse, "ParseIP");
}
END_TEST

START_TEST(parse_cidr_prints_what_libcni_prints)
{
	check(&cidr_cases[_i], cni_addr_parse_cidr, "ParseCIDR");
}
END_TEST

START_TEST(plain_address_has_no_prefix)
{
	struct cni_addr a;

	ck_assert(cni_addr_parse("2001:db8::1", &a));
	ck_assert_int_eq(a.prefix, -1);
}
END_TEST

/* The kernel gets the family the text was written in: a mapped address written as IPv6 stays
 * an IPv6 address of 16 bytes, as `ip addr add ::ffff:10.0.0.1/120` does. */
START_TEST(family_and_bytes_follow_the_written_form)
{
	static const unsigned char v4[4] = { 10, 0, 0, 1 };
	static const unsigned char mapped[16] = { 0, 0, 0,    0,    0,	0, 0, 0,
						  0, 0, 0xff, 0xff, 10, 0, 0, 1 };
	struct cni_addr a;
	size_t len;
	const unsigned char *b;

	ck_assert(cni_addr_parse_cidr("10.0.0.1/24", &a));
	ck_assert_int_eq(cni_addr_family(&a), AF_INET);
	b = cni_addr_bytes(&a, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(b, v4, 4);
	ck_assert_int_eq(a.prefix, 24);

	ck_assert(cni_addr_parse_cidr("::ffff:10.0.0.1/120", &a));
	ck_assert_int_eq(cni_addr_family(&a), AF_INET6);
	b = cni_addr_bytes(&a, &len);
	ck_assert_uint_eq(len, 16);
	ck_assert_mem_eq(b, mapped, 16);
	ck_assert_int_eq(a.prefix, 120);
}
END_TEST

/* Longer than any address Go accepts: refused without reading past the buffer. */
START_TEST(overlong_host_part_is_refused)
{
	char s[200];
	struct cni_addr a;

	memset(s, '1', sizeof(s));
	memcpy(s + 150, "/24", 4);
	ck_assert(!cni_addr_parse_cidr(s, &a));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cni_addr");
	TCase *t = tcase_create("go");

	tcase_add_loop_test(t, parse_ip_prints_what_go_prints, 0, N(ip_cases));
	tcase_add_loop_test(t, parse_cidr_prints_what_libcni_prints, 0, N(cidr_cases));
	tcase_add_test(t, plain_address_has_no_prefix);
	tcase_add_test(t, family_and_bytes_follow_the_written_form);
	tcase_add_test(t, overlong_host_part_is_refused);
	suite_add_tcase(s, t);
	return s;
}

UNIT_MAIN(suite)
