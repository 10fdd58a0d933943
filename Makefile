# Ember's front door. Every target does its own set-up, so each works on a
# fresh Debian 12 machine.
BUILD_DIR ?= build
BUILD_TYPE ?= Release
JOBS ?= 2
SANITIZE ?= OFF
CTEST_ARGS ?=

.PHONY: all deps configure build test unit-test demo bench controlplane-build images e2e clean format

all: build

deps:
	@bash hack/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DEMBER_SANITIZE=$(SANITIZE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

# kube-apiserver and etcd for the control-plane tests, helm for the chart
# test and the prometheus-operator's CRDs it validates against, built once
# and cached under ~/.cache/ember.
controlplane-build:
	@bash hack/controlplane.sh build
	@bash hack/helm.sh build >/dev/null
	@bash hack/monitoring-crds.sh build >/dev/null

# ember-driver, ember-executor, ember-operator and ember-sdk, tagged with the
# version and latest; the base images are made locally when none can be
# pulled.
images:
	@bash hack/images.sh

# A real single-node cluster (kubelet, containerd, CNI, CoreDNS) built here,
# the chart installed on it, and every end-to-end scenario: docs/e2e.md.
# E2E_ARGS names scenarios to run only those.
E2E_ARGS ?=
e2e: deps controlplane-build images
	@bash hack/e2e-local.sh $(E2E_ARGS)

test: build controlplane-build images
	@bash hack/run-tests.sh $(BUILD_DIR) $(CTEST_ARGS)

unit-test: build
	@cd $(BUILD_DIR) && ctest -L unit --output-on-failure -j$(JOBS)

demo: build
	@bash hack/demo.sh $(BUILD_DIR)

# WordCount throughput against a hand-written baseline, then the informer
# and the operator against the real control plane, then scheduler overhead,
# then WordCount while executors are killed and frozen, then TeraSort against
# GNU sort, PageRank and KMeans, then the web UI's cost to the driver.
bench: build controlplane-build
	@bash bench/run.sh $(BUILD_DIR)
	@bash bench/informer.sh $(BUILD_DIR)
	@bash bench/operator.sh $(BUILD_DIR)
	@bash bench/scheduler.sh $(BUILD_DIR)
	@bash bench/chaos.sh $(BUILD_DIR)
	@bash bench/terasort.sh $(BUILD_DIR)
	@bash bench/iterative.sh $(BUILD_DIR)
	@bash bench/ui.sh $(BUILD_DIR)

format:
	@find common runtime operator examples bench tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
