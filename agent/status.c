#include "agent/status.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/exposition.h"
#include "agent/grow.h"
#include "agent/log.h"

#define REQUEST_MAX 4096
/* One thread serves every connection: a client that connects and says
 * nothing must not hold it past a probe's patience (Kubernetes: 1 s). */
#define IO_TIMEOUT_MS 1000

struct status {
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t mu;       /* guards the snapshot */
	struct sample *snapshot;
	size_t n_snapshot, cap_snapshot;
	int64_t snapshot_ts_ms;
	bool ready;
};

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

static int listen_on(const char *address)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE}, *res, *ai;
	char host[256], port[16];
	int fd = -1, one = 1, rc;

	if (split_address(address, host, sizeof(host), port, sizeof(port)) < 0)
		return -1;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		log_msg(LOG_ERROR, "status endpoint: cannot resolve", "address=%s err=\"%s\"", address,
			gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_msg(LOG_ERROR, "status endpoint: cannot listen", "address=%s err=\"%s\"", address,
			strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int code, const char *reason, const char *type, const char *body,
		    size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 code, reason, type, len);

	send_all(fd, head, (size_t)n);
	send_all(fd, body, len);
}

/* Renders the snapshot under the lock: its samples point at series the
 * registry may free once the next round has replaced it. The response is
 * sent after the lock is released. */
static void serve_metrics(struct status *s, int fd)
{
	size_t len = 0;
	char *text = NULL;
	FILE *out;

	pthread_mutex_lock(&s->mu);
	out = open_memstream(&text, &len);
	if (out) {
		exposition_write(out, s->snapshot, s->n_snapshot, s->snapshot_ts_ms);
		fclose(out);
	}
	pthread_mutex_unlock(&s->mu);
	if (out)
		respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
	else
		respond(fd, 500, "Internal Server Error", "text/plain", "out of memory\n", 14);
	free(text);
}

static void serve(struct status *s, int fd)
{
	char req[REQUEST_MAX + 1], method[8], path[256];
	size_t got = 0;
	bool ready;

	/* Read until the end of the headers (requests here carry no body). */
	while (got < REQUEST_MAX && !memmem(req, got, "\r\n\r\n", 4)) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;
		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return;
		n = recv(fd, req + got, REQUEST_MAX - got, 0);
		if (n <= 0)
			return;
		got += (size_t)n;
	}
	req[got] = '\0';
	if (sscanf(req, "%7s %255s", method, path) != 2)
		return respond(fd, 400, "Bad Request", "text/plain", "bad request\n", 12);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(fd, 405, "Method Not Allowed", "text/plain", "GET only\n", 9);
	path[strcspn(path, "?")] = '\0';
	if (strcmp(path, "/metrics") == 0)
		return serve_metrics(s, fd);
	if (strcmp(path, "/healthz") == 0)
		return respond(fd, 200, "OK", "text/plain", "ok\n", 3);
	if (strcmp(path, "/ready") == 0) {
		pthread_mutex_lock(&s->mu);
		ready = s->ready;
		pthread_mutex_unlock(&s->mu);
		return ready ? respond(fd, 200, "OK", "text/plain", "ready\n", 6)
			     : respond(fd, 503, "Service Unavailable", "text/plain",
				       "no round collected yet\n", 23);
	}
	respond(fd, 404, "Not Found", "text/plain", "try /metrics, /healthz or /ready\n", 33);
}

static void *status_main(void *arg)
{
	struct status *s = arg;

	for (;;) {
		struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(s, fd);
		close(fd);
	}
	return NULL;
}

struct status *status_start(const char *address)
{
	struct status *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	s->listen_fd = listen_on(address);
	if (s->listen_fd < 0 || pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
		if (s->listen_fd >= 0)
			close(s->listen_fd);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	if (pthread_create(&s->thread, NULL, status_main, s) != 0) {
		close(s->listen_fd);
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	log_msg(LOG_INFO, "status endpoint listening", "address=%s paths=/metrics,/healthz,/ready",
		address);
	return s;
}

void status_publish(struct status *s, const struct sample *samples, size_t n,
		    int64_t round_ts_ms)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	if (grow_array((void **)&s->snapshot, &s->cap_snapshot, n ? n : 1, sizeof(*samples)) == 0) {
		memcpy(s->snapshot, samples, n * sizeof(*samples));
		s->n_snapshot = n;
		s->snapshot_ts_ms = round_ts_ms;
		s->ready = true;
	}
	pthread_mutex_unlock(&s->mu);
}

void status_stop(struct status *s)
{
	if (!s)
		return;
	(void)!write(s->stop_pipe[1], "x", 1);
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	pthread_mutex_destroy(&s->mu);
	free(s->snapshot);
	free(s);
}
