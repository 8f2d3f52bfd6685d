/* SPDX-License-Identifier: MIT */
/* filesystem: every mounted filesystem's size, free space and inodes, as
 * node_exporter 1.5's filesystem collector exposes them:
 *   node_filesystem_{size,free,avail}_bytes, _files, _files_free, _readonly,
 *   _device_error   {device,fstype,mountpoint}
 * The mounts are <procfs>/1/mounts (the host's init's view; <procfs>/mounts
 * when that cannot be read, e.g. with hidepid), less those whose mount point
 * matches mount_points_exclude or whose type matches fs_types_exclude. Each
 * is statfs(2)'d at <rootfs>/<mount point>; sizes are f_blocks, f_bfree and
 * f_bavail times f_bsize as node_exporter computes them, readonly comes from
 * the "ro" mount option. A mount that appears twice (the same device, mount
 * point and type: stacked or repeated mounts) is reported once, the first.
 * Mount points have their \ooo escapes (space, tab, newline, backslash)
 * decoded (node_exporter decodes only \040 and \011). With a rootfs other
 * than "/", a mount point under it has that prefix taken away, as
 * node_exporter's rootfsStripPrefix (here only at a '/' boundary).
 *
 * A dead NFS server or a hung FUSE daemon makes statfs(2) block, possibly
 * for ever, and no signal gets a thread out of it. So the calls run in a
 * small pool of worker threads (stat_workers, 4) and update() waits for
 * them at most stat_timeout (5s) in all. A call still running then marks
 * its mount "stuck": it is reported with device_error 1 and no size series,
 * logged once, and not stat'd again (its thread stays blocked; no other
 * thread is sent after it) until that call returns, as node_exporter's
 * stuckMounts. The pool starts a replacement for a stuck worker, so the
 * number of threads is at most stat_workers + the number of stuck mounts.
 * A mount queued but not reached before the deadline is reported with
 * device_error 1 too, without being marked stuck. (node_exporter itself
 * waits for the blocked call in the scrape that meets it; here no update
 * takes longer than stat_timeout plus parsing.)
 *
 * At exit, idle workers are joined. A worker still blocked in statfs cannot
 * be joined (nothing interrupts it) nor cancelled safely: it is detached
 * and left to free its own memory when the call returns; the pool's
 * memory is freed at once and never touched by it again (it learns that
 * it was orphaned from one atomic exchange on its own state). If the
 * process exits first, the kernel reaps the thread. */
#include "collectors/filesystem.h"
#include "collectors/filesystem_test.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/all.h"
#include "collectors/filter.h"
#include "lib/readfile.h"
#include "lib/buf.h"
#include "lib/hashmap.h"
#include "lib/log.h"

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_WORKERS 64
#define WORKER_STACK (256 * 1024)

static const struct opt_desc filesystem_opt_descs[] = {
	{"mount_points_exclude", OPT_REGEX, FILESYSTEM_DEFAULT_MOUNT_POINTS_EXCLUDE,
	 offsetof(struct filesystem_opts, mount_points_exclude), 0},
	{"fs_types_exclude", OPT_REGEX, FILESYSTEM_DEFAULT_FS_TYPES_EXCLUDE,
	 offsetof(struct filesystem_opts, fs_types_exclude), 0},
	{"stat_timeout", OPT_DURATION, "5s", offsetof(struct filesystem_opts, stat_timeout_ms), 0},
	{"stat_workers", OPT_INT, "4", offsetof(struct filesystem_opts, stat_workers), MAX_WORKERS},
	{NULL, 0, NULL, 0, 0},
};

enum { FS_SIZE, FS_FREE, FS_AVAIL, FS_FILES, FS_FILES_FREE, FS_READONLY, FS_DEVICE_ERROR, N_FS };

static const struct metric_desc fs_descs[N_FS] = {
	{"node_filesystem_size_bytes", "Filesystem size in bytes.", METRIC_GAUGE},
	{"node_filesystem_free_bytes", "Filesystem free space in bytes.", METRIC_GAUGE},
	{"node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.",
	 METRIC_GAUGE},
	{"node_filesystem_files", "Filesystem total file nodes.", METRIC_GAUGE},
	{"node_filesystem_files_free", "Filesystem total free file nodes.", METRIC_GAUGE},
	{"node_filesystem_readonly", "Filesystem read-only status.", METRIC_GAUGE},
	{"node_filesystem_device_error",
	 "Whether an error occurred while getting statistics for the given device.", METRIC_GAUGE},
};

/* ---- the worker pool -------------------------------------------------- */

enum worker_state { W_IDLE, W_IN_STAT, W_RETURNED, W_ORPHANED };

struct fs_pool;

struct worker {
	struct fs_pool *pool; /* not to be touched once orphaned */
	pthread_t tid;
	atomic_int state;     /* enum worker_state */
	/* the rest under pool->mu */
	bool stuck;           /* its call overran a round's deadline */
	bool retired;         /* the thread has ended: join and free it */
	uint64_t round;       /* the round of the job it took */
	size_t job;
	struct worker *next;
	char path[PATH_MAX];       /* what it stats: its own copy */
	char mountpoint[PATH_MAX]; /* for the stuck list and the logs */
};

enum job_state { J_QUEUED, J_RUNNING, J_DONE };

struct fs_job {
	const char *path, *mountpoint;
	enum job_state state;
	int err;
	struct statfs st;
};

struct fs_pool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* workers: a job, or shutdown */
	pthread_cond_t done; /* update: the round's last job is done (monotonic) */
	struct worker *workers;
	size_t n_ready; /* workers alive and not stuck */
	size_t target;
	bool shutdown;
	uint64_t round;
	struct fs_job *jobs; /* the round's; n_jobs is 0 between rounds */
	size_t n_jobs, next_job, n_done, cap_jobs;
	filesystem_stat_fn fn;
};

static atomic_uint orphans;

unsigned filesystem_orphaned_threads(void)
{
	return atomic_load(&orphans);
}

/* With p->mu held, once w's call returned err and sfs: the result goes to
 * its job if the job's round still waits for it. false when w comes back
 * from a stuck call and its replacement works: w is to retire. */
static bool finish_job(struct fs_pool *p, struct worker *w, int err, const struct statfs *sfs)
{
	atomic_store(&w->state, W_IDLE);
	if (w->stuck) {
		w->stuck = false;
		log_msg(LOG_INFO, "filesystem: mount point has recovered, monitoring will resume",
			"mountpoint=\"%s\"", w->mountpoint);
		if (p->n_ready >= p->target)
			return false;
		p->n_ready++;
		return true;
	}
	if (w->round == p->round && w->job < p->n_jobs) {
		struct fs_job *j = &p->jobs[w->job];

		j->err = err;
		j->st = *sfs;
		j->state = J_DONE;
		if (++p->n_done == p->n_jobs)
			pthread_cond_signal(&p->done);
	}
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fs_pool *p = w->pool;

	pthread_mutex_lock(&p->mu);
	while (!p->shutdown) {
		filesystem_stat_fn fn;
		struct statfs sfs;
		struct fs_job *j;
		int rc, err;

		if (p->next_job >= p->n_jobs) {
			pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		j = &p->jobs[p->next_job];
		w->job = p->next_job++;
		w->round = p->round;
		j->state = J_RUNNING;
		snprintf(w->path, sizeof(w->path), "%s", j->path);
		snprintf(w->mountpoint, sizeof(w->mountpoint), "%s", j->mountpoint);
		fn = p->fn;
		atomic_store(&w->state, W_IN_STAT);
		pthread_mutex_unlock(&p->mu);

		memset(&sfs, 0, sizeof(sfs));
		rc = fn(w->path, &sfs);
		err = rc < 0 ? (errno ? errno : EIO) : 0;
		if (atomic_exchange(&w->state, W_RETURNED) == W_ORPHANED) {
			/* The collector exited while we were blocked: it is gone. */
			free(w);
			atomic_fetch_sub(&orphans, 1);
			return NULL;
		}
		pthread_mutex_lock(&p->mu);
		if (!finish_job(p, w, err, &sfs))
			break; /* its replacement works: retire */
	}
	w->retired = true;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* With p->mu held. Worker threads take no signals: they are the agent's. */
static int spawn_worker(struct fs_pool *p)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (!w)
		return -1;
	w->pool = p;
	atomic_init(&w->state, W_IDLE);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	sigfillset(&all);
	/* Except the thread-directed real-time ones: the capability drop
	 * reaches every thread through one (agent/caps.c). */
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigdelset(&all, sig);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->tid, &attr, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(w);
		log_msg(LOG_WARN, "filesystem: cannot start a stat worker", "err=\"%s\"", strerror(rc));
		return -1;
	}
	pthread_setname_np(w->tid, "fs-statfs"); /* for top -H, gdb */
	w->next = p->workers;
	p->workers = w;
	p->n_ready++;
	return 0;
}

/* With p->mu held: joins the workers that retired, starts new ones up to
 * target. */
static void pool_tend(struct fs_pool *p)
{
	for (struct worker **wp = &p->workers; *wp;) {
		struct worker *w = *wp;
		if (!w->retired) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		pthread_join(w->tid, NULL); /* it has released the lock and is ending */
		free(w);
	}
	while (p->n_ready < p->target && spawn_worker(p) == 0)
		;
}

static bool mount_stuck(const struct fs_pool *p, const char *mountpoint)
{
	for (const struct worker *w = p->workers; w; w = w->next)
		if (w->stuck && !strcmp(w->mountpoint, mountpoint))
			return true;
	return false;
}

static int pool_init(struct fs_pool *p, size_t target)
{
	pthread_condattr_t ca;

	*p = (struct fs_pool){.target = target, .fn = statfs};
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&p->work, NULL) != 0 || pthread_cond_init(&p->done, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		return -1; /* not reached on Linux */
	}
	pthread_condattr_destroy(&ca);
	return 0;
}

static void pool_destroy(struct fs_pool *p)
{
	struct worker *keep = NULL;

	pthread_mutex_lock(&p->mu);
	p->shutdown = true;
	while (p->workers) {
		struct worker *w = p->workers;
		int expected = W_IN_STAT;
		pthread_t tid = w->tid;
		char mountpoint[PATH_MAX];

		p->workers = w->next;
		/* Once orphaned, w may be freed by its thread at any moment. */
		memcpy(mountpoint, w->mountpoint, sizeof(mountpoint));
		atomic_fetch_add(&orphans, 1);
		if (atomic_compare_exchange_strong(&w->state, &expected, W_ORPHANED)) {
			log_msg(LOG_WARN, "filesystem: exit leaves a thread blocked in statfs",
				"mountpoint=\"%s\"", mountpoint);
			pthread_detach(tid); /* it frees itself when the call returns */
			continue;
		}
		atomic_fetch_sub(&orphans, 1);
		w->next = keep;
		keep = w;
	}
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	while (keep) {
		struct worker *w = keep;
		keep = w->next;
		pthread_join(w->tid, NULL);
		free(w);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	free(p->jobs);
}

/* ---- mounts ------------------------------------------------------------ */

struct mount {
	char *device, *mountpoint, *fstype, *options;
	size_t path_off; /* into the state's paths */
	bool keep;       /* not excluded, not a duplicate */
	bool stuck;
	long job;        /* index into the round's jobs, or -1 */
};

struct fs_state {
	struct source_file *mounts[2]; /* <procfs>/1/mounts, <procfs>/mounts */
	char *rootfs;                  /* without a trailing '/'; "" for "/" */
	struct name_filter mp_filter, type_filter;
	int64_t timeout_ms;
	struct mount *m;
	size_t n_m, cap_m;
	char *paths; /* stat paths, NUL-separated */
	size_t paths_len, paths_cap;
	struct hashmap dedup; /* of the mounts selected, by mount_hash */
	struct fs_pool pool;
	bool pool_ok;
	bool no_worker_logged;
};

/* The fstab(5) escapes the kernel writes (\040 space, \011 tab, \012
 * newline, \134 backslash), decoded in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static char *next_field(char **p)
{
	char *s = *p, *start;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n')
		return NULL;
	start = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	*p = s;
	return start;
}

static int add_path(struct fs_state *st, struct mount *m)
{
	size_t root_len = strlen(st->rootfs), mp_len = strlen(m->mountpoint);
	bool is_root = !strcmp(m->mountpoint, "/");
	size_t need = root_len + (is_root && root_len ? 0 : mp_len) + 1;

	if (grow_array((void **)&st->paths, &st->paths_cap, st->paths_len + need, 1) < 0)
		return -1;
	m->path_off = st->paths_len;
	memcpy(st->paths + st->paths_len, st->rootfs, root_len);
	if (!(is_root && root_len))
		memcpy(st->paths + st->paths_len + root_len, m->mountpoint, mp_len);
	st->paths[st->paths_len + need - 1] = '\0';
	st->paths_len += need;
	return 0;
}

/* rootfsStripPrefix, at a path boundary. */
static char *strip_rootfs(const struct fs_state *st, char *mp)
{
	size_t len = strlen(st->rootfs);

	if (!len || strncmp(mp, st->rootfs, len) != 0)
		return mp;
	if (mp[len] == '\0')
		return "/";
	return mp[len] == '/' ? mp + len : mp;
}

/* Splits the mounts text (in place) into st->m. -1 on a line with fewer
 * than four fields, as node_exporter (which then reports nothing). */
static int parse_mounts(struct fs_state *st, char *text)
{
	st->n_m = 0;
	st->paths_len = 0;
	for (char *line = text; *line;) {
		char *eol = strchr(line, '\n'), *p = line, *f[4] = {NULL, NULL, NULL, NULL};
		struct mount *m;

		if (eol)
			*eol = '\0';
		for (size_t i = 0; i < 4; i++) {
			if (!(f[i] = next_field(&p)))
				break;
			if (*p)
				*p++ = '\0';
		}
		if (!f[0]) { /* a blank line */
			line = eol ? eol + 1 : line + strlen(line);
			continue;
		}
		if (!f[1] || !f[2] || !f[3])
			return -1;
		if (grow_array((void **)&st->m, &st->cap_m, st->n_m + 1, sizeof(*st->m)) < 0)
			return -1;
		m = &st->m[st->n_m++];
		unescape(f[1]);
		*m = (struct mount){f[0], strip_rootfs(st, f[1]), f[2], f[3], 0, false, false, -1};
		if (add_path(st, m) < 0)
			return -1;
		line = eol ? eol + 1 : line + strlen(line);
	}
	return 0;
}

static uint64_t mount_hash(const struct mount *m)
{
	uint64_t h = hashmap_hash(m->device, strlen(m->device));

	h = hashmap_hash_more(m->mountpoint, strlen(m->mountpoint), h);
	return hashmap_hash_more(m->fstype, strlen(m->fstype), h);
}

/* Marks the mounts to report: not excluded, and the first of each
 * (device, mount point, type). */
static int select_mounts(struct fs_state *st)
{
	hashmap_clear(&st->dedup);
	if (hashmap_reserve(&st->dedup, st->n_m) < 0)
		return -1;
	for (size_t i = 0; i < st->n_m; i++) {
		struct mount *m = &st->m[i];
		const struct mount *o;
		uint64_t hash;
		size_t pos;

		m->keep = false;
		if (!name_filter_keep(&st->mp_filter, m->mountpoint, strlen(m->mountpoint)) ||
		    !name_filter_keep(&st->type_filter, m->fstype, strlen(m->fstype)))
			continue;
		hash = mount_hash(m);
		for (o = hashmap_first(&st->dedup, hash, &pos); o;
		     o = hashmap_next(&st->dedup, hash, &pos))
			if (!strcmp(o->mountpoint, m->mountpoint) && !strcmp(o->device, m->device) &&
			    !strcmp(o->fstype, m->fstype))
				break;
		if (o)
			continue;
		hashmap_insert(&st->dedup, hash, m); /* reserved: cannot fail */
		m->keep = true;
	}
	return 0;
}

static bool read_only(const char *options)
{
	for (const char *p = options; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (p[0] == 'r' && p[1] == 'o' && (p[2] == ',' || p[2] == '\0'))
			return true;
	}
	return false;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* With the pool's mu held: starts a round with a job per mount to report
 * but the stuck ones; their number. */
static size_t queue_jobs(struct fs_state *st)
{
	struct fs_pool *p = &st->pool;
	size_t n = 0;

	for (size_t i = 0; i < st->n_m; i++) {
		struct mount *m = &st->m[i];
		if (!m->keep)
			continue;
		m->stuck = mount_stuck(p, m->mountpoint);
		if (m->stuck) {
			log_msg(LOG_DEBUG, "filesystem: mount point is in an unresponsive state",
				"mountpoint=\"%s\"", m->mountpoint);
			continue;
		}
		m->job = (long)n;
		p->jobs[n++] = (struct fs_job){st->paths + m->path_off, m->mountpoint, J_QUEUED, 0, {0}};
	}
	p->round++;
	p->n_jobs = n;
	p->next_job = 0;
	p->n_done = 0;
	return n;
}

/* Runs the round's statfs calls; st->pool.jobs[m->job] has each result. */
static void stat_round(struct fs_state *st)
{
	struct fs_pool *p = &st->pool;
	struct timespec deadline;
	size_t n = 0;

	for (size_t i = 0; i < st->n_m; i++)
		n += st->m[i].keep;
	/* No worker reads jobs between rounds (n_jobs is 0): safe to grow. */
	if (grow_array((void **)&p->jobs, &p->cap_jobs, n ? n : 1, sizeof(*p->jobs)) < 0)
		return; /* every mount then reports device_error 1 */

	pthread_mutex_lock(&p->mu);
	pool_tend(p);
	n = queue_jobs(st);
	if (n && p->n_ready == 0 && !st->no_worker_logged) {
		log_msg(LOG_WARN, "filesystem: no stat worker thread; mounts report device_error", NULL);
		st->no_worker_logged = true;
	}
	pthread_cond_broadcast(&p->work);
	deadline_after(&deadline, st->timeout_ms);
	while (p->n_done < p->n_jobs)
		if (pthread_cond_timedwait(&p->done, &p->mu, &deadline) == ETIMEDOUT)
			break;
	/* What is still running now is stuck. */
	for (struct worker *w = p->workers; w; w = w->next) {
		if (w->round != p->round || w->stuck || w->job >= n ||
		    p->jobs[w->job].state != J_RUNNING || atomic_load(&w->state) != W_IN_STAT)
			continue;
		w->stuck = true;
		p->n_ready--;
		log_msg(LOG_WARN, "filesystem: statfs timed out; mount point marked stuck and not "
			"monitored until the call returns", "mountpoint=\"%s\" timeout_ms=%lld",
			w->mountpoint, (long long)st->timeout_ms);
	}
	p->n_jobs = 0;
	p->next_job = 0;
	p->round++; /* late results of this round are dropped */
	pool_tend(p); /* replacements for the stuck ones */
	pthread_mutex_unlock(&p->mu);
}

static void emit_mount(struct registry *reg, const struct mount *m, const struct fs_job *j)
{
	const struct label labels[3] = {
		{"device", m->device}, {"fstype", m->fstype}, {"mountpoint", m->mountpoint}};
	bool ok = j && j->state == J_DONE && j->err == 0;
	double bsize;

	registry_emit(reg, &fs_descs[FS_DEVICE_ERROR], NULL, labels, 3, ok ? 0 : 1, 0);
	if (!ok)
		return;
	bsize = (double)j->st.f_bsize;
	registry_emit(reg, &fs_descs[FS_SIZE], NULL, labels, 3, (double)j->st.f_blocks * bsize, 0);
	registry_emit(reg, &fs_descs[FS_FREE], NULL, labels, 3, (double)j->st.f_bfree * bsize, 0);
	registry_emit(reg, &fs_descs[FS_AVAIL], NULL, labels, 3, (double)j->st.f_bavail * bsize, 0);
	registry_emit(reg, &fs_descs[FS_FILES], NULL, labels, 3, (double)j->st.f_files, 0);
	registry_emit(reg, &fs_descs[FS_FILES_FREE], NULL, labels, 3, (double)j->st.f_ffree, 0);
	registry_emit(reg, &fs_descs[FS_READONLY], NULL, labels, 3, read_only(m->options) ? 1 : 0,
		      0);
}

static int filesystem_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct fs_state *st = ctx->state;
	struct source_file *src = st->mounts[0];

	if (source_file_try(src, &(const char *){NULL}) < 0) {
		src = st->mounts[1];
		if (source_file_read(src) < 0)
			return -1;
	}
	if (parse_mounts(st, src->buf.data) < 0) {
		log_msg(LOG_DEBUG, "filesystem: malformed mount point information", "path=%s",
			src->path);
		return -1;
	}
	if (select_mounts(st) < 0)
		return -1;
	for (size_t i = 0; i < st->n_m; i++)
		st->m[i].job = -1;
	stat_round(st);
	for (size_t i = 0; i < st->n_m; i++) {
		const struct mount *m = &st->m[i];
		if (m->keep)
			emit_mount(reg, m, m->job >= 0 ? &st->pool.jobs[m->job] : NULL);
	}
	return 0;
}

void filesystem_set_stat_fn(struct collector_ctx *ctx, filesystem_stat_fn fn)
{
	struct fs_state *st = ctx->state;

	pthread_mutex_lock(&st->pool.mu);
	st->pool.fn = fn ? fn : statfs;
	pthread_mutex_unlock(&st->pool.mu);
}

static void filesystem_exit(struct collector_ctx *ctx)
{
	struct fs_state *st = ctx->state;

	if (!st)
		return;
	if (st->pool_ok)
		pool_destroy(&st->pool);
	source_file_close(st->mounts[0]);
	source_file_close(st->mounts[1]);
	free(st->rootfs);
	name_filter_free(&st->mp_filter);
	name_filter_free(&st->type_filter);
	free(st->m);
	free(st->paths);
	hashmap_free(&st->dedup);
	free(st);
	ctx->state = NULL;
}

static int filesystem_init(struct collector_ctx *ctx)
{
	static const struct filesystem_opts defaults = {
		FILESYSTEM_DEFAULT_MOUNT_POINTS_EXCLUDE, FILESYSTEM_DEFAULT_FS_TYPES_EXCLUDE,
		DEFAULT_TIMEOUT_MS, 4};
	const struct filesystem_opts *o = ctx->opts ? ctx->opts : &defaults;
	const char *procfs = ctx->global ? ctx->global->procfs : NULL;
	const char *rootfs = ctx->global && ctx->global->rootfs ? ctx->global->rootfs : "/";
	struct fs_state *st = calloc(1, sizeof(*st));
	size_t workers = o->stat_workers < 1 ? 1 : (size_t)o->stat_workers; /* <= MAX_WORKERS */
	size_t len;

	ctx->state = st;
	if (!st)
		return -1;
	st->timeout_ms = o->stat_timeout_ms > 0 ? o->stat_timeout_ms : DEFAULT_TIMEOUT_MS;
	len = strlen(rootfs);
	while (len > 0 && rootfs[len - 1] == '/')
		len--;
	if (!(st->mounts[0] = source_file_open("filesystem", procfs, "/proc", "1/mounts")) ||
	    !(st->mounts[1] = source_file_open("filesystem", procfs, "/proc", "mounts")) ||
	    !(st->rootfs = strndup(rootfs, len)) ||
	    name_filter_init(&st->mp_filter, NULL, o->mount_points_exclude) < 0 ||
	    name_filter_init(&st->type_filter, NULL, o->fs_types_exclude) < 0 ||
	    pool_init(&st->pool, workers) < 0) {
		filesystem_exit(ctx);
		return -1;
	}
	st->pool_ok = true;
	return 0;
}

const struct collector collector_filesystem = {
	.name = "filesystem",
	.default_enabled = true,
	.opts_size = sizeof(struct filesystem_opts),
	.opts = filesystem_opt_descs,
	.init = filesystem_init,
	.update = filesystem_update,
	.exit = filesystem_exit,
};
