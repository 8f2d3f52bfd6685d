/* SPDX-License-Identifier: MIT */
/* hwmon: <sysfs>/class/hwmon/hwmon* (and each one's device/ directory), as
 * node_exporter 1.5's hwmon collector exposes it. Every file named
 * <type><n>_<property> with a known type (in, cpu, fan, pwm, temp, curr,
 * power, energy, humidity, intrusion, and the unnumbered vrm, beep_enable,
 * update_interval) becomes a series {chip,sensor="<type><n>"} in base units:
 *   temp1_input  -> node_hwmon_temp_celsius            (millidegree / 1000)
 *   temp1_crit   -> node_hwmon_temp_crit_celsius
 *   in0_input    -> node_hwmon_in_volts                (mV / 1000)
 *   fan1_input   -> node_hwmon_fan_rpm
 *   curr1_input  -> node_hwmon_curr_amps               (mA / 1000)
 *   power1_input -> node_hwmon_power_watt              (uW / 1e6)
 *   energy1_input-> node_hwmon_energy_joule_total      (uJ / 1e6, a counter)
 *   *_alarm, *_fault -> node_hwmon_<type>_<property>   (unitless)
 *   anything else -> node_hwmon_<type>_<property>      (as read)
 * plus node_hwmon_chip_names{chip,chip_name} (from the name file) and
 * node_hwmon_sensor_label{chip,sensor,label} (from <type><n>_label).
 *
 * chip is stable across reboots, unlike the hwmonN numbering: it is built
 * from the device the hwmon belongs to, "<bus or parent>_<device>" of the
 * resolved device link ("platform_coretemp_0", "0000:00:18_3" cleaned),
 * else the name file, else "hwmonN". Names are cleaned as node_exporter's
 * cleanMetricName: lower case, [^a-z0-9:_] -> '_', '_' trimmed.
 *
 * Each value file is read with one read(2) of at most 128 bytes (a broken
 * driver answering EAGAIN is skipped, not polled). No hwmon class: -1, as
 * node_exporter's ErrNoData. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collectors/all.h"
#include "collectors/kvlines.h"
#include "lib/readfile.h"
#include "collectors/sysfs_attr.h"
#include "lib/buf.h"
#include "lib/log.h"

#define NAME_LEN 64
#define VALUE_LEN 129 /* sysReadFile's 128 bytes + NUL */
#define HELP_LEN 256
#define CHIP_LEN 256 /* a cleaned device, bus or name file */

static const char *const sensor_types[] = {
	"vrm", "beep_enable", "update_interval", "in", "cpu", "fan", "pwm",
	"temp", "curr", "power", "energy", "humidity", "intrusion",
};

static const struct metric_desc chip_names_desc = {
	"node_hwmon_chip_names", "Annotation metric for human-readable chip names", METRIC_GAUGE};
static const struct metric_desc sensor_label_desc = {
	"node_hwmon_sensor_label", "Label for given chip and sensor", METRIC_GAUGE};
static const struct metric_desc beep_enabled_desc = {
	"node_hwmon_beep_enabled", "Hardware beep enabled", METRIC_GAUGE};
static const struct metric_desc vrm_desc = {
	"node_hwmon_voltage_regulator_version", "Hardware voltage regulator", METRIC_GAUGE};
static const struct metric_desc update_interval_desc = {
	"node_hwmon_update_interval_seconds", "Hardware monitor update interval", METRIC_GAUGE};

struct hw_value {
	char sensor[NAME_LEN + 16]; /* "temp1" */
	char type[NAME_LEN];   /* "temp" */
	char prop[NAME_LEN];   /* "input"; "" for a file named just "temp1" */
	char value[VALUE_LEN]; /* newlines trimmed */
};

struct hwmon_state {
	struct path_buf dir; /* <sysfs>/class/hwmon, then hwmonN, ... */
	struct dir_list chips, files;
	struct hw_value *vals;
	size_t n_vals, cap_vals;
};

/* node_exporter's cleanMetricName. A UTF-8 sequence counts as one
 * character, as in Go's regexp replacement. */
static void clean_name(const char *in, size_t len, char *out, size_t size)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '_') {
			out[n++] = (char)c;
			continue;
		}
		out[n++] = '_';
		if (c >= 0xc0) /* skip the continuation bytes of this character */
			while (i + 1 < len && ((unsigned char)in[i + 1] & 0xc0) == 0x80)
				i++;
	}
	while (n > 0 && out[n - 1] == '_')
		n--;
	while (start < n && out[start] == '_')
		start++;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
}

/* ^([^0-9]+)([0-9]*)(_(.+))?$ with a known type. */
static bool explode(const char *name, struct hw_value *v)
{
	const char *p = name, *digits;
	unsigned long num = 0;
	size_t type_len;
	bool known = false;

	while (*p && (*p < '0' || *p > '9'))
		p++;
	type_len = (size_t)(p - name);
	if (type_len == 0 || type_len >= sizeof(v->type))
		return false;
	/* the greedy [^0-9]+ took everything up to the first digit */
	digits = p;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p - digits > 9)
		return false;
	for (const char *d = digits; d < p; d++)
		num = num * 10 + (unsigned long)(*d - '0');
	if (*p && (p[0] != '_' || !p[1]))
		return false;
	for (size_t i = 0; i < sizeof(sensor_types) / sizeof(sensor_types[0]); i++)
		if (strlen(sensor_types[i]) == type_len && !memcmp(sensor_types[i], name, type_len))
			known = true;
	if (!known || strlen(*p ? p + 1 : "") >= sizeof(v->prop))
		return false;
	memcpy(v->type, name, type_len);
	v->type[type_len] = '\0';
	snprintf(v->sensor, sizeof(v->sensor), "%s%lu", v->type, num);
	strcpy(v->prop, *p ? p + 1 : "");
	return true;
}

static struct hw_value *find_value(struct hwmon_state *st, size_t from, const char *sensor,
				   const char *prop)
{
	for (size_t i = from; i < st->n_vals; i++)
		if (!strcmp(st->vals[i].sensor, sensor) && !strcmp(st->vals[i].prop, prop))
			return &st->vals[i];
	return NULL;
}

/* The known files of the directory at st->dir into st->vals (from: where
 * this chip's values start; a later file of the same sensor and property,
 * from device/, replaces the earlier one). */
static int collect(struct hwmon_state *st, size_t from)
{
	if (dir_list_read(&st->files, st->dir.s, NULL, false) < 0)
		return -1;
	for (size_t i = 0; i < st->files.n; i++) {
		struct hw_value v, *slot;
		ssize_t back, len;
		size_t lead;

		if (!explode(st->files.names[i], &v) || (back = path_push(&st->dir, st->files.names[i])) < 0)
			continue;
		len = attr_read(st->dir.s, v.value, sizeof(v.value), false);
		path_pop(&st->dir, back);
		if (len < 0)
			continue; /* a directory (power/), EAGAIN, EIO... */
		while (len > 0 && v.value[len - 1] == '\n') /* Go's strings.Trim(raw, "\n") */
			v.value[--len] = '\0';
		lead = strspn(v.value, "\n");
		memmove(v.value, v.value + lead, (size_t)len - lead + 1);
		if (!(slot = find_value(st, from, v.sensor, v.prop))) {
			if (grow_array((void **)&st->vals, &st->cap_vals, st->n_vals + 1,
				       sizeof(*st->vals)) < 0)
				return -1;
			slot = &st->vals[st->n_vals++];
		}
		*slot = v;
	}
	return 0;
}

/* The chip label (st->dir is at the hwmonN directory). */
static int chip_name(struct hwmon_state *st, char *out, size_t size)
{
	char real[PATH_MAX], raw[ATTR_MAX];
	ssize_t back = path_push(&st->dir, "device");
	ssize_t len;

	if (back >= 0 && realpath(st->dir.s, real)) {
		char *name = strrchr(real, '/'), *type;
		char clean_dev[CHIP_LEN], clean_type[CHIP_LEN];

		*name++ = '\0';
		type = strrchr(real, '/');
		type = type ? type + 1 : real;
		clean_name(name, strlen(name), clean_dev, sizeof(clean_dev));
		clean_name(type, strlen(type), clean_type, sizeof(clean_type));
		path_pop(&st->dir, back);
		if (*clean_type && *clean_dev) {
			snprintf(out, size, "%s_%s", clean_type, clean_dev);
			return 0;
		}
		if (*clean_dev) {
			snprintf(out, size, "%s", clean_dev);
			return 0;
		}
	} else {
		path_pop(&st->dir, back);
	}
	back = path_push(&st->dir, "name");
	len = back < 0 ? -1 : attr_read(st->dir.s, raw, sizeof(raw), false);
	path_pop(&st->dir, back);
	if (len > 0) {
		clean_name(raw, (size_t)len, out, size);
		if (*out)
			return 0;
	}
	if (realpath(st->dir.s, real)) {
		const char *base = strrchr(real, '/');
		base = base ? base + 1 : real;
		clean_name(base, strlen(base), out, size);
		if (*out)
			return 0;
	}
	return -1;
}

/* The help text, unit suffix, scale and type of element el of a sensor of
 * type, as node_exporter's hwmon collector names them. */
static void describe_value(const char *type, const char *el, char *help, size_t help_size,
			   const char **unit, double *scale, enum metric_type *mtype)
{
	if (!strcmp(el, "fault") || !strcmp(el, "alarm")) {
		snprintf(help, help_size, "Hardware sensor %s status (%s)", el, type);
	} else if (!strcmp(el, "beep")) {
		*unit = "_enabled";
		snprintf(help, help_size, "Hardware monitor sensor has beeping enabled");
	} else if (!strcmp(type, "in") || !strcmp(type, "cpu")) {
		*unit = "_volts", *scale = 0.001;
		snprintf(help, help_size, "Hardware monitor for voltage (%s)", el);
	} else if (!strcmp(type, "temp") && strcmp(el, "type") != 0) {
		*unit = "_celsius", *scale = 0.001;
		snprintf(help, help_size, "Hardware monitor for temperature (%s)", el);
	} else if (!strcmp(type, "curr")) {
		*unit = "_amps", *scale = 0.001;
		snprintf(help, help_size, "Hardware monitor for current (%s)", el);
	} else if (!strcmp(type, "energy")) {
		*unit = "_joule_total", *scale = 1.0 / 1000000.0, *mtype = METRIC_COUNTER;
		snprintf(help, help_size, "Hardware monitor for joules used so far (%s)", el);
	} else if (!strcmp(type, "power") && !strcmp(el, "accuracy")) {
		*scale = 1.0 / 1000000.0;
		snprintf(help, help_size, "Hardware monitor power meter accuracy, as a ratio");
	} else if (!strcmp(type, "power") &&
		   (!strcmp(el, "average_interval") || !strcmp(el, "average_interval_min") ||
		    !strcmp(el, "average_interval_max"))) {
		*unit = "_seconds", *scale = 0.001;
		snprintf(help, help_size, "Hardware monitor power usage update interval (%s)", el);
	} else if (!strcmp(type, "power")) {
		*unit = "_watt", *scale = 1.0 / 1000000.0;
		snprintf(help, help_size, "Hardware monitor for power usage in watts (%s)", el);
	} else if (!strcmp(type, "humidity")) {
		*scale = 1.0 / 1000000.0;
		snprintf(help, help_size,
			 "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the "
			 "humidity as a percentage) (%s)", el);
	} else if (!strcmp(type, "fan") && (!strcmp(el, "input") || !strcmp(el, "min") ||
					    !strcmp(el, "max") || !strcmp(el, "target"))) {
		*unit = "_rpm";
		snprintf(help, help_size, "Hardware monitor for fan revolutions per minute (%s)",
			 el);
	} else {
		snprintf(help, help_size, "Hardware monitor %s element %s", type, el);
	}
}

static void emit_value(struct registry *reg, const struct hw_value *v, bool has_plain,
		       const struct label *labels)
{
	char name[3 * NAME_LEN], help[HELP_LEN], element[NAME_LEN];
	struct metric_desc d = {name, help, METRIC_GAUGE};
	const char *type = v->type, *el = v->prop, *unit = "";
	double x, scale = 1;
	int n;

	if (!kv_double(v->value, &x))
		return;
	if (!strcmp(el, "input"))
		n = snprintf(name, sizeof(name), "node_hwmon_%s%s", type, has_plain ? "_input" : "");
	else if (*el) {
		clean_name(el, strlen(el), element, sizeof(element));
		n = snprintf(name, sizeof(name), "node_hwmon_%s_%s", type, element);
	} else
		n = snprintf(name, sizeof(name), "node_hwmon_%s", type);
	if (n < 0 || (size_t)n >= sizeof(name))
		return;

	describe_value(type, el, help, sizeof(help), &unit, &scale, &d.type);
	if ((size_t)n + strlen(unit) >= sizeof(name))
		return;
	strcat(name, unit);
	/* node_exporter multiplies by 0.001 and divides by 1000000.0 */
	if (scale == 0.001)
		x *= 0.001;
	else if (scale != 1)
		x /= 1000000.0;
	registry_emit(reg, &d, NULL, labels, 2, x, 0);
}

/* One sensor: the values vals[from, to) that belong to sensor. */
static void emit_sensor(struct hwmon_state *st, struct registry *reg, const char *chip,
			size_t from, const struct hw_value *first)
{
	const char *sensor = first->sensor, *type = first->type;
	const struct hw_value *plain = find_value(st, from, sensor, "");
	const struct hw_value *label = find_value(st, from, sensor, "label");
	struct label labels[3] = {{"chip", chip}, {"sensor", sensor}, {"label", NULL}};
	double x;

	if (label) {
		labels[2].value = label->value;
		registry_emit(reg, &sensor_label_desc, NULL, labels, 3, 1, 0);
	}
	if (!strcmp(type, "beep_enable")) {
		registry_emit(reg, &beep_enabled_desc, NULL, labels, 2,
			      plain && !strcmp(plain->value, "1") ? 1 : 0, 0);
		return;
	}
	if (!strcmp(type, "vrm")) {
		if (plain && kv_double(plain->value, &x))
			registry_emit(reg, &vrm_desc, NULL, labels, 2, x, 0);
		return;
	}
	if (!strcmp(type, "update_interval")) {
		if (plain && kv_double(plain->value, &x))
			registry_emit(reg, &update_interval_desc, NULL, labels, 2, x * 0.001, 0);
		return;
	}
	for (size_t i = from; i < st->n_vals; i++)
		if (!strcmp(st->vals[i].sensor, sensor) && strcmp(st->vals[i].prop, "label") != 0)
			emit_value(reg, &st->vals[i], plain != NULL, labels);
}

/* st->dir is at the hwmonN directory. */
static int update_chip(struct hwmon_state *st, struct registry *reg)
{
	char chip[2 * CHIP_LEN + 2], human[CHIP_LEN], raw[ATTR_MAX];
	size_t from = st->n_vals = 0;
	struct stat sb;
	ssize_t back, len;

	if (chip_name(st, chip, sizeof(chip)) < 0) {
		log_msg(LOG_DEBUG, "hwmon: could not derive a monitoring name", "path=%s", st->dir.s);
		return -1;
	}
	if (collect(st, from) < 0)
		return -1;
	if ((back = path_push(&st->dir, "device")) >= 0 && stat(st->dir.s, &sb) == 0 &&
	    collect(st, from) < 0) {
		path_pop(&st->dir, back);
		return -1;
	}
	path_pop(&st->dir, back);

	back = path_push(&st->dir, "name");
	len = back < 0 ? -1 : attr_read(st->dir.s, raw, sizeof(raw), false);
	path_pop(&st->dir, back);
	if (len > 0) {
		clean_name(raw, (size_t)len, human, sizeof(human));
		if (*human) {
			const struct label l[2] = {{"chip", chip}, {"chip_name", human}};
			registry_emit(reg, &chip_names_desc, NULL, l, 2, 1, 0);
		}
	}
	for (size_t i = from; i < st->n_vals; i++) {
		bool seen = false;
		for (size_t j = from; j < i && !seen; j++)
			seen = !strcmp(st->vals[j].sensor, st->vals[i].sensor);
		if (!seen)
			emit_sensor(st, reg, chip, from, &st->vals[i]);
	}
	return 0;
}

static int hwmon_update(struct collector_ctx *ctx, struct registry *reg)
{
	struct hwmon_state *st = ctx->state;
	int rc = 0;

	if (dir_list_read(&st->chips, st->dir.s, NULL, false) < 0) {
		log_msg(LOG_DEBUG, "hwmon collector metrics are not available for this system",
			"path=%s err=\"%s\"", st->dir.s, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < st->chips.n; i++) {
		ssize_t back = path_push(&st->dir, st->chips.names[i]);
		struct stat sb;

		/* stat follows the class symlinks; a dangling one is skipped */
		if (back >= 0 && stat(st->dir.s, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		    update_chip(st, reg) < 0)
			rc = -1;
		path_pop(&st->dir, back);
	}
	return rc;
}

static void hwmon_exit(struct collector_ctx *ctx)
{
	struct hwmon_state *st = ctx->state;

	if (!st)
		return;
	dir_list_free(&st->chips);
	dir_list_free(&st->files);
	free(st->vals);
	free(st);
	ctx->state = NULL;
}

static int hwmon_init(struct collector_ctx *ctx)
{
	struct hwmon_state *st = calloc(1, sizeof(*st));
	char *dir = NULL;

	ctx->state = st;
	if (!st || !(dir = collector_path(ctx->global ? ctx->global->sysfs : NULL, "/sys",
					  "class/hwmon")) ||
	    path_set(&st->dir, dir) < 0) {
		free(dir);
		hwmon_exit(ctx);
		return -1;
	}
	free(dir);
	return 0;
}

const struct collector collector_hwmon = {
	.name = "hwmon",
	.default_enabled = true,
	.init = hwmon_init,
	.update = hwmon_update,
	.exit = hwmon_exit,
};
