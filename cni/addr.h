/* cni/addr.h: IP addresses and CIDRs parsed and printed exactly as Go's net package does.
 * Follows Go net.ParseIP, net.ParseCIDR, IP.String and IPNet.String (src/net/ip.go), which
 * libcni's types.IPNet and every Go plugin's result use. */
#ifndef PLEXUS_CNI_ADDR_H
#define PLEXUS_CNI_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "cni/err.h"

/* Like Go's net.IP, every address is kept in 16 bytes, IPv4 as ::ffff:a.b.c.d, so an
 * IPv4-mapped IPv6 address counts as IPv4 (Go's To4() != nil). */
struct cni_addr {
	unsigned char b[16];
	bool dotted; /* written as IPv4: a CIDR prefix counts 32 bits, not 128 */
	int prefix;  /* -1 for a plain address */
};

/* Longest printed form: INET6_ADDRSTRLEN plus "/128". */
#define CNI_ADDR_TEXT_MAX 64

/* net.ParseIP: dotted IPv4 (no leading zeros) or IPv6 text (RFC 4291, embedded IPv4
 * allowed, no zone). Returns true and fills a (prefix -1), false when s is not an address. */
bool cni_addr_parse(const char *s, struct cni_addr *a) CNI_MUST_CHECK;

/* net.ParseCIDR: "<address>/<prefix>", the prefix decimal digits (leading zeros allowed) up to
 * 32 for dotted IPv4 and 128 otherwise. The address keeps its host bits, as libcni's
 * types.ParseCIDR keeps them. Returns true and fills a, false when s is not a CIDR. */
bool cni_addr_parse_cidr(const char *s, struct cni_addr *a) CNI_MUST_CHECK;

/* True for IPv4 and IPv4-mapped IPv6 addresses (Go's To4() != nil). */
bool cni_addr_is4(const struct cni_addr *a);

/* IP.IsUnspecified(): 0.0.0.0 (also as ::ffff:0.0.0.0) or ::, whatever the prefix. */
bool cni_addr_is_unspecified(const struct cni_addr *a);

/* The family the address was written in: AF_INET for dotted IPv4, AF_INET6 otherwise (an
 * IPv4-mapped address written as IPv6 stays AF_INET6), with its bytes and length (4 or 16)
 * as the kernel takes them. */
int cni_addr_family(const struct cni_addr *a);
const unsigned char *cni_addr_bytes(const struct cni_addr *a, size_t *len);

/* IP.String() for a plain address, IPNet.String() of {IP: address, Mask: prefix} for a CIDR:
 * dotted for IPv4 (mapped included), else RFC 5952 (lower case, the first longest run of two
 * or more zero groups compressed, never glibc's "::a.b.c.d"). A mapped address with a
 * 128-bit prefix keeps only the prefix's last 32 bits ("::ffff:10.0.0.1/120" prints as
 * "10.0.0.1/24"). Writes at most CNI_ADDR_TEXT_MAX bytes including the NUL; returns out. */
char *cni_addr_format(const struct cni_addr *a, char out[CNI_ADDR_TEXT_MAX]);

#endif
