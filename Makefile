# Thin wrapper over CMake. `make run` and `make test` install what is missing.
BUILD ?= build
SANITIZE ?= OFF
JOBS ?= $(shell nproc)
PKGS := libmicrohttpd-dev libgnutls28-dev libcjson-dev libcurl4-openssl-dev libssl-dev libyaml-dev \
        check pkg-config cmake gcc make
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
	@echo "  curl -s 127.0.0.1:8888/inspect | head -40"
	$(BUILD)/vgpu-scheduler --snapshot examples/demo-cluster.json $(ARGS)

bench: build
	$(BUILD)/bench/policy_bench

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan
