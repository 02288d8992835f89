# Test programs; included by the top Makefile.  tests/run.sh runs them.

TEST_CFLAGS := $(filter-out -fvisibility=hidden -fno-visibility-inlines-hidden,$(ALL_CFLAGS)) -Itests

UNIT := tests/unit/t-size tests/unit/t-conf tests/unit/t-status tests/unit/t-ptrmap tests/unit/t-tune \
	tests/unit/t-quant tests/unit/t-gguf tests/unit/t-ring tests/unit/t-stat
ifneq ($(CUDA_HOME),)
UNIT += tests/unit/t-cuabi
endif

DOUBLES := tests/doubles/libcuda.so.1 tests/doubles/libnvidia-ml.so.1 tests/doubles/libcudart.so.13
SHIM_TESTS := $(patsubst %.c,%,$(wildcard tests/shim/t-*.c))
SHIM_LIBS := $(patsubst %.c,%.so,$(wildcard tests/shim/lib*.c))
FUZZERS := $(patsubst %.c,%,$(wildcard tests/fuzz/fuzz-*.c))

TEST_PROGS := $(UNIT) $(DOUBLES) tests/doubles/selftest $(SHIM_TESTS) $(SHIM_LIBS) $(FUZZERS) tests/kmod/patha \
	tests/tune/libfailwrite.so $(QUANT_TOOLS)

tests/unit/t-%: tests/unit/t-%.c lib/libgb.a tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgb.a -lpthread

tests/unit/t-tune: tests/unit/t-tune.c lib/libgbtune.a lib/libgb.a lib/tune/tune.h tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgbtune.a lib/libgb.a

tests/unit/t-stat: tests/unit/t-stat.c lib/libgbstat.a lib/libgbtune.a lib/libgb.a lib/stat/stat.h tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgbstat.a lib/libgbtune.a lib/libgb.a

tests/unit/t-quant tests/unit/t-gguf: tests/unit/t-%: tests/unit/t-%.c lib/libgbquant.a lib/libgb.a lib/quant/quant.h tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgbquant.a lib/libgb.a -lpthread -lm

# gb-quant's test tools: tiny llama-shaped models, and a dequantizer
# written from the format's description, not from lib/quant
QUANT_TOOLS := $(patsubst %.c,%,$(wildcard tests/quant/*.c))
tests/quant/%: tests/quant/%.c
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -O2 -o $@ $< -lm -lpthread

tests/unit/t-ptrmap: tests/unit/t-ptrmap.c lib/shim/ptrmap.o lib/libgb.a tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/shim/ptrmap.o lib/libgb.a -lpthread

tests/unit/t-ring: tests/unit/t-ring.c lib/shim/ring.o lib/libgb.a tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/shim/ring.o lib/libgb.a

# our ABI declarations against the toolkit's own headers
tests/unit/t-cuabi: tests/unit/t-cuabi.c tests/unit/cuabi-ours.c tests/unit/cuabi-list.h lib/cuabi.h tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -Itests/unit -c -o tests/unit/cuabi-ours.o tests/unit/cuabi-ours.c
	$(Q)$(CC) $(TEST_CFLAGS) -I$(CUDA_HOME)/include -o $@ $< tests/unit/cuabi-ours.o

tests/doubles/libcuda.so.1: tests/doubles/fakecuda.c lib/cuabi.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -shared -Wl,-soname,libcuda.so.1 -o $@ $< -lpthread -ldl

tests/doubles/libnvidia-ml.so.1: tests/doubles/fakenvml.c lib/cuabi.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -shared -Wl,-soname,libnvidia-ml.so.1 -o $@ $< -lpthread -ldl

tests/doubles/libcudart.so.13: tests/doubles/fakecudart.c lib/cuabi.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -shared -Wl,-soname,libcudart.so.13 -o $@ $< -lpthread -ldl

tests/doubles/selftest: tests/doubles/selftest.c tests/doubles/libcuda.so.1
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< -Ltests/doubles -l:libcuda.so.1 -lpthread -ldl

tests/tune/libfailwrite.so: tests/tune/libfailwrite.c
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -shared -o $@ $< -ldl

tests/shim/lib%.so: tests/shim/lib%.c
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -shared -o $@ $< -ldl

# the plugin brings its own cudart; the program that loads it links none
tests/shim/libplugin.so: tests/shim/libplugin.c tests/doubles/libcudart.so.13
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -shared -o $@ $< -Ltests/doubles -l:libcudart.so.13

tests/shim/t-plugin: tests/shim/t-plugin.c tests/shim/common.h lib/libgb.a tests/doubles/libcuda.so.1 tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgb.a -Ltests/doubles -l:libcuda.so.1 -lpthread -ldl

tests/shim/t-%: tests/shim/t-%.c tests/shim/common.h lib/libgb.a $(DOUBLES) tests/tap.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgb.a -Ltests/doubles -l:libcudart.so.13 -l:libnvidia-ml.so.1 \
		-l:libcuda.so.1 -Wl,--no-as-needed -lpthread -ldl

# Path A under qemu: a dynamic program, run under the shim in the guest
tests/kmod/patha: tests/kmod/patha.c tests/shim/common.h lib/libgb.a tests/doubles/libcuda.so.1 kmod/uapi/greenboost.h
	$(QUIET) CC $@
	$(Q)$(CC) $(TEST_CFLAGS) -o $@ $< lib/libgb.a -Ltests/doubles -l:libcuda.so.1 -lpthread -ldl

# fuzzers: libFuzzer with sanitizers where clang has it, else a plain
# driver that replays the corpus (tests/fuzz/replay.c)
FUZZ_LIBGB := $(LIBGB_SRC) $(TUNE_SRC) $(QUANT_SRC) $(filter-out lib/stat/top.c lib/stat/notop.c,$(wildcard lib/stat/*.c))
ifeq ($(HAVE_LIBFUZZER),yes)
tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_LIBGB) lib/gb.h lib/tune/tune.h lib/stat/stat.h lib/quant/quant.h
	$(QUIET) FUZZ $@
	$(Q)$(CLANG) -std=gnu11 -D_GNU_SOURCE -g -O1 -Ilib -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $< $(FUZZ_LIBGB) -lpthread -lm
else
tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/replay.c $(FUZZ_LIBGB) lib/gb.h lib/tune/tune.h lib/stat/stat.h lib/quant/quant.h
	$(QUIET) CC $@
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -g -O1 -Ilib -fsanitize=address,undefined -o $@ $< tests/fuzz/replay.c $(FUZZ_LIBGB) -lpthread -lm
endif

tests-clean:
	rm -f $(UNIT) tests/unit/t-cuabi $(DOUBLES) tests/doubles/selftest $(SHIM_TESTS) $(SHIM_LIBS) $(FUZZERS) tests/kmod/patha \
		tests/tune/libfailwrite.so $(QUANT_TOOLS) tests/*/*.d tests/unit/*.o
