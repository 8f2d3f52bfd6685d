/* SPDX-License-Identifier: MIT */
#include "agent/show_term.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent/show_draw.h"
#include "lib/clock.h"

#define ALT_SCREEN_ON "\033[?1049h\033[?25l"
#define ALT_SCREEN_OFF "\033[?25h\033[?1049l"
#define HOME "\033[H"
#define CLEAR_EOL "\033[K"
#define CLEAR_EOS "\033[J"

void show_term_capture_log(struct show_term *t)
{
	int fd = memfd_create("bpfpush-show-log", MFD_CLOEXEC);

	fflush(stderr);
	if (fd < 0 || (t->stderr_fd = dup(STDERR_FILENO)) < 0 || dup2(fd, STDERR_FILENO) < 0) {
		if (fd >= 0)
			close(fd);
		return; /* the log stays where it was: the reasons are not found */
	}
	t->log_fd = fd;
}

char *show_term_log(const struct show_term *t)
{
	off_t size = t->log_fd >= 0 ? lseek(t->log_fd, 0, SEEK_END) : -1;
	char *text;
	ssize_t got;

	if (size < 0 || !(text = malloc((size_t)size + 1)))
		return NULL;
	got = pread(t->log_fd, text, (size_t)size, 0);
	text[got > 0 ? got : 0] = '\0';
	return text;
}

/* The log back on the real stderr, what it held written there. */
static void release_log(struct show_term *t)
{
	char *held;

	if (t->log_fd < 0)
		return;
	fflush(stderr);
	dup2(t->stderr_fd, STDERR_FILENO);
	held = show_term_log(t);
	if (held)
		fputs(held, stderr);
	free(held);
	close(t->log_fd);
	close(t->stderr_fd);
	t->log_fd = t->stderr_fd = -1;
}

static bool colour_wanted(void)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	return !(no && *no) && !(term && strcmp(term, "dumb") == 0);
}

/* Keys one at a time, not echoed; Ctrl-C still a SIGINT. */
static void keys_on(struct show_term *t)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) < 0)
		return;
	raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	t->keys = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

int show_term_signals(struct show_term *t)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGWINCH);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (t->sig_fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		return -1;
	return 0;
}

int show_term_start(struct show_term *t)
{
	t->tty = isatty(STDOUT_FILENO);
	if (!t->tty) {
		release_log(t);
		return 0;
	}
	t->colour = colour_wanted();
	keys_on(t);
	fputs(ALT_SCREEN_ON, stdout);
	t->screen = true;
	return fflush(stdout) == 0 ? 0 : -1;
}

void show_term_size(const struct show_term *t, int *width, int *height)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	*width = cols && atoi(cols) > 0 ? atoi(cols) : 80;
	*height = 0; /* no limit */
	if (t->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		*width = ws.ws_col;
		*height = ws.ws_row;
	}
}

/* The last frame in place, each line cut to the width, the rows past the
 * height left out (the last row says so). */
static int redraw(struct show_term *t)
{
	static const char more[] = "-- more below: a taller terminal shows it --";
	int width, height, row = 0;
	char line[4096];
	const char *p = t->frame, *end = t->frame + t->frame_len;

	show_term_size(t, &width, &height);
	fputs(HOME, stdout);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		bool last_row = height > 0 && row == height - 1;
		size_t n;

		if (last_row && next < end)
			n = show_clip_line(more, sizeof(more) - 1, width, line, sizeof(line));
		else
			n = show_clip_line(p, (size_t)((nl ? nl : end) - p), width, line, sizeof(line));
		fwrite(line, 1, n, stdout);
		fputs(CLEAR_EOL, stdout);
		if (last_row)
			break;
		p = next;
		row++;
		if (p < end)
			fputs("\r\n", stdout);
	}
	fputs(CLEAR_EOS, stdout);
	return fflush(stdout) == 0 ? 0 : -1;
}

int show_term_put_frame(struct show_term *t, char *frame, size_t len)
{
	free(t->frame);
	t->frame = frame;
	t->frame_len = len;
	if (t->tty)
		return redraw(t);
	if (fwrite(frame, 1, len, stdout) != len || fputc('\n', stdout) == EOF)
		return -1;
	return fflush(stdout) == 0 ? 0 : -1;
}

/* A key press: 1 for q (or a Ctrl-C that came as a byte), else 0. */
static int read_keys(struct show_term *t)
{
	char keys[64];
	ssize_t n = read(STDIN_FILENO, keys, sizeof(keys));

	if (n == 0)
		t->keys = false; /* end of input: stop asking */
	for (ssize_t i = 0; i < n; i++)
		if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3)
			return 1;
	return 0;
}

/* A signal came: 1 to quit, 0 for a resize (drawn again). */
static int read_signal(struct show_term *t)
{
	struct signalfd_siginfo si;

	if (read(t->sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	if (si.ssi_signo != SIGWINCH)
		return 1;
	if (t->tty && t->frame)
		redraw(t);
	return 0;
}

int show_term_wait(struct show_term *t, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd fds[2] = {{t->sig_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
		int64_t left = deadline_ms - mono_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(fds, t->keys ? 2 : 1, (int)left);
		if (rc < 0 && errno != EINTR)
			return 1;
		if (rc > 0 && (fds[0].revents & POLLIN) && read_signal(t))
			return 1;
		if (rc > 0 && t->keys && (fds[1].revents & (POLLIN | POLLHUP)) && read_keys(t))
			return 1;
	}
}

void show_term_end(struct show_term *t)
{
	if (t->screen) {
		fputs(ALT_SCREEN_OFF, stdout);
		fflush(stdout);
	}
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->screen = t->keys = false;
	release_log(t);
	if (t->sig_fd >= 0)
		close(t->sig_fd);
	t->sig_fd = -1;
	free(t->frame);
	t->frame = NULL;
}
