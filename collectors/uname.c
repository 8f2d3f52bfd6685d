/* SPDX-License-Identifier: MIT */
/* uname: node_uname_info{domainname,machine,nodename,release,sysname,version} 1
 * from uname(2), as node_exporter 1.5's uname collector. In a container this
 * is the container's UTS namespace (its nodename is the pod's hostname
 * unless hostNetwork/hostUTS is set); node_exporter has the same view. */
#include <sys/utsname.h>

#include "collectors/all.h"
#include "lib/log.h"

static const struct metric_desc uname_desc = {
	"node_uname_info", "Labeled system information as provided by the uname system call.",
	METRIC_GAUGE};

static int uname_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct utsname u;
	(void)ctx;

	if (uname(&u) < 0)
		return -1;
	const struct label labels[] = {
		{"sysname", u.sysname}, {"release", u.release},   {"version", u.version},
		{"machine", u.machine}, {"nodename", u.nodename}, {"domainname", u.domainname},
	};
	return registry_emit(reg, &uname_desc, NULL, labels, sizeof(labels) / sizeof(labels[0]),
			     1, 0);
}

const struct collector collector_uname = {
	.name = "uname",
	.default_enabled = true,
	.update = uname_update,
};
