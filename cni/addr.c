/* cni/addr.c: IP addresses and CIDRs parsed and printed as Go's net package does.
 * Follows Go src/net/ip.go (ParseIP, ParseCIDR, IP.String, IPNet.String, simpleMaskLength). */
#include "cni/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool cni_addr_is4(const struct cni_addr *a)
{
	return memcmp(a->b, v4_mapped, sizeof(v4_mapped)) == 0;
}

bool cni_addr_is_unspecified(const struct cni_addr *a)
{
	static const unsigned char zero[16];

	return memcmp(a->b, zero, sizeof(zero)) == 0 ||
	       (cni_addr_is4(a) && memcmp(a->b + 12, zero, 4) == 0);
}

int cni_addr_family(const struct cni_addr *a)
{
	return a->dotted ? AF_INET : AF_INET6;
}

const unsigned char *cni_addr_bytes(const struct cni_addr *a, size_t *len)
{
	*len = a->dotted ? 4 : 16;
	return a->dotted ? a->b + 12 : a->b;
}

/* glibc's inet_pton takes exactly what Go's parseIPv4/parseIPv6 take: four decimal octets
 * without leading zeros, or RFC 4291 text without a zone. */
bool cni_addr_parse(const char *s, struct cni_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->prefix = -1;
	if (inet_pton(AF_INET, s, a->b + 12) == 1) {
		memcpy(a->b, v4_mapped, sizeof(v4_mapped));
		a->dotted = true;
		return true;
	}
	return inet_pton(AF_INET6, s, a->b) == 1;
}

/* Go's dtoi: digits only, at least one; the value is bounded long before it could overflow. */
bool cni_addr_parse_cidr(const char *s, struct cni_addr *a)
{
	const char *slash = strchr(s, '/');
	char host[CNI_ADDR_TEXT_MAX];
	size_t hlen;
	long n = 0;

	if (!slash || !slash[1])
		return false;
	/* Every address Go accepts is shorter than this; a longer one is no address. */
	hlen = (size_t)(slash - s);
	if (hlen >= sizeof(host))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (!cni_addr_parse(host, a))
		return false;
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || n > 128)
			return false;
		n = n * 10 + (*p - '0');
	}
	if (n > (a->dotted ? 32 : 128))
		return false;
	a->prefix = (int)n;
	return true;
}

char *cni_addr_format(const struct cni_addr *a, char out[CNI_ADDR_TEXT_MAX])
{
	int zs = -1, zl = 0, n = 0;
	unsigned w[8];

	if (cni_addr_is4(a)) {
		n = snprintf(out, CNI_ADDR_TEXT_MAX, "%u.%u.%u.%u", a->b[12], a->b[13], a->b[14],
			     a->b[15]);
	} else {
		for (int i = 0; i < 8; i++)
			w[i] = (unsigned)a->b[2 * i] << 8 | a->b[2 * i + 1];
		/* The first longest run of two or more zero groups becomes "::". */
		for (int i = 0; i < 8; i++) {
			int j = i;

			while (j < 8 && w[j] == 0)
				j++;
			if (j - i >= 2 && j - i > zl) {
				zs = i;
				zl = j - i;
			}
		}
		out[0] = '\0';
		for (int i = 0; i < 8; i++) {
			if (i == zs) {
				n += snprintf(out + n, (size_t)(CNI_ADDR_TEXT_MAX - n), "::");
				i += zl - 1;
				continue;
			}
			n += snprintf(out + n, (size_t)(CNI_ADDR_TEXT_MAX - n), "%s%x",
				      i && i != zs + zl ? ":" : "", w[i]);
		}
	}
	/* IPNet.String() of a mapped address with a 128-bit mask keeps only the mask's last 32
	 * bits (networkNumberAndMask). */
	if (a->prefix >= 0) {
		int p = a->prefix;

		if (!a->dotted && cni_addr_is4(a))
			p = p > 96 ? p - 96 : 0;
		snprintf(out + n, (size_t)(CNI_ADDR_TEXT_MAX - n), "/%d", p);
	}
	return out;
}
