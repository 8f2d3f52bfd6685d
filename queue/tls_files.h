/* SPDX-License-Identifier: MIT */
/* tls_files: whether the files of a tls_config (ca_file, cert_file,
 * key_file) changed on disk since the last look, so that a sender opens a
 * new connection with them: libcurl reads them only when it connects, and
 * a kept-alive connection would go on with the old ones for as long as it
 * lives. A file is known by device, inode, size and modification time, as
 * stat() (which follows symlinks: a Kubernetes secret's ..data swap) says. */
#ifndef BPFPUSH_TLS_FILES_H
#define BPFPUSH_TLS_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

struct tls_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	bool present;
};

struct tls_files {
	struct tls_file_id ca, cert, key;
};

/* Records what the files are now. */
void tls_files_init(struct tls_files *w, const struct tls_config *t);

/* true when any of the files differs from the last look (then records it);
 * a file that cannot be stat()ed counts as absent. */
bool tls_files_changed(struct tls_files *w, const struct tls_config *t);

#endif
