/* SPDX-License-Identifier: MIT */
/* show_term: where `bpfpush show` draws. On a terminal: the alternate
 * screen, redrawn in place and cut to its size, keys read unbuffered (q
 * quits), everything restored at the end; the log held back meanwhile
 * (it would scribble over the screen) and written out after. Into a pipe:
 * frames one after the other, plain text. Colour only on a terminal, and
 * not with NO_COLOR set or TERM=dumb. */
#ifndef BPFPUSH_SHOW_TERM_H
#define BPFPUSH_SHOW_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

struct show_term {
	bool tty;    /* stdout is a terminal */
	bool colour;
	bool keys;   /* stdin is a terminal we read keys from (modes in saved) */
	bool screen; /* the alternate screen is up */
	struct termios saved;
	int log_fd;    /* memfd the log goes to, or -1 */
	int stderr_fd; /* the real stderr while it does, or -1 */
	int sig_fd;    /* signalfd: SIGINT, SIGTERM, SIGHUP, SIGWINCH; or -1 */
	char *frame;   /* the last frame, drawn again when the size changes */
	size_t frame_len;
};

#define SHOW_TERM_INIT {.log_fd = -1, .stderr_fd = -1, .sig_fd = -1}

/* From now on the log goes to a memory file (collectors say in it why
 * they cannot load). */
void show_term_capture_log(struct show_term *t);
/* What the log held so far (malloc'd, NUL-terminated), or NULL. */
char *show_term_log(const struct show_term *t);

/* SIGINT, SIGTERM, SIGHUP and SIGWINCH blocked, read from sig_fd: before
 * any thread starts (a collector's), so none of them takes one. 0, or -1. */
int show_term_signals(struct show_term *t);

/* The screen and keys on a terminal; into a pipe the log goes back to
 * stderr (what it held written there). 0, or -1. */
int show_term_start(struct show_term *t);

/* Columns and rows to draw in (into a pipe: COLUMNS or 80, no limit). */
void show_term_size(const struct show_term *t, int *width, int *height);

/* Draws frame (malloc'd; t keeps it). 0, or -1 when the output is gone. */
int show_term_put_frame(struct show_term *t, char *frame, size_t len);

/* Waits for deadline (monotonic ms): 0 then, 1 when asked to quit (q,
 * Ctrl-C, SIGTERM, SIGHUP). A resized terminal is drawn again at once. */
int show_term_wait(struct show_term *t, int64_t deadline_ms);

/* The terminal as it was, the log written out. */
void show_term_end(struct show_term *t);

#endif
