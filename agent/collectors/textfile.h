/* textfile: the options of the textfile collector (node_exporter's
 * --collector.textfile.directory), filled by config from its opt_desc. */
#ifndef BPFPUSH_TEXTFILE_H
#define BPFPUSH_TEXTFILE_H

#define TEXTFILE_DEFAULT_DIRECTORY "/var/lib/bpfpush/textfile"

struct textfile_opts {
	char *directory; /* every *.prom in it is read each interval */
};

#endif
