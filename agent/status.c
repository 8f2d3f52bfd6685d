/* SPDX-License-Identifier: MIT */
#include "agent/status.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/status_page.h"
#include "lib/clock.h"
#include "series/exposition.h"
#include "lib/log.h"

/* The connection table is bounded below the fd limit, so a flood of idle
 * connections costs fds and a little memory, never the agent's own files. */
#define MAX_CONNECTIONS 4096
#define FD_RESERVE 256
/* One address holds at most this share of the table: a flood from one
 * host leaves room for the kubelet's probe from another. */
#define PER_IP_SHARE 4
/* Seconds a connection may stay silent (idle keep-alive included). */
#define CONNECTION_TIMEOUT_S 5
/* Per connection: request line and headers, response headers. A probe's
 * request is a few hundred bytes; the /metrics body is not copied here. */
#define CONNECTION_MEMORY (16 * 1024)
/* Connections waiting for accept(): a burst of a thousand must not push a
 * probe's SYN into retransmission (1 s, then 3 s). */
#define LISTEN_BACKLOG 1024

/* Rendering /metrics costs about 2 us per series, on the collecting thread:
 * it is done each round only while someone has asked for /metrics within
 * this window. A request with no page for the latest round waits (its
 * connection suspended, never the serving thread) for the next round;
 * at most MAX_WAITERS at a time, the rest get a 503. */
#define WATCH_MS (10 * 60 * 1000)
#define MAX_WAITERS 64

/* POST /-/reload: requests waiting for the main thread's outcome, and how
 * long one waits at most before a 503 (the main thread reloads between
 * rounds; a reload that stops endpoints takes a few seconds at most). */
#define MAX_RELOAD_WAITERS 64
#define RELOAD_WAIT_MS (60 * 1000)
#define RELOAD_TEXT_MAX 1024

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The /metrics text of one round, rendered when the round is published (on
 * the thread that owns the registry, while every series it names is alive:
 * the serving thread never reads a series) and shared by the responses
 * that are sending it. Two pages take turns:
 * the one no response holds any more is kept and rendered into next time,
 * so a round allocates nothing once the text has reached its size. */
struct page {
	unsigned refs; /* atomic: the status and each response holding it */
	size_t len, cap;
	char *text;
	struct status *owner;
};

enum canned { HEALTHZ, READY, NOT_READY, NOT_FOUND, NOT_ALLOWED, RELOAD_NOT_ALLOWED, RETRY,
	      N_CANNED };

/* One POST /-/reload, from its first call to its completion (MHD's
 * req_cls; freed by on_completed). */
enum reload_phase { RELOAD_NEW, RELOAD_WAITING, RELOAD_ANSWERED };
struct reload_req {
	enum reload_phase phase;
	uint64_t ticket;             /* its number among the reload requests */
	int64_t asked_ms;            /* monotonic, for RELOAD_WAIT_MS */
	unsigned http_status;        /* once answered */
	char text[RELOAD_TEXT_MAX];  /* once answered: the body */
	struct MHD_Connection *conn;
	struct reload_req *next;     /* in status.reloads, while waiting */
};

struct status {
	struct MHD_Daemon *daemon;
	struct MHD_Response *canned[N_CANNED]; /* built once, queued many times */
	struct status_page *html;              /* GET / */
	FILE *render;                          /* writes into target; publisher only */
	struct page *target;                   /* the page being rendered */
	pthread_mutex_t mu;                    /* guards everything below */
	struct page *page;                     /* round page_round's text, or NULL */
	struct page *spare;                    /* held by nobody, kept for reuse */
	uint64_t rounds, page_round;           /* rounds published; page's round */
	int64_t watched_until_ms;              /* monotonic: render rounds until */
	struct MHD_Connection *waiters[MAX_WAITERS]; /* suspended for the next round */
	size_t n_waiters;
	struct reload_req *reloads;            /* POST /-/reload, suspended */
	size_t n_reloads;
	uint64_t reload_tickets;               /* reload requests so far */
	bool stopping;
};

static void page_unref(void *arg)
{
	struct page *p = arg;
	struct status *s;

	if (!p || __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	s = p->owner;
	pthread_mutex_lock(&s->mu);
	if (!s->spare) {
		s->spare = p;
		p = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	if (p) {
		free(p->text);
		free(p);
	}
}

/* The render stream's sink: appends to the target page, doubling it. */
static ssize_t page_write(void *cookie, const char *data, size_t size)
{
	struct page *p = ((struct status *)cookie)->target;

	if (size > p->cap - p->len) {
		size_t cap = p->cap ? p->cap : 64 * 1024;
		char *text;
		while (size > cap - p->len)
			cap *= 2;
		if (!(text = realloc(p->text, cap)))
			return -1;
		p->text = text;
		p->cap = cap;
	}
	memcpy(p->text + p->len, data, size);
	p->len += size;
	return (ssize_t)size;
}

/* A page to render into: the spare one, else a new one. */
static struct page *page_take(struct status *s)
{
	struct page *p;

	pthread_mutex_lock(&s->mu);
	p = s->spare;
	s->spare = NULL;
	pthread_mutex_unlock(&s->mu);
	if (!p && !(p = calloc(1, sizeof(*p))))
		return NULL;
	p->owner = s;
	p->len = 0;
	p->refs = 1;
	return p;
}

static struct page *page_render(struct status *s, const struct sample *samples, size_t n,
				int64_t round_ts_ms)
{
	struct page *p = page_take(s);

	if (!p)
		return NULL;
	s->target = p;
	clearerr(s->render);
	if (exposition_write(s->render, samples, n, round_ts_ms) < 0 || fflush(s->render) != 0) {
		page_unref(p);
		return NULL;
	}
	return p;
}

static struct page *page_ref(struct page *p)
{
	if (p)
		__atomic_add_fetch(&p->refs, 1, __ATOMIC_ACQ_REL);
	return p;
}

static enum MHD_Result send_page(struct status *s, struct MHD_Connection *conn, struct page *p)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (!p || !p->len) { /* before the first round: an empty exposition */
		page_unref(p);
		p = NULL;
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer_with_free_callback_cls(p->len, p->text,
									   page_unref, p);
	}
	if (!r) {
		page_unref(p);
		return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, s->canned[RETRY]);
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, METRICS_TYPE);
	rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* The latest round's page, or a wait for the next round (the handler is
 * called again when the connection is resumed), or a 503. */
static enum MHD_Result serve_metrics(struct status *s, struct MHD_Connection *conn)
{
	enum { SEND, WAIT, RETRY_LATER } what = SEND;
	struct page *p = NULL;

	pthread_mutex_lock(&s->mu);
	s->watched_until_ms = mono_ms() + WATCH_MS;
	if (s->stopping) {
		what = RETRY_LATER;
	} else if (s->rounds == 0 || s->page_round == s->rounds) {
		p = page_ref(s->page);
		what = p || s->rounds == 0 ? SEND : RETRY_LATER; /* NULL: render failed */
	} else if (s->n_waiters < MAX_WAITERS) {
		/* Under the lock: publish resumes it only once it is suspended. */
		s->waiters[s->n_waiters++] = conn;
		MHD_suspend_connection(conn);
		what = WAIT;
	} else {
		what = RETRY_LATER;
	}
	pthread_mutex_unlock(&s->mu);
	if (what == WAIT)
		return MHD_YES;
	if (what == RETRY_LATER)
		return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, s->canned[RETRY]);
	return send_page(s, conn, p);
}

static bool is_ready(struct status *s)
{
	bool ready;

	pthread_mutex_lock(&s->mu);
	ready = s->rounds > 0;
	pthread_mutex_unlock(&s->mu);
	return ready;
}

/* Sets a waiting reload request's answer and takes it off the list; the
 * caller resumes its connection once the lock is released. */
static struct MHD_Connection *answer_reload(struct status *s, struct reload_req **link,
					    unsigned http_status, const char *text)
{
	struct reload_req *r = *link;

	*link = r->next;
	s->n_reloads--;
	r->phase = RELOAD_ANSWERED;
	r->http_status = http_status;
	snprintf(r->text, sizeof(r->text), "%s\n", text);
	return r->conn;
}

/* Answers the waiting requests that match: ticket <= covers (0: none), or
 * asked before expired_before (0: none), or all when stopping. */
static void answer_reloads(struct status *s, uint64_t covers, int64_t expired_before,
			   unsigned http_status, const char *text)
{
	struct MHD_Connection *resume[MAX_RELOAD_WAITERS];
	size_t n = 0;

	pthread_mutex_lock(&s->mu);
	for (struct reload_req **link = &s->reloads; *link;) {
		struct reload_req *r = *link;

		if (r->ticket <= covers || r->asked_ms < expired_before || s->stopping)
			resume[n++] = answer_reload(s, link, http_status, text);
		else
			link = &r->next;
	}
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(resume[i]);
}

uint64_t status_reload_begin(struct status *s)
{
	uint64_t covers;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->mu);
	covers = s->reload_tickets;
	pthread_mutex_unlock(&s->mu);
	return covers;
}

void status_reload_done(struct status *s, uint64_t covers, bool ok, const char *text)
{
	if (!s || !covers)
		return;
	answer_reloads(s, covers, 0, ok ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR, text);
}

static enum MHD_Result send_reload_answer(struct MHD_Connection *conn, struct reload_req *r)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	resp = MHD_create_response_from_buffer(strlen(r->text), r->text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
	rc = MHD_queue_response(conn, r->http_status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Queues the request for the main thread, which reloads on SIGHUP (the
 * signal is blocked in every thread: it stays pending for the main loop's
 * sigtimedwait; several coalesce into one reload, which covers them all). */
static enum MHD_Result ask_reload(struct status *s, struct MHD_Connection *conn,
				  struct reload_req *r)
{
	bool queued = false;

	pthread_mutex_lock(&s->mu);
	if (!s->stopping && s->n_reloads < MAX_RELOAD_WAITERS) {
		r->phase = RELOAD_WAITING;
		r->ticket = ++s->reload_tickets;
		r->asked_ms = mono_ms();
		r->conn = conn;
		r->next = s->reloads;
		s->reloads = r;
		s->n_reloads++;
		MHD_suspend_connection(conn); /* under the lock, as for /metrics */
		queued = true;
	}
	pthread_mutex_unlock(&s->mu);
	if (!queued)
		return MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, s->canned[RETRY]);
	kill(getpid(), SIGHUP);
	return MHD_YES;
}

/* POST (or PUT) /-/reload, as Prometheus': 200 once the config is
 * reloaded, 500 with the reason when it is rejected. A body is read and
 * ignored; the answer comes on the call after the connection resumes. */
static enum MHD_Result serve_reload(struct status *s, struct MHD_Connection *conn,
				    size_t *upload_size, void **req_cls)
{
	struct reload_req *r = *req_cls;

	if (!r) {
		if (!(r = calloc(1, sizeof(*r))))
			return MHD_NO;
		*req_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->phase == RELOAD_ANSWERED)
		return send_reload_answer(conn, r);
	if (r->phase == RELOAD_WAITING) /* cannot happen: it is suspended */
		return MHD_YES;
	return ask_reload(s, conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)conn;
	(void)why;
	free(*req_cls);
	*req_cls = NULL;
}

static bool is_method(const char *method, const char *a, const char *b)
{
	return strcmp(method, a) == 0 || strcmp(method, b) == 0;
}

/* Every request but a reload is answered on its first call, before any
 * body is read: none of these paths takes one (MHD closes a connection
 * whose body was left unread). HEAD gets the headers of the GET without
 * the body (MHD). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct status *s = cls;

	(void)version;
	(void)upload_data;
	if (strcmp(url, "/-/reload") == 0) {
		if (is_method(method, MHD_HTTP_METHOD_POST, MHD_HTTP_METHOD_PUT))
			return serve_reload(s, conn, upload_data_size, req_cls);
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
					  s->canned[RELOAD_NOT_ALLOWED]);
	}
	if (!is_method(method, MHD_HTTP_METHOD_GET, MHD_HTTP_METHOD_HEAD))
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, s->canned[NOT_ALLOWED]);
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(s, conn);
	if (strcmp(url, "/") == 0)
		return status_page_serve(s->html, conn);
	if (strcmp(url, "/healthz") == 0)
		return MHD_queue_response(conn, MHD_HTTP_OK, s->canned[HEALTHZ]);
	if (strcmp(url, "/ready") == 0)
		return is_ready(s) ? MHD_queue_response(conn, MHD_HTTP_OK, s->canned[READY])
				   : MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
							s->canned[NOT_READY]);
	return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, s->canned[NOT_FOUND]);
}

static int make_canned(struct status *s)
{
	static const char *const bodies[N_CANNED] = {
		[HEALTHZ] = "ok\n",
		[READY] = "ready\n",
		[NOT_READY] = "no round collected yet\n",
		[NOT_FOUND] = "try /, /metrics, /healthz or /ready\n",
		[NOT_ALLOWED] = "GET only\n",
		[RELOAD_NOT_ALLOWED] = "POST or PUT only\n",
		[RETRY] = "no page for this round; retry\n",
	};

	for (int i = 0; i < N_CANNED; i++) {
		s->canned[i] = MHD_create_response_from_buffer(strlen(bodies[i]), (void *)bodies[i],
							       MHD_RESPMEM_PERSISTENT);
		if (!s->canned[i] ||
		    MHD_add_response_header(s->canned[i], MHD_HTTP_HEADER_CONTENT_TYPE,
					    "text/plain") != MHD_YES)
			return -1;
	}
	if (MHD_add_response_header(s->canned[NOT_ALLOWED], MHD_HTTP_HEADER_ALLOW,
				    "GET, HEAD") != MHD_YES ||
	    MHD_add_response_header(s->canned[RELOAD_NOT_ALLOWED], MHD_HTTP_HEADER_ALLOW,
				    "POST, PUT") != MHD_YES ||
	    MHD_add_response_header(s->canned[RETRY], MHD_HTTP_HEADER_RETRY_AFTER, "1") != MHD_YES)
		return -1;
	return 0;
}

static int split_address(const char *address, char *host, size_t host_sz, char *port,
			 size_t port_sz)
{
	const char *colon = strrchr(address, ':');
	size_t host_len;

	if (!colon)
		return -1;
	host_len = (size_t)(colon - address);
	if (host_len >= 2 && address[0] == '[' && address[host_len - 1] == ']') {
		address++;
		host_len -= 2;
	}
	if (host_len >= host_sz || strlen(colon + 1) >= port_sz)
		return -1;
	memcpy(host, address, host_len);
	host[host_len] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* The first of the address' resolutions that binds; -1 (logged, with the
 * address and the reason) when none does. */
static int listen_on(const char *address)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE}, *res, *ai;
	char host[256], port[16];
	int fd = -1, one = 1, rc, why = EINVAL;

	if (split_address(address, host, sizeof(host), port, sizeof(port)) < 0)
		return -1;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		log_msg(LOG_ERROR, "status endpoint: cannot resolve", "address=%s err=\"%s\"", address,
			gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			why = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		why = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_msg(LOG_ERROR, "status endpoint: cannot listen", "address=%s err=\"%s\"", address,
			strerror(why));
	freeaddrinfo(res);
	return fd;
}

/* MHD's own messages (a connection refused at a limit, a client's bad
 * request) are about clients, not the agent: debug level, so a flood of
 * them cannot flood the log. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt,
							    va_list ap)
{
	char text[256], quoted[300];
	int n;

	(void)cls;
	if (!log_enabled(LOG_DEBUG))
		return;
	n = vsnprintf(text, sizeof(text), fmt, ap);
	if (n < 0)
		return;
	n = (int)strcspn(text, "\r\n");
	log_msg(LOG_DEBUG, "status endpoint", "detail=%s",
		log_quote(text, (size_t)n, quoted, sizeof(quoted)));
}

static unsigned connection_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= MAX_CONNECTIONS + FD_RESERVE)
		return MAX_CONNECTIONS;
	return rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE)
					    : (unsigned)(rl.rlim_cur / 2);
}

static unsigned per_ip_limit(unsigned limit)
{
	return limit / PER_IP_SHARE ? limit / PER_IP_SHARE : 1;
}

/* One polling thread over epoll: a slow or silent client costs a table
 * entry until its timeout, never another client's turn. */
static struct MHD_Daemon *start_daemon(struct status *s, int fd, unsigned limit)
{
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip_limit(limit), MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)CONNECTION_MEMORY, MHD_OPTION_END);
}

static void status_free(struct status *s)
{
	for (int i = 0; i < N_CANNED; i++)
		if (s->canned[i])
			MHD_destroy_response(s->canned[i]);
	if (s->render)
		fclose(s->render);
	status_page_free(s->html);
	page_unref(s->page); /* the last holder: it becomes the spare, or is freed */
	if (s->spare) {
		free(s->spare->text);
		free(s->spare);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct status *status_start(const char *address)
{
	struct status *s = calloc(1, sizeof(*s));
	unsigned limit = connection_limit();
	int fd;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	s->render = fopencookie(s, "w", (cookie_io_functions_t){.write = page_write});
	s->html = status_page_create();
	if (!s->render || !s->html || make_canned(s) < 0 || (fd = listen_on(address)) < 0) {
		status_free(s);
		return NULL;
	}
	/* The socket is MHD's from here on, closed by it, even on failure. */
	s->daemon = start_daemon(s, fd, limit);
	if (!s->daemon) {
		log_msg(LOG_ERROR, "status endpoint: cannot start", "address=%s", address);
		status_free(s);
		return NULL;
	}
	log_msg(LOG_INFO, "status endpoint listening",
		"address=%s paths=/,/metrics,/healthz,/ready,/-/reload max_connections=%u per_ip=%u "
		"timeout_s=%d", address, limit, per_ip_limit(limit),
		CONNECTION_TIMEOUT_S);
	return s;
}

static size_t take_waiters(struct status *s, struct MHD_Connection **out)
{
	size_t n = s->n_waiters;

	memcpy(out, s->waiters, n * sizeof(*out));
	s->n_waiters = 0;
	return n;
}

/* Nobody reads /metrics: the spare page's memory goes back. */
static void drop_spare(struct status *s)
{
	struct page *p;

	pthread_mutex_lock(&s->mu);
	p = s->spare;
	s->spare = NULL;
	pthread_mutex_unlock(&s->mu);
	if (p) {
		free(p->text);
		free(p);
	}
}

void status_publish(struct status *s, const struct sample *samples, size_t n,
		    int64_t round_ts_ms)
{
	struct MHD_Connection *resume[MAX_WAITERS];
	struct page *fresh = NULL, *old;
	size_t n_resume;
	bool wanted;

	if (!s)
		return;
	answer_reloads(s, 0, mono_ms() - RELOAD_WAIT_MS, MHD_HTTP_SERVICE_UNAVAILABLE,
		       "the reload did not finish in time; see the agent's log");
	pthread_mutex_lock(&s->mu);
	wanted = s->n_waiters > 0 || mono_ms() < s->watched_until_ms;
	pthread_mutex_unlock(&s->mu);
	/* Out of memory: no page this round, and its readers get a 503. */
	if (wanted)
		fresh = page_render(s, samples, n, round_ts_ms);
	pthread_mutex_lock(&s->mu);
	s->rounds++;
	old = s->page;
	s->page = fresh;
	if (wanted) /* else page_round stays behind: a reader waits a round */
		s->page_round = s->rounds;
	/* Readers that came during an unrendered round wait for the next. */
	n_resume = wanted ? take_waiters(s, resume) : 0;
	pthread_mutex_unlock(&s->mu);
	page_unref(old);
	if (!wanted)
		drop_spare(s);
	for (size_t i = 0; i < n_resume; i++)
		MHD_resume_connection(resume[i]);
	status_page_publish(s->html, samples, n, round_ts_ms);
}

void status_stop(struct status *s)
{
	struct MHD_Connection *resume[MAX_WAITERS];
	size_t n_resume;

	if (!s)
		return;
	/* MHD must not be stopped with a connection suspended. */
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	n_resume = take_waiters(s, resume);
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < n_resume; i++)
		MHD_resume_connection(resume[i]);
	answer_reloads(s, 0, 0, MHD_HTTP_SERVICE_UNAVAILABLE, "the agent is stopping");
	status_page_stop(s->html);
	MHD_stop_daemon(s->daemon); /* joins its thread, frees its responses */
	status_free(s);
}
