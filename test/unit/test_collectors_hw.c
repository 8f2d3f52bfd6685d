/* SPDX-License-Identifier: MIT */
/* The cpufreq, hwmon and thermal_zone collectors against fixture trees and
 * a real registry: the exact series, values, HELP and types they emit,
 * which are what node_exporter 1.5.0 itself printed for
 * test/fixtures/hw/sys. Run from the repository root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "collectors/all.h"
#include "series/registry.h"

#define ROUND_TS 1700000000000LL
#define SERIES_TEXT_MAX 1024
#define FIX "test/fixtures/"

#define VALUE_REL_TOL 1e-12
#define MUST_FIND_LISTS

#include "collector_harness.h"
#include "sys_harness.h"

/* ---- cpufreq ---------------------------------------------------------- */

static void test_cpufreq(void **state)
{
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_cpufreq, NULL, NULL, FIX "hw/sys", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* cpu0: all six; cpu1: no cpuinfo_cur_freq (root only); cpu2: no cpufreq */
	assert_int_equal(r.n, 11);
	assert_value(&r, "node_cpu_frequency_hertz{cpu=\"0\"}", 1800000000.0);
	assert_value(&r, "node_cpu_frequency_min_hertz{cpu=\"0\"}", 800000000.0);
	assert_value(&r, "node_cpu_frequency_max_hertz{cpu=\"0\"}", 2400000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_hertz{cpu=\"0\"}", 1799998000.0);
	assert_value(&r, "node_cpu_scaling_frequency_min_hertz{cpu=\"0\"}", 800000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_max_hertz{cpu=\"0\"}", 2400000000.0);
	assert_null(find(&r, "node_cpu_frequency_hertz{cpu=\"1\"}"));
	assert_value(&r, "node_cpu_frequency_min_hertz{cpu=\"1\"}", 800000000.0);
	assert_value(&r, "node_cpu_frequency_max_hertz{cpu=\"1\"}", 3500000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_hertz{cpu=\"1\"}", 3200000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_min_hertz{cpu=\"1\"}", 1200000000.0);
	assert_value(&r, "node_cpu_scaling_frequency_max_hertz{cpu=\"1\"}", 3500000000.0);
	assert_int_equal(count_named(&r, "node_cpu_scaling_governor"), 0); /* 1.6 */
	assert_family(&r, "node_cpu_frequency_hertz{cpu=\"0\"}", "node_cpu_frequency_hertz",
		      "Current cpu thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_frequency_min_hertz{cpu=\"0\"}", "node_cpu_frequency_min_hertz",
		      "Minimum cpu thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_frequency_max_hertz{cpu=\"0\"}", "node_cpu_frequency_max_hertz",
		      "Maximum cpu thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_scaling_frequency_hertz{cpu=\"0\"}",
		      "node_cpu_scaling_frequency_hertz",
		      "Current scaled CPU thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_scaling_frequency_min_hertz{cpu=\"0\"}",
		      "node_cpu_scaling_frequency_min_hertz",
		      "Minimum scaled CPU thread frequency in hertz.", METRIC_GAUGE);
	assert_family(&r, "node_cpu_scaling_frequency_max_hertz{cpu=\"0\"}",
		      "node_cpu_scaling_frequency_max_hertz",
		      "Maximum scaled CPU thread frequency in hertz.", METRIC_GAUGE);
	run_stop(&r);
}

/* A VM: CPUs without cpufreq, success and nothing (node_exporter); no CPU
 * directory at all: -1; a value that is no number: -1 and nothing. */
static void test_cpufreq_absent(void **state)
{
	struct tmpdir t;
	char path[256];
	struct run r;
	(void)state;

	tmp_dir(&t);
	tmp_file(&t, "devices/system/cpu/cpu0/online", "1\n", path, sizeof(path));
	tmp_file(&t, "devices/system/cpu/cpu1/online", "1\n", path, sizeof(path));
	run_start_fs(&r, &collector_cpufreq, NULL, NULL, t.dir, NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 0);

	tmp_file(&t, "devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "<unknown>\n", path,
		 sizeof(path));
	tmp_file(&t, "devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1000\n", path,
		 sizeof(path));
	run_round(&r, ROUND_TS + 15000);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
	tmp_cleanup(&t);

	run_start_fs(&r, &collector_cpufreq, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* ---- hwmon ------------------------------------------------------------ */

struct expect {
	const char *series;
	double value;
};

/* What node_exporter 1.5.0 printed for test/fixtures/hw/sys. */
static const struct expect hwmon_expected[] = {
	{"node_hwmon_beep_enabled{chip=\"pci0000:00_0000:00:18_3\",sensor=\"beep_enable0\"}", 1},
	{"node_hwmon_chip_names{chip=\"acpitz\",chip_name=\"acpitz\"}", 1},
	{"node_hwmon_chip_names{chip=\"pci0000:00_0000:00:18_3\",chip_name=\"k10temp\"}", 1},
	{"node_hwmon_chip_names{chip=\"platform_coretemp_0\",chip_name=\"coretemp\"}", 1},
	{"node_hwmon_cpu_vid_volts{chip=\"pci0000:00_0000:00:18_3\",sensor=\"cpu0\"}", 1.25},
	{"node_hwmon_curr_amps{chip=\"pci0000:00_0000:00:18_3\",sensor=\"curr1\"}", 1.5},
	{"node_hwmon_energy_joule_total{chip=\"pci0000:00_0000:00:18_3\",sensor=\"energy1\"}",
	 123.456789},
	{"node_hwmon_fan_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 0},
	{"node_hwmon_fan_div{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 8},
	{"node_hwmon_fan_fault{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 0},
	{"node_hwmon_fan_min_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 300},
	{"node_hwmon_fan_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 1200},
	{"node_hwmon_fan_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan2\"}", 900},
	{"node_hwmon_fan_target_rpm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}", 1500},
	{"node_hwmon_humidity{chip=\"pci0000:00_0000:00:18_3\",sensor=\"humidity1\"}", 0.045},
	{"node_hwmon_in_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in1\"}", 1},
	{"node_hwmon_in_beep_enabled{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in1\"}", 1},
	{"node_hwmon_in_volts{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in0\"}", 1.2},
	{"node_hwmon_in_volts{chip=\"pci0000:00_0000:00:18_3\",sensor=\"in1\"}", 3312 * 0.001},
	{"node_hwmon_intrusion_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"intrusion0\"}", 0},
	{"node_hwmon_power_accuracy{chip=\"pci0000:00_0000:00:18_3\",sensor=\"power1\"}", 0.5},
	{"node_hwmon_power_average_interval_seconds{chip=\"pci0000:00_0000:00:18_3\","
	 "sensor=\"power1\"}", 1},
	{"node_hwmon_power_average_watt{chip=\"pci0000:00_0000:00:18_3\",sensor=\"power1\"}", 15},
	{"node_hwmon_power_cap_watt{chip=\"pci0000:00_0000:00:18_3\",sensor=\"power1\"}", 95},
	{"node_hwmon_pwm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"pwm1\"}", 128},
	{"node_hwmon_pwm_enable{chip=\"pci0000:00_0000:00:18_3\",sensor=\"pwm1\"}", 2},
	{"node_hwmon_sensor_label{chip=\"pci0000:00_0000:00:18_3\",label=\"Tdie\",sensor=\"temp1\"}",
	 1},
	{"node_hwmon_sensor_label{chip=\"pci0000:00_0000:00:18_3\",label=\"Vcore (CPU)\","
	 "sensor=\"in0\"}", 1},
	{"node_hwmon_sensor_label{chip=\"platform_coretemp_0\",label=\"Core 0\",sensor=\"temp2\"}", 1},
	{"node_hwmon_sensor_label{chip=\"platform_coretemp_0\",label=\"Package id 0\","
	 "sensor=\"temp1\"}", 1},
	{"node_hwmon_temp_celsius{chip=\"acpitz\",sensor=\"temp1\"}", 27.8},
	{"node_hwmon_temp_celsius{chip=\"hwmon3\",sensor=\"temp1\"}", 30},
	{"node_hwmon_temp_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp1\"}", 61.25},
	{"node_hwmon_temp_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp3\"}", 40},
	{"node_hwmon_temp_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp5\"}", 0.001},
	{"node_hwmon_temp_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 55},
	{"node_hwmon_temp_celsius{chip=\"platform_coretemp_0\",sensor=\"temp2\"}", 54},
	{"node_hwmon_temp_crit_alarm_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 0},
	{"node_hwmon_temp_crit_celsius{chip=\"acpitz\",sensor=\"temp1\"}", 105},
	{"node_hwmon_temp_crit_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 100},
	{"node_hwmon_temp_input_celsius{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp5\"}", 33},
	{"node_hwmon_temp_max_celsius{chip=\"platform_coretemp_0\",sensor=\"temp1\"}", 80},
	{"node_hwmon_temp_type{chip=\"pci0000:00_0000:00:18_3\",sensor=\"temp3\"}", 4},
	{"node_hwmon_update_interval_seconds{chip=\"pci0000:00_0000:00:18_3\","
	 "sensor=\"update_interval0\"}", 0.5},
	{"node_hwmon_voltage_regulator_version{chip=\"pci0000:00_0000:00:18_3\",sensor=\"vrm0\"}",
	 91},
};

static void test_hwmon(void **state)
{
	const size_t n = sizeof(hwmon_expected) / sizeof(hwmon_expected[0]);
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_hwmon, NULL, NULL, FIX "hw/sys", NULL);
	for (int round = 0; round < 2; round++) {
		run_round(&r, ROUND_TS + round * 15000);
		assert_int_equal(r.rc, 0);
		/* temp7_input ("notanumber") and non-sensor files give nothing */
		assert_int_equal(r.n, n);
		for (size_t i = 0; i < n; i++)
			assert_value(&r, hwmon_expected[i].series, hwmon_expected[i].value);
	}
	assert_family(&r, "node_hwmon_temp_celsius{chip=\"acpitz\",sensor=\"temp1\"}",
		      "node_hwmon_temp_celsius", "Hardware monitor for temperature (input)",
		      METRIC_GAUGE);
	assert_family(&r, "node_hwmon_temp_crit_alarm_celsius{chip=\"platform_coretemp_0\","
			  "sensor=\"temp1\"}",
		      "node_hwmon_temp_crit_alarm_celsius",
		      "Hardware monitor for temperature (crit_alarm)", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_energy_joule_total{chip=\"pci0000:00_0000:00:18_3\","
			  "sensor=\"energy1\"}",
		      "node_hwmon_energy_joule_total",
		      "Hardware monitor for joules used so far (input)", METRIC_COUNTER);
	assert_family(&r, "node_hwmon_fan_alarm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"fan1\"}",
		      "node_hwmon_fan_alarm", "Hardware sensor alarm status (fan)", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_pwm{chip=\"pci0000:00_0000:00:18_3\",sensor=\"pwm1\"}",
		      "node_hwmon_pwm", "Hardware monitor pwm element ", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_humidity{chip=\"pci0000:00_0000:00:18_3\","
			  "sensor=\"humidity1\"}",
		      "node_hwmon_humidity",
		      "Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the "
		      "humidity as a percentage) (input)", METRIC_GAUGE);
	assert_family(&r, "node_hwmon_chip_names{chip=\"acpitz\",chip_name=\"acpitz\"}",
		      "node_hwmon_chip_names", "Annotation metric for human-readable chip names",
		      METRIC_GAUGE);
	assert_family(&r, "node_hwmon_sensor_label{chip=\"platform_coretemp_0\",label=\"Core 0\","
			  "sensor=\"temp2\"}",
		      "node_hwmon_sensor_label", "Label for given chip and sensor", METRIC_GAUGE);
	run_stop(&r);

	/* no hwmon class (this VM): -1, as node_exporter */
	run_start_fs(&r, &collector_hwmon, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, -1);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

/* ---- thermal_zone ----------------------------------------------------- */

static void test_thermal_zone(void **state)
{
	struct run r;
	(void)state;

	run_start_fs(&r, &collector_thermal_zone, NULL, NULL, FIX "hw/sys", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	/* thermal_zone2 has no temp: left out, the others kept */
	assert_int_equal(r.n, 6);
	assert_value(&r, "node_thermal_zone_temp{type=\"acpitz\",zone=\"0\"}", 27.8);
	assert_value(&r, "node_thermal_zone_temp{type=\"x86_pkg_temp\",zone=\"1\"}", 55);
	assert_value(&r, "node_cooling_device_cur_state{name=\"0\",type=\"Processor\"}", 0);
	assert_value(&r, "node_cooling_device_max_state{name=\"0\",type=\"Processor\"}", 10);
	assert_value(&r, "node_cooling_device_cur_state{name=\"1\",type=\"intel_powerclamp\"}", 3);
	assert_value(&r, "node_cooling_device_max_state{name=\"1\",type=\"intel_powerclamp\"}", 50);
	assert_family(&r, "node_thermal_zone_temp{type=\"acpitz\",zone=\"0\"}",
		      "node_thermal_zone_temp", "Zone temperature in Celsius", METRIC_GAUGE);
	assert_family(&r, "node_cooling_device_cur_state{name=\"0\",type=\"Processor\"}",
		      "node_cooling_device_cur_state", "Current throttle state of the cooling device",
		      METRIC_GAUGE);
	assert_family(&r, "node_cooling_device_max_state{name=\"0\",type=\"Processor\"}",
		      "node_cooling_device_max_state", "Maximum throttle state of the cooling device",
		      METRIC_GAUGE);
	run_stop(&r);

	/* no thermal class: nothing, and success (node_exporter's empty glob) */
	run_start_fs(&r, &collector_thermal_zone, NULL, NULL, FIX "no-such-dir", NULL);
	run_round(&r, ROUND_TS);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.n, 0);
	run_stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpufreq),
		cmocka_unit_test(test_cpufreq_absent),
		cmocka_unit_test(test_hwmon),
		cmocka_unit_test(test_thermal_zone),
	};

	return cmocka_run_group_tests_name("collectors_hw", tests, NULL, NULL);
}
