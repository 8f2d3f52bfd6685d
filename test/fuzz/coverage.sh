#!/bin/bash
# SPDX-License-Identifier: MIT
# After `make fuzz`: how much of the code each target aims at its corpus
# (the seeds and what the run added, build/fuzz/run/<name>/corpus) reaches,
# in libFuzzer's edges (-print_coverage), summed over the functions of the
# files named below for the target.
#   test/fuzz/coverage.sh [BUILD_FUZZ] [NAME...]
set -u
cd "$(dirname "$0")/../.."
build=${1:-build/fuzz}
shift || true
names=${*:-config textfile procfs sysfs response disk_segment}

files_of() {
	case $1 in
	config) echo '/config/' ;;
	textfile) echo 'collectors/text(file|parse|lex)\.c' ;;
	procfs) echo 'collectors/(cpu|stat|meminfo|loadavg|diskstats|netdev|netstat|sockstat|softnet|vmstat|filesystem|pressure|filefd|conntrack|schedstat|os|kvlines)\.c|bpf/ksyms\.c' ;;
	sysfs) echo 'collectors/(netclass|cpufreq|hwmon|thermal_zone|cgroup|keptdir|sysfs_attr)\.c|lib/(cgroupfs|devname)\.c' ;;
	response) echo 'queue/(response|token_response)\.c' ;;
	disk_segment) echo 'queue/disk_(read|segment)\.c' ;;
	esac
}

for name in $names; do
	tmp=$(mktemp -d "${FUZZ_TMPDIR:-/dev/shm}/bpfpush-cov-XXXXXX")
	corpus=$build/run/$name/corpus
	[ -d "$corpus" ] || corpus=
	TMPDIR=$tmp "$build/bin/fuzz_$name" -runs=0 -close_fd_mask=2 -print_coverage=1 \
		$corpus "test/fuzz/corpus/$name" 2>&1 |
		grep -aE '^(UN)?COVERED_FUNC' | grep -E "$(files_of "$name")" |
		sed -E 's/.* edges: ([0-9]+)\/([0-9]+) .*/\1 \2/' |
		awk -v n="$name" '{c += $1; t += $2; f++; if ($1) cf++}
			END {printf "%-13s %5d / %5d edges (%2.0f %%), %d / %d functions\n",
			     n, c, t, t ? 100 * c / t : 0, cf, f}'
	rm -rf "$tmp"
done
