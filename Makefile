# memdbg: `make` builds the core library, the CLI and the Python extension into build/.
# `make BUILD=build-asan SANITIZE=1` builds the same with ASan and UBSan.
# `make fuzz` builds the libFuzzer targets of native/fuzz with clang into build-fuzz/ (docs/fuzzing.md).

BUILD    ?= build
SANITIZE ?=
CC       ?= cc
PYCONFIG ?= /usr/bin/python3-config

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	    -D_GNU_SOURCE -fPIC -fvisibility=hidden -Inative/include -Inative/src
LDLIBS   = -ldw -lelf -lm -lpthread
FUZZ     ?=
# Edge counters only: libFuzzer's comparison tracing (-fsanitize=fuzzer-no-link) makes the
# heap walks five times slower; FUZZ_COV=-fsanitize=fuzzer-no-link in a clean build-fuzz/ adds it.
FUZZ_COV ?= -fsanitize-coverage=inline-8bit-counters,pc-table
ifneq ($(FUZZ),)
# Every object instrumented for coverage and the sanitizers; the fuzz targets link libFuzzer's main.
CFLAGS  += $(FUZZ_COV) -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC = $(wildcard native/src/*.c native/src/*/*.c)
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC  = $(wildcard native/cli/*.c)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
PY_SRC   = $(wildcard native/python/*.c)
PY_OBJ   = $(PY_SRC:%.c=$(BUILD)/obj/%.o)
PY_EXT   = $(BUILD)/_memdbg$(shell $(PYCONFIG) --extension-suffix)
HEADERS  = $(wildcard native/include/*.h native/src/*.h native/src/*/*.h native/python/*.h)

.PHONY: all test clean fuzz fuzz-targets
all: $(BUILD)/memdbg $(PY_EXT)

$(BUILD)/obj/native/python/%.o: native/python/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell $(PYCONFIG) --includes) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmemdbg.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/memdbg: $(CLI_OBJ) $(BUILD)/libmemdbg.a
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lreadline

# No libpython link: gdb and lldb provide the symbols.  Only PyInit__memdbg is exported.
$(PY_EXT): $(PY_OBJ) $(BUILD)/libmemdbg.a native/python/exports.map
	$(CC) $(LDFLAGS) -shared -Wl,--version-script=native/python/exports.map $(PY_OBJ) $(BUILD)/libmemdbg.a -o $@ $(LDLIBS)

# The layout-table generator (setup/go-layout.sh runs it on each toolchain's unstripped build).
$(BUILD)/go-layout-gen: setup/golayout/gen.c $(BUILD)/libmemdbg.a $(HEADERS)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libmemdbg.a -o $@ $(LDLIBS)

# The libFuzzer targets (native/fuzz/*.c, one executable each), built by clang in their own tree.
FUZZ_CC  ?= clang-14
FUZZ_SRC  = $(wildcard native/fuzz/*.c)
FUZZ_BIN  = $(FUZZ_SRC:native/fuzz/%.c=$(BUILD)/fuzz/%)
fuzz:
	$(MAKE) BUILD=build-fuzz FUZZ=1 CC=$(FUZZ_CC) fuzz-targets
fuzz-targets: $(FUZZ_BIN)
$(BUILD)/fuzz/%: native/fuzz/%.c native/fuzz/harness.h $(BUILD)/libmemdbg.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libmemdbg.a -o $@ $(LDLIBS)

test: all
	python3 -m pytest -q tests

clean:
	rm -rf build build-asan build-fuzz
