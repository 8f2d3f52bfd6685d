/* SPDX-License-Identifier: MIT */
#include "bpf/listen_diag.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "lib/buf.h"

static struct listen_port *ports;
static size_t n_ports, ports_cap;
static int32_t slot_of[65536]; /* port -> index + 1 in ports, during a call */

static struct listen_port *port_entry(uint16_t port)
{
	if (slot_of[port])
		return &ports[slot_of[port] - 1];
	if (grow_array((void **)&ports, &ports_cap, n_ports + 1, sizeof(*ports)) < 0)
		return NULL;
	ports[n_ports] = (struct listen_port){.port = port};
	slot_of[port] = (int32_t)++n_ports;
	return &ports[n_ports - 1];
}

static void add_socket(const struct inet_diag_msg *m, size_t len)
{
	struct listen_port *p = port_entry(ntohs(m->id.idiag_sport));
	size_t rta_len = len - NLMSG_ALIGN(sizeof(*m));
	struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof(*m)));

	if (!p)
		return;
	/* For a listener, rqueue is its accept queue, wqueue its backlog. */
	p->queued += m->idiag_rqueue;
	p->capacity += m->idiag_wqueue;
	for (; RTA_OK(a, rta_len); a = RTA_NEXT(a, rta_len)) {
		if (a->rta_type == INET_DIAG_SKMEMINFO &&
		    RTA_PAYLOAD(a) >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
			p->drops += ((const uint32_t *)RTA_DATA(a))[SK_MEMINFO_DROPS];
	}
}

/* One dump of family's listening TCP sockets. 0 or -1. */
static int dump(int fd, uint8_t family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = family},
		.req = {.sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
			.idiag_states = 1U << TCP_LISTEN,
			.idiag_ext = 1U << (INET_DIAG_SKMEMINFO - 1)},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));

	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left = (size_t)n;
		for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				/* No IPv6 in this kernel: nothing to count. */
				if (family == AF_INET6 && e->error == -ENOENT)
					return 0;
				errno = e->error ? -e->error : EIO;
				return -1;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
			    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
				add_socket(NLMSG_DATA(h), h->nlmsg_len - NLMSG_LENGTH(0));
		}
	}
}

int listen_diag_ports(void (*fn)(const struct listen_port *p, void *arg), void *arg)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int rc = 0;

	if (fd < 0)
		return -1;
	n_ports = 0;
	if (dump(fd, AF_INET) < 0 || dump(fd, AF_INET6) < 0)
		rc = -1;
	close(fd);
	for (size_t i = 0; i < n_ports; i++) {
		if (rc == 0)
			fn(&ports[i], arg);
		slot_of[ports[i].port] = 0;
	}
	return rc < 0 ? -1 : (int)n_ports;
}
