# SPDX-License-Identifier: MIT
# bpfpush. `make run` and `make test` do all the set-up on a fresh Debian 12.
#
#   make            build/bpfpush
#   make deps       apt-get install whatever of DEB_PKGS is missing
#   make run        local VictoriaMetrics + the agent with the example config
#   make test       unit tests (plain and ASan+UBSan), then integration tests
#   make bench      benchmarks
#   make bench-quick every benchmark on a tiny workload (< 60 s, no targets; in make test)
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (clang, ASan+UBSan)
#   make install    PREFIX=/usr/local
#   make clean
#   make vmlinux    regenerate bpf/vmlinux/$(ARCH)/vmlinux.h from this kernel

VERSION   := 0.1.0
BUILD     ?= build
PREFIX    ?= /usr/local
DURATION  ?=
CC        ?= cc

# Debian packages. `make deps` installs whatever of them is missing;
# `make deps-build` only what building needs (a container image).
BUILD_PKGS := gcc make pkg-config clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev \
	libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler libsnappy-dev \
	libyaml-dev libcmocka-dev libxxhash-dev libpcre2-dev libseccomp-dev libmicrohttpd-dev \
	libcap-ng-dev
TEST_PKGS := prometheus victoria-metrics prometheus-node-exporter python3 python3-pytest \
	python3-snappy python3-yaml curl procps iproute2 util-linux runc tinyproxy \
	python3-botocore protobuf-compiler python3-protobuf python3-pytest-xdist \
	openssl nginx haproxy tmux chromium fonts-dejavu-core
# The deploy tests: systemd-analyze, kubectl's kustomize, npm for the schema
# check. Debian's kubernetes-client and npm only where no kubectl or npm is
# installed: each would collide with one installed from elsewhere (the same
# /usr/bin/kubectl; npm needs Debian's nodejs). Debian 12's kubectl 1.20
# renders the base but not a kustomize component (kustomize v3.7+).
TEST_PKGS += systemd $(if $(shell command -v kubectl),,kubernetes-client) \
	$(if $(shell command -v npm),,nodejs npm)
# libFuzzer's runtime (make fuzz, make test): clang only recommends it.
TEST_PKGS += libclang-rt-dev
DEB_PKGS  := $(BUILD_PKGS) $(TEST_PKGS)

PKGS      := libcurl yaml-0.1 libprotobuf-c libpcre2-8 libseccomp libmicrohttpd libcap-ng
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN_FLAGS) -D_GNU_SOURCE \
	-DBPFPUSH_VERSION='"$(VERSION)"' -I. -I$(BUILD) -I$(BUILD)/proto \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lbpf -lelf -lz -lsnappy -lxxhash \
	-lpthread -lm
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
# The objects of the fuzz targets: instrumented for libFuzzer's coverage
# (the targets link its main with -fsanitize=fuzzer). clang, unlike gcc,
# counts a positional initializer's omitted tail as missing fields.
ifeq ($(FUZZ),1)
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Wno-missing-field-initializers
endif

SRCS      := $(wildcard lib/*.c config/*.c proto/*.c queue/*.c series/*.c collectors/*.c agent/*.c) \
	$(filter-out %.bpf.c,$(wildcard bpf/*.c))
PROTOS    := $(wildcard proto/*.proto)
PROTO_C   := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H   := $(PROTO_C:.c=.h)

# BPF: kernel sides compiled with clang (CO-RE: libbpf relocates field
# offsets to the running kernel at load time), then turned into skeleton
# headers that the user sides include. The kernel types come from a
# vmlinux.h kept per architecture in bpf/vmlinux/, so the build does not
# depend on the build machine's kernel; `make vmlinux` regenerates this
# architecture's from /sys/kernel/btf/vmlinux. An architecture without a
# kept one generates its own into the build folder.
ARCH      := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
VMLINUX_KEPT := bpf/vmlinux/$(ARCH)/vmlinux.h
VMLINUX_H := $(if $(wildcard $(VMLINUX_KEPT)),$(VMLINUX_KEPT),$(BUILD)/bpf/vmlinux/$(ARCH)/vmlinux.h)
OBJS      := $(SRCS:%.c=$(BUILD)/%.o) $(PROTO_C:.c=.o)
LIB_OBJS  := $(filter-out $(BUILD)/agent/main.o,$(OBJS))
UNIT_SRCS := $(wildcard test/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:test/unit/%.c=$(BUILD)/test/%)

# A unit test links the layer of the modules it tests and the layers below
# it (folders are layers, lowest first), so that testing the text parser
# needs neither clang nor a BPF skeleton; a test not listed links them all.
LAYERS_lib        := lib
LAYERS_config     := $(LAYERS_lib) config
LAYERS_proto      := $(LAYERS_config) proto
LAYERS_queue      := $(LAYERS_proto) queue
LAYERS_series     := $(LAYERS_queue) series
LAYERS_collectors := $(LAYERS_series) collectors
LAYERS_bpf        := $(LAYERS_collectors) bpf
LAYERS_agent      := $(LAYERS_bpf) agent
layer_objs = $(filter $(patsubst %,$(BUILD)/%/%,$(LAYERS_$(1))),$(LIB_OBJS))
# The queue's and the sender's tests share a receiver and a fixture.
RW_HARNESS := $(BUILD)/unit/receiver.o $(BUILD)/unit/queue_harness.o
UNIT_OBJS_test_bpfutil         = $(call layer_objs,bpf)
UNIT_OBJS_test_cgroup          = $(call layer_objs,collectors)
UNIT_OBJS_test_collectors      = $(call layer_objs,collectors)
UNIT_OBJS_test_collectors_net  = $(call layer_objs,collectors)
UNIT_OBJS_test_collectors_sys  = $(call layer_objs,collectors)
UNIT_OBJS_test_collectors_proc = $(call layer_objs,collectors)
UNIT_OBJS_test_collectors_hw   = $(call layer_objs,collectors)
UNIT_OBJS_test_collectors_filesystem = $(call layer_objs,collectors)
UNIT_OBJS_test_kept             = $(call layer_objs,collectors)
UNIT_OBJS_test_textfile         = $(call layer_objs,collectors)
UNIT_OBJS_test_le_bounds        = $(call layer_objs,series)
UNIT_OBJS_test_filter_memo      = $(call layer_objs,collectors)
UNIT_OBJS_test_config          = $(call layer_objs,config)
UNIT_OBJS_test_config_remote_write = $(call layer_objs,config)
UNIT_OBJS_test_config_compare = $(call layer_objs,config)
UNIT_OBJS_test_config_relabel = $(call layer_objs,config)
UNIT_OBJS_test_config_auth     = $(call layer_objs,config)
UNIT_OBJS_test_config_yaml     = $(call layer_objs,config)
UNIT_OBJS_test_duration        = $(call layer_objs,config)
UNIT_OBJS_test_aws_creds       = $(call layer_objs,queue)
UNIT_OBJS_test_disk            = $(call layer_objs,queue)
UNIT_OBJS_test_encode          = $(call layer_objs,proto)
UNIT_OBJS_test_encode_v2       = $(call layer_objs,proto)
UNIT_OBJS_test_exposition      = $(call layer_objs,series)
UNIT_OBJS_test_instance        = $(call layer_objs,agent)
UNIT_OBJS_test_lib             = $(call layer_objs,lib)
UNIT_OBJS_test_meta            = $(call layer_objs,series)
UNIT_OBJS_test_meta_sources    = $(call layer_objs,agent)
UNIT_OBJS_test_oauth2          = $(call layer_objs,queue)
UNIT_OBJS_test_queue           = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_queue_reshard   = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_queue_wait      = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_queue_disk      = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_queue_proto     = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_queue_ring      = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_registry        = $(call layer_objs,series)
UNIT_OBJS_test_native          = $(call layer_objs,series)
UNIT_OBJS_test_registry_relabel = $(call layer_objs,series)
UNIT_OBJS_test_registry_txn    = $(call layer_objs,series)
UNIT_OBJS_test_relabel         = $(call layer_objs,series)
UNIT_OBJS_test_sender          = $(call layer_objs,queue) $(RW_HARNESS)
UNIT_OBJS_test_textparse       = $(call layer_objs,collectors)
UNIT_OBJS_test_histview       = $(call layer_objs,series)
UNIT_OBJS_test_show_draw      = $(call layer_objs,agent)
UNIT_OBJS_test_status_html    = $(call layer_objs,agent)
UNIT_OBJS_test_tls_files       = $(call layer_objs,queue)
unit_objs  = $(or $(UNIT_OBJS_$(1)),$(LIB_OBJS))

.PHONY: all deps deps-build npm-deps run test unit integration bench bench-quick soak install clean vmlinux
.DELETE_ON_ERROR:
.SECONDARY: $(PROTO_C) $(PROTO_H) $(BPF_SKELS) $(RW_HARNESS) $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)

all: $(BUILD)/bpfpush

deps: PKGS_WANTED = $(DEB_PKGS)
deps-build: PKGS_WANTED = $(BUILD_PKGS)
deps deps-build:
	@missing=""; for p in $(PKGS_WANTED); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(@D)
	protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/bpf/vmlinux/$(ARCH)/vmlinux.h:
	@mkdir -p $(@D)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

vmlinux:
	@mkdir -p $(dir $(VMLINUX_KEPT))
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_KEPT).tmp
	mv $(VMLINUX_KEPT).tmp $(VMLINUX_KEPT)

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) $(wildcard bpf/*.h)
	@mkdir -p $(@D)
	clang -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-I$(dir $(VMLINUX_H)) -I. -c $< -o $@
	llvm-strip -g $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	bpftool gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.o: bpf/%.c $(PROTO_H) $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.c $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(PROTO_H)
	$(CC) -std=gnu11 $(CFLAGS) $(SAN_FLAGS) -I$(BUILD)/proto -c -o $@ $<

$(BUILD)/bpfpush: $(OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit/%.o: test/unit/%.c $(PROTO_H)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

.SECONDEXPANSION:
$(BUILD)/test/%: test/unit/%.c $$(call unit_objs,$$*)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -o $@ $< $(call unit_objs,$*) $(LDLIBS) -lcmocka

unit: $(BUILD)/bpfpush $(UNIT_BINS) $(BUILD)/bench/encode_bench

# Remote write 1.0 and 2.0 encoders side by side (make bench; tests dump
# its requests).
$(BUILD)/bench/encode_bench: test/bench/encode_bench.c $(call layer_objs,proto)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(call layer_objs,proto) $(LDLIBS)

# protoc's Python output for the integration receivers' 2.0 decoder
# (test/integration/rw2.py also makes it when missing).
$(BUILD)/py/write_v2_pb2.py: proto/write_v2.proto
	@mkdir -p $(@D)
	protoc --proto_path=proto --python_out=$(@D) $<

run: deps all
	DURATION=$(DURATION) test/run-local.sh

# kubernetes-models (the Kubernetes API schemas) for the deploy test, at the
# versions the lock file names, in $(BUILD)/npm.
NPM_LOCK := test/structure/k8s/package.json test/structure/k8s/package-lock.json
$(BUILD)/npm/node_modules/.package-lock.json: $(NPM_LOCK)
	@mkdir -p $(BUILD)/npm
	cp $(NPM_LOCK) $(BUILD)/npm/
	cd $(BUILD)/npm && npm ci --no-audit --no-fund --loglevel=error

# @grafana/schema's types and TypeScript, for the Grafana dashboards' check,
# in $(BUILD)/npm-grafana.
GRAFANA_NPM_LOCK := test/bpf/grafana/package.json test/bpf/grafana/package-lock.json
$(BUILD)/npm-grafana/node_modules/.package-lock.json: $(GRAFANA_NPM_LOCK)
	@mkdir -p $(BUILD)/npm-grafana
	cp $(GRAFANA_NPM_LOCK) $(BUILD)/npm-grafana/
	cd $(BUILD)/npm-grafana && npm ci --no-audit --no-fund --loglevel=error

npm-deps: $(BUILD)/npm/node_modules/.package-lock.json \
	$(BUILD)/npm-grafana/node_modules/.package-lock.json

test: deps npm-deps
	$(MAKE) all unit $(BUILD)/py/write_v2_pb2.py
	$(MAKE) BUILD=build/san SAN=1 all unit
	$(FUZZ_MAKE) fuzz-build
	test/run-tests.sh

# Figures with their targets beside them; a missed target is reported, not
# a failure. Remote write side by side with vmagent and Prometheus agent,
# a collection round beside a node_exporter scrape, the disk tier, then the BPF
# collectors' cost per event and per context switch.
bench: deps all $(BUILD)/bench/encode_bench
	$(BUILD)/bench/encode_bench
	/usr/bin/python3 test/bench/rw2_wire.py --bpfpush $(BUILD)/bpfpush --rounds 30
	/usr/bin/python3 test/bench/remote_write_bench.py --bpfpush $(BUILD)/bpfpush \
		--workdir $(BUILD)/bench/remote-write --repeat 3 $(BENCH_ARGS)
	/usr/bin/python3 test/bench/remote_write_bench.py --bpfpush $(BUILD)/bpfpush \
		--workdir $(BUILD)/bench/scaling --scaling 10000,100000,1000000 --rounds 3 \
		--repeat 3 --time-limit 900
	/usr/bin/python3 test/bench/memory_bench.py --bpfpush $(BUILD)/bpfpush --workdir $(BUILD)/bench/memory
	/usr/bin/python3 test/bench/collectors_bench.py --bin $(BUILD)/bpfpush
	/usr/bin/python3 test/bench/disk_bench.py --bpfpush $(BUILD)/bpfpush --workdir $(BUILD)/bench/disk
	/usr/bin/python3 test/bench/relabel_bench.py --bpfpush $(BUILD)/bpfpush --workdir $(BUILD)/bench/relabel
	BPFPUSH_BIN=$(BUILD)/bpfpush /usr/bin/python3 test/bench/bpf_bench.py

# Every bench script on a workload small enough for a smoke test: each
# figure is produced, none is judged (a slow machine must not fail it);
# a script that cannot run fails it. test/run-tests.sh runs it.
bench-quick: all $(BUILD)/bench/encode_bench
	test/bench/quick.sh $(BUILD)

# libFuzzer targets, one per parser family (test/fuzz/fuzz_<name>.c), built
# with clang into $(BUILD)/fuzz; each runs FUZZ_SECONDS from its seed corpus
# test/fuzz/corpus/<name>/ (real fixtures, and every finding's reproducer).
# A finding prints its reproducer's path and fails.
FUZZ_SECONDS ?= 20
FUZZ_MAKE     = $(MAKE) BUILD=$(BUILD)/fuzz FUZZ=1 CC=clang CFLAGS='-O1 -g'
FUZZ_JOBS    ?= 2
FUZZ_NAMES   := $(patsubst test/fuzz/fuzz_%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_OBJS_textfile     = $(call layer_objs,collectors)
FUZZ_OBJS_response     = $(call layer_objs,queue)
FUZZ_OBJS_disk_segment = $(call layer_objs,queue)
FUZZ_OBJS_procfs       = $(filter-out $(BUILD)/bpf/ksyms.o,$(LIB_OBJS)) # includes ksyms.c
fuzz_objs  = $(or $(FUZZ_OBJS_$(1)),$(LIB_OBJS))

$(BUILD)/bin/fuzz_%: test/fuzz/fuzz_%.c $(wildcard test/fuzz/*.h) $$(call fuzz_objs,$$*)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DFUZZ_SRCDIR='"$(CURDIR)"' -fsanitize=fuzzer -MMD -MP -o $@ $< \
		$(call fuzz_objs,$*) $(LDLIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_NAMES:%=$(BUILD)/bin/fuzz_%)

fuzz:
	$(FUZZ_MAKE) fuzz-build
	test/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_NAMES)

# 15 minutes at 100,000 series every 5 s against a receiver that fails 30 %
# of requests and restarts twice: RSS slope, fds, offered = received + drops.
# Not in `make test`; the result goes in docs/reliability.md.
soak: all
	/usr/bin/python3 test/soak/soak.py --bpfpush $(BUILD)/bpfpush --workdir $(BUILD)/soak $(SOAK_ARGS)

# The unit names $(PREFIX)/bin/bpfpush and $(PREFIX)/share/doc/bpfpush; an
# existing /etc/bpfpush/bpfpush.yml is kept (the new one goes beside it).
install: all
	install -D -m 0755 $(BUILD)/bpfpush $(DESTDIR)$(PREFIX)/bin/bpfpush
	install -d -m 0755 $(DESTDIR)/etc/bpfpush
	if [ -e $(DESTDIR)/etc/bpfpush/bpfpush.yml ]; then \
		install -m 0644 deploy/examples/bpfpush.yml $(DESTDIR)/etc/bpfpush/bpfpush.yml.new; \
	else install -m 0644 deploy/examples/bpfpush.yml $(DESTDIR)/etc/bpfpush/bpfpush.yml; fi
	install -d -m 0755 $(DESTDIR)/lib/systemd/system
	sed 's|/usr/local/|$(PREFIX)/|g' deploy/systemd/bpfpush.service \
		> $(DESTDIR)/lib/systemd/system/bpfpush.service
	chmod 0644 $(DESTDIR)/lib/systemd/system/bpfpush.service
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/bpfpush README.md docs/deploy.md
	install -d -m 0755 $(DESTDIR)/var/lib/bpfpush/textfile

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(UNIT_BINS:=.d) $(RW_HARNESS:.o=.d) $(FUZZ_NAMES:%=$(BUILD)/bin/fuzz_%.d)
