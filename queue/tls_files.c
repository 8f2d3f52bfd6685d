/* SPDX-License-Identifier: MIT */
/* See tls_files.h. */
#include "queue/tls_files.h"

#include <string.h>
#include <sys/stat.h>

static struct tls_file_id file_id(const char *path)
{
	struct tls_file_id id;
	struct stat st;

	memset(&id, 0, sizeof(id));
	if (!path || !*path || stat(path, &st) < 0)
		return id;
	id.dev = (uint64_t)st.st_dev;
	id.ino = (uint64_t)st.st_ino;
	id.size = (uint64_t)st.st_size;
	id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	id.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	id.present = true;
	return id;
}

/* Field by field: the struct's padding is not compared. */
static bool same(const struct tls_file_id *a, const struct tls_file_id *b)
{
	return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

void tls_files_init(struct tls_files *w, const struct tls_config *t)
{
	w->ca = file_id(t->ca_file);
	w->cert = file_id(t->cert_file);
	w->key = file_id(t->key_file);
}

bool tls_files_changed(struct tls_files *w, const struct tls_config *t)
{
	struct tls_files now;

	tls_files_init(&now, t);
	if (same(&now.ca, &w->ca) && same(&now.cert, &w->cert) && same(&now.key, &w->key))
		return false;
	*w = now;
	return true;
}
