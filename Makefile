# Thin wrapper over CMake. `make run` and `make test` install what is missing.
BUILD ?= build
SANITIZE ?= OFF
JOBS ?= $(shell nproc)
PKGS := libmicrohttpd-dev libgnutls28-dev libcjson-dev libcurl4-openssl-dev libssl-dev libyaml-dev \
        check pkg-config cmake gcc make chromium
FUZZ_PKGS := clang
ARGS ?=
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_RUNS ?= -1
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all deps build test run bench clean format fuzz

all: build

deps:
	@missing=""; for p in $(PKGS) $(EXTRA_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update && apt-get install -y $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DVS_SANITIZE=$(SANITIZE) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

run: build
	@echo "vgpu-scheduler on the demo cluster at 127.0.0.1:8888. From another terminal, try:"
	@echo "  curl -s -XPOST 127.0.0.1:8888/filter -d @examples/requests/filter-small.json"
	@echo "  curl -s -XPOST 127.0.0.1:8888/filter -d @examples/requests/filter-dcu.json"
	@echo "  curl -s 127.0.0.1:8888/inspect | head -40"
	@echo "or open http://127.0.0.1:8888/ in a browser (the web view)."
	$(BUILD)/vgpu-scheduler --snapshot examples/demo-cluster.json $(ARGS)

OPENB ?= ../shared/data/openb

# A short run of every measurement program (under 2 minutes on 2 cores);
# bench/README.md has the full tables and how they were made.
bench: build
	$(BUILD)/bench/policy_bench 5000 8 100
	$(BUILD)/vgpu-bench --nodes 1000 --pods 2000 --clients 2
	$(BUILD)/vgpu-bench --nodes 1000 --pods 300 --clients 2 --mode nodes
	$(BUILD)/vgpu-bench --nodes 5000 --pods 3000 --clients 2 --ui-poll 1000
	$(BUILD)/vgpu-preempt-bench --nodes 500 --pods 20 --calls 300
	$(BUILD)/vgpu-start-bench --nodes 1000 --pods 20000
	@if [ -f $(OPENB)/openb_pod_list_default.csv ]; then \
	  for p in binpack fragment-aware; do \
	    $(BUILD)/vgpu-replay --nodes $(OPENB)/openb_node_list_gpu_node.csv \
	      --pods $(OPENB)/openb_pod_list_default.csv --policy $$p; \
	  done; \
	  $(BUILD)/vgpu-replay --nodes $(OPENB)/openb_node_list_gpu_node.csv \
	    --pods $(OPENB)/openb_pod_list_default.csv --bound; \
	else echo "vgpu-replay: $(OPENB) not found; skipped"; fi

# Each libFuzzer target for FUZZ_TIME seconds, or until FUZZ_RUNS executions
# when given (clang, ASan + UBSan). New
# inputs go to $(FUZZ_BUILD)/corpus/<target>; a finding stops its target
# and is written to $(FUZZ_BUILD)/crash-<target>-*: keep it under
# fuzz/regressions/<target>/ once fixed, and make test replays it.
fuzz:
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(FUZZ_PKGS)"
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DVS_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "fuzz $$t: $(FUZZ_TIME) s (log: $(FUZZ_BUILD)/fuzz-$$t.log)"; \
	  $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -runs=$(FUZZ_RUNS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	    $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t $$(ls -d fuzz/regressions/$$t 2>/dev/null) \
	    >$(FUZZ_BUILD)/fuzz-$$t.log 2>&1 \
	    || { tail -40 $(FUZZ_BUILD)/fuzz-$$t.log; echo "fuzz $$t: finding in $(FUZZ_BUILD)"; exit 1; }; \
	  grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
	    $(FUZZ_BUILD)/fuzz-$$t.log; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)
