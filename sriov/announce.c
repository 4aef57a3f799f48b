/* sriov/announce.c: gratuitous ARP over AF_PACKET and unsolicited NA over an ICMPv6 socket.
 * Follows sriov-cni pkg/utils/packet.go (one of each per address, wait for the link first). */
#include "sriov/announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cni/addr.h"
#include "cni/log.h"
#include "cni/netns.h"

struct job {
	const char *ifname;
	const unsigned char *mac;
	const cJSON *ips;
};

static void wait_running(const char *ifname)
{
	struct timespec ts = { 0, 10 * 1000000L };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	for (int i = 0; i < 20; i++) {
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 &&
		    (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING))
			break;
		nanosleep(&ts, NULL);
	}
	close(fd);
}

static void send_garp(int ifindex, const unsigned char mac[6], const struct in_addr *ip)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = ifindex,
				  .sll_halen = 6 };
	unsigned char pkt[28] = { 0, 1, 8, 0, 6, 4, 0, 1 }; /* Ethernet, IPv4, request */
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));

	if (fd < 0) {
		log_verbose("gratuitous ARP: socket: %s", strerror(errno));
		return;
	}
	memset(to.sll_addr, 0xff, 6);
	memcpy(pkt + 8, mac, 6);
	memcpy(pkt + 14, ip, 4);
	memcpy(pkt + 24, ip, 4); /* target = sender: "this address is here now" */
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_verbose("gratuitous ARP: send: %s", strerror(errno));
	close(fd);
}

static void send_na(int ifindex, const unsigned char mac[6], const struct in6_addr *ip)
{
	struct {
		struct nd_neighbor_advert na;
		unsigned char opt[8];
	} pkt = { 0 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
	struct sockaddr_in6 from = { .sin6_family = AF_INET6, .sin6_addr = *ip };
	int hops = 255, fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);

	if (fd < 0) {
		log_verbose("unsolicited NA: socket: %s", strerror(errno));
		return;
	}
	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
	setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
	setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex));
	/* A tentative address cannot be bound; the kernel then picks the source itself. */
	(void)bind(fd, (struct sockaddr *)&from, sizeof(from));
	pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	pkt.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	pkt.na.nd_na_target = *ip;
	pkt.opt[0] = ND_OPT_TARGET_LINKADDR;
	pkt.opt[1] = 1; /* in units of 8 bytes */
	memcpy(pkt.opt + 2, mac, 6);
	if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		log_verbose("unsolicited NA: send: %s", strerror(errno));
	close(fd);
}

static int announce_in_netns(void *arg, struct cni_err *err)
{
	const struct job *j = arg;
	const cJSON *ip;
	int ifindex = (int)if_nametoindex(j->ifname);

	(void)err;
	if (!ifindex)
		return 0;
	wait_running(j->ifname);
	cJSON_ArrayForEach(ip, j->ips)
	{
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(ip, "address");
		struct cni_addr addr;
		struct in_addr v4;
		struct in6_addr v6;
		const unsigned char *b;
		size_t len;

		if (!cJSON_IsString(a) || !(cni_addr_parse_cidr(a->valuestring, &addr) ||
					    cni_addr_parse(a->valuestring, &addr)))
			continue;
		/* The family it is written in, as the address was configured. */
		b = cni_addr_bytes(&addr, &len);
		if (cni_addr_family(&addr) == AF_INET) {
			memcpy(&v4, b, len);
			send_garp(ifindex, j->mac, &v4);
		} else {
			memcpy(&v6, b, len);
			send_na(ifindex, j->mac, &v6);
		}
	}
	return 0;
}

void sriov_announce(const char *netns_path, const char *ifname, const unsigned char mac[6],
		    const cJSON *result)
{
	static const unsigned char zero[6];
	struct job j = { ifname, mac, cJSON_GetObjectItemCaseSensitive(result, "ips") };
	struct cni_err e = { 0 };

	if (!cJSON_IsArray(j.ips) || (mac[0] & 1) || memcmp(mac, zero, 6) == 0)
		return;
	if (cni_netns_do(netns_path, announce_in_netns, &j, &e) < 0)
		log_verbose("announce addresses of \"%s\": %s", ifname, e.msg);
	cni_err_clear(&e);
}
