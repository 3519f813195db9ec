# Thin wrapper over CMake. `make run` and `make test` install what is missing.
BUILD ?= build
SANITIZE ?= OFF
JOBS ?= $(shell nproc)
PKGS := libmicrohttpd-dev libgnutls28-dev libcjson-dev libcurl4-openssl-dev libssl-dev libyaml-dev \
        check pkg-config cmake gcc make chromium
ARGS ?=

.PHONY: all deps build test run bench clean format

all: build

deps:
	@missing=""; for p in $(PKGS); do \
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

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan
