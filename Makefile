# Thin forwarder: CMake (with CTest) is the real build. `make help` lists targets.
BUILD ?= build
SMP ?= 2
MACHINE ?= virt
CMAKE ?= cmake
CTEST ?= ctest
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CHAPTERS := $(notdir $(wildcard chapters/[0-9][0-9]-*))
NUMS := $(foreach c,$(CHAPTERS),$(firstword $(subst -, ,$(c))))

.PHONY: help deps configure build test book book-epub book-pdf book-check mutants grade labs check-labs run-smp-process-scale run-thread-scale clean

help: ## list every target with one line each
	@echo "Hartbook make targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-22s %s\n", $$1, $$2}'
	@grep -hE '^#: ' $(MAKEFILE_LIST) | sed -E 's/^#: ([^ ]+) +/\1\t/' | awk -F'\t' '{printf "  %-22s %s\n", $$1, $$2}'
	@echo "  chapters: $(CHAPTERS)"
	@echo "Variables: SMP=$(SMP) (harts for chapter-NN-qemu/gdb), MACHINE=$(MACHINE) (virt|sifive_u), BUILD=$(BUILD)"

deps: ## install missing tools from Debian packages (needs root or sudo)
	@./scripts/install-deps

configure: deps ## configure the CMake build in $(BUILD)/
	@$(CMAKE) --preset default >/dev/null 2>&1 || $(CMAKE) -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@echo "hartbook: configured $(BUILD)/"

build: configure ## build host tests, tools and every chapter kernel
	@echo "hartbook: building host tests and chapter kernels"
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

test: build ## host GoogleTest suites + every chapter's QEMU gates (ctest; not labels book and labs: book-check, check-labs)
	@echo "hartbook: running ctest (labels: host, qemu)"
	@$(CTEST) --test-dir $(BUILD) --output-on-failure -j $(JOBS) -LE '^(book|labs)$$'

book: build ## run every chapter gate, then render build/book/html/index.html
	@$(CMAKE) --build $(BUILD) --target book

book-epub: build ## run every chapter gate, then render build/book/epub/Hartbook.epub
	@$(CMAKE) --build $(BUILD) --target book-epub

book-pdf: build ## run every chapter gate, then render build/book/pdf/Hartbook.pdf (LaTeX; installs TeX: install-deps --pdf)
	@./scripts/install-deps --pdf
	@$(CMAKE) --build $(BUILD) --target book-pdf

book-check: book ## the book, then headless Chromium on every page (tools/browser-check.py; installs chromium)
	@./scripts/install-deps --browser
	@python3 tools/browser-check.py --html $(BUILD)/book/html --json $(BUILD)/logs/browser-check.json

mutants: build ## run every chapter's mutation gates, then print the table (tools/mutants.py; JSON in build/logs/mutants.json)
	@$(CTEST) --test-dir $(BUILD) -R 'gate-[0-9]+-mutation-' -j $(JOBS) >/dev/null || true
	@python3 tools/mutants.py --build $(BUILD)

run-smp-process-scale: build ## chapter 07: worker processes at -smp 1, 2, 4 vs the bare-hart limit (ROUNDS=5; needs a quiet host)
	@python3 tools/scale.py --mode process --build $(BUILD)

run-thread-scale: build ## chapter 07: sibling threads of one process at -smp 1, 2, 4 vs the limit (ROUNDS=5)
	@python3 tools/scale.py --mode thread --build $(BUILD)

grade: configure ## course labs: build, run this lab tree's tests, print the score, write $(BUILD)/grade/results.json (LAB=NN in the book's own tree)
	@python3 tools/lab.py grade $(if $(LAB),--lab $(LAB)) --build-dir $(BUILD)

labs: ## course labs: list them (regions, lines a student writes, test groups and points)
	@python3 tools/lab.py list

check-labs: build ## course labs' self-check: each lab's stub tree scores 0 on its lab and full marks on the earlier ones (CTest label labs; slow)
	@$(CTEST) --test-dir $(BUILD) --output-on-failure -L '^labs$$'

clean: ## remove the build tree
	rm -rf $(BUILD)

# Per-chapter targets, generated for every chapters/NN-* folder. (Explicit
# rules, not `chapter-%-qemu:` patterns: make never applies a pattern rule to
# a .PHONY target, so phony pattern targets silently do nothing.)
#: chapter-NN-qemu  boot chapter NN interactively (SMP=N harts; quit with Ctrl-A x)
#: chapter-NN-test  run chapter NN's gates only (SMP=1, 2, 3, 4, 8, single-threaded TCG, mutations, variants)
#: chapter-NN-gdb   boot chapter NN halted with a gdb stub; prints the gdb command
define chapter_rules
.PHONY: chapter-$(1)-qemu chapter-$(1)-test chapter-$(1)-gdb
chapter-$(1)-qemu: build
	@./scripts/run-qemu-rv64.sh --chapter $(1) --smp $$(SMP) --machine $$(MACHINE)
chapter-$(1)-test: build
	@$$(CTEST) --test-dir $$(BUILD) --output-on-failure -R '^gate-$(1)-'
chapter-$(1)-gdb: build
	@./scripts/run-qemu-rv64.sh --chapter $(1) --smp $$(SMP) --machine $$(MACHINE) --gdb
endef
$(foreach n,$(NUMS),$(eval $(call chapter_rules,$(n))))

# Course labs: lab-NN for every chapter with a lab/ folder.
#: lab-NN           export lab NN's student tree to $(BUILD)/labs/lab-NN (LAB_DEST=dir to choose); cd there, make grade
LAB_NUMS := $(foreach c,$(notdir $(patsubst %/lab/,%,$(wildcard chapters/[0-9][0-9]-*/lab/))),$(firstword $(subst -, ,$(c))))
define lab_rules
.PHONY: lab-$(1)
lab-$(1):
	@python3 tools/lab.py export $(1) $$(or $$(LAB_DEST),$$(BUILD)/labs/lab-$(1))
endef
$(foreach n,$(LAB_NUMS),$(eval $(call lab_rules,$(n))))
