# Thin forwarder: CMake (with CTest) is the real build. `make help` lists targets.
BUILD ?= build
SMP ?= 2
CMAKE ?= cmake
CTEST ?= ctest
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CHAPTERS := $(notdir $(wildcard chapters/[0-9][0-9]-*))
NUMS := $(foreach c,$(CHAPTERS),$(firstword $(subst -, ,$(c))))

.PHONY: help deps configure build test book clean $(foreach n,$(NUMS),chapter-$(n)-qemu chapter-$(n)-test chapter-$(n)-gdb)

help: ## list every target with one line each
	@echo "Hartbook make targets:"
	@grep -hE '^[a-z%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-22s %s\n", $$1, $$2}'
	@echo "  chapters: $(CHAPTERS)"
	@echo "Variables: SMP=$(SMP) (harts for chapter-NN-qemu/gdb), BUILD=$(BUILD)"

deps: ## install missing tools from Debian packages (needs root or sudo)
	@./scripts/install-deps

configure: deps ## configure the CMake build in $(BUILD)/
	@$(CMAKE) --preset default >/dev/null 2>&1 || $(CMAKE) -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@echo "hartbook: configured $(BUILD)/"

build: configure ## build host tests, tools and every chapter kernel
	@echo "hartbook: building host tests and chapter kernels"
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

test: build ## host GoogleTest suites + every chapter's QEMU gates (ctest)
	@echo "hartbook: running ctest (labels: host, qemu)"
	@$(CTEST) --test-dir $(BUILD) --output-on-failure -j $(JOBS)

book: build ## run every chapter gate, then render build/book/html/index.html
	@$(CMAKE) --build $(BUILD) --target book

clean: ## remove the build tree
	rm -rf $(BUILD)

chapter-%-qemu: build ## boot chapter NN interactively (SMP=N harts; quit with Ctrl-A x)
	@./scripts/run-qemu-rv64.sh --chapter $* --smp $(SMP)

chapter-%-test: build ## run chapter NN's gates only (SMP=1, 2, 4, single-threaded TCG, mutations)
	@$(CTEST) --test-dir $(BUILD) --output-on-failure -R '^gate-$*-'

chapter-%-gdb: build ## boot chapter NN halted with a gdb stub; prints the gdb command
	@./scripts/run-qemu-rv64.sh --chapter $* --smp $(SMP) --gdb
