# GreenBoost.  ./configure first; then make, make check, make install.

ifeq ($(wildcard config.mak),)
$(error config.mak is missing: run ./configure first)
endif
include config.mak

ifeq ($(V),1)
Q :=
QUIET = @:
else
Q := @
QUIET = @printf '  %-7s %s\n'
endif

DESTDIR ?=
WARN := -Wall -Wextra -Wno-format-truncation -Wno-unused-parameter
ALL_CFLAGS := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -Ilib -Ikmod -MMD -MP $(WARN) \
	-DGB_SYSCONFDIR='"$(SYSCONFDIR)"' -DGB_PKGLIBDIR='"$(PKGLIBDIR)"' $(CFLAGS)

LIBGB_SRC := $(wildcard lib/libgb/*.c)
SHIM_SRC := $(wildcard lib/shim/*.c)
TUNE_SRC := $(wildcard lib/tune/*.c)
QUANT_SRC := $(wildcard lib/quant/*.c)
# gb-stat top needs ncurses; without it, notop.c says so
ifeq ($(HAVE_NCURSES),yes)
STAT_SRC := $(filter-out lib/stat/notop.c,$(wildcard lib/stat/*.c))
else
STAT_SRC := $(filter-out lib/stat/top.c,$(wildcard lib/stat/*.c))
NCURSES_LIBS :=
endif
LIBGB_OBJ := $(LIBGB_SRC:.c=.o)
SHIM_OBJ := $(SHIM_SRC:.c=.o)
TUNE_OBJ := $(TUNE_SRC:.c=.o)
STAT_OBJ := $(STAT_SRC:.c=.o)
QUANT_OBJ := $(QUANT_SRC:.c=.o)
PROGS := bin/gb-run bin/gb-demo bin/gb-tune bin/gb-stat bin/greenboost bin/gb-quant
SHIM := lib/libgreenboost_cuda.so
MAN := $(wildcard man/*.[1-8])

all: $(SHIM) $(PROGS)

%.o: %.c
	$(QUIET) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

lib/libgb.a: $(LIBGB_OBJ)
	$(QUIET) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

lib/libgbtune.a: $(TUNE_OBJ)
	$(QUIET) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

lib/libgbstat.a: $(STAT_OBJ)
	$(QUIET) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

lib/libgbquant.a: $(QUANT_OBJ)
	$(QUIET) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# the quantizers are most of gb-quant's time
lib/quant/%.o: lib/quant/%.c
	$(QUIET) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) -O3 -c $< -o $@

lib/stat/top.o: lib/stat/top.c
	$(QUIET) CC $@
	$(Q)$(CC) $(ALL_CFLAGS) $(NCURSES_CFLAGS) -c $< -o $@

$(SHIM): $(SHIM_OBJ) lib/libgb.a
	$(QUIET) LD $@
	$(Q)$(CC) -shared -Wl,-soname,libgreenboost_cuda.so -Wl,-z,nodelete $(LDFLAGS) -o $@ $(SHIM_OBJ) lib/libgb.a -ldl -lpthread

bin/%: bin/%.o lib/libgb.a
	$(QUIET) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< lib/libgb.a -ldl -lpthread

bin/gb-tune: bin/gb-tune.o lib/libgbtune.a lib/libgb.a
	$(QUIET) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< lib/libgbtune.a lib/libgb.a

bin/gb-stat: bin/gb-stat.o lib/libgbstat.a lib/libgbtune.a lib/libgb.a
	$(QUIET) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< lib/libgbstat.a lib/libgbtune.a lib/libgb.a $(NCURSES_LIBS)

bin/gb-quant: bin/gb-quant.o lib/libgbquant.a lib/libgb.a
	$(QUIET) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< lib/libgbquant.a lib/libgb.a -lpthread -lm

# ---- tests ----

include tests/tests.mk

check: all $(TEST_PROGS)
	$(Q)TEST_FUZZ=$(HAVE_LIBFUZZER) sh tests/run.sh

# issue 17: every fuzzer for FUZZ_LONG_RUNS executions (10 million) or
# FUZZ_LONG_SECONDS seconds; a table to $(OUT)/fuzz-long.md; not in check
fuzz-long: $(FUZZERS)
	$(Q)FUZZ=$(HAVE_LIBFUZZER) CLANG="$(CLANG)" FUZZ_LONG_RUNS="$(FUZZ_LONG_RUNS)" \
		FUZZ_LONG_SECONDS="$(FUZZ_LONG_SECONDS)" OUT="$(OUT)" sh tests/fuzz/long.sh

check-gpu: all
	$(Q)NVCC="$(NVCC)" CUDA_HOME="$(CUDA_HOME)" sh tests/gpu/run.sh

# ---- the kernel module (Path A; greenboost.4) ----

# the release the tree builds for, as modules_install names its directory
KVER = $(if $(filter /lib/modules/%/build,$(KDIR)),$(patsubst /lib/modules/%/build,%,$(KDIR)),$(shell $(MAKE) -s -C $(KDIR) kernelrelease))
NEED_KDIR = @[ -n "$(KDIR)" ] || { echo "make: no kernel build tree: install the headers (Debian: linux-headers-$$(uname -r)) and rerun ./configure, or ./configure --with-kernel=DIR" >&2; exit 1; }

kmod:
	$(NEED_KDIR)
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules

install-kmod: kmod
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod INSTALL_MOD_PATH=$(DESTDIR) modules_install
	-[ -n "$(DESTDIR)" ] || depmod -a $(KVER)
	[ -e $(DESTDIR)$(SYSCONFDIR)/modprobe.d/greenboost.conf ] || \
		install -D -m 644 etc/modprobe.d/greenboost.conf $(DESTDIR)$(SYSCONFDIR)/modprobe.d/greenboost.conf
	install -D -m 644 etc/udev/rules.d/70-greenboost.rules $(DESTDIR)$(SYSCONFDIR)/udev/rules.d/70-greenboost.rules

# DKMS rebuilds the module for every kernel installed later
install-dkms:
	rm -rf $(DESTDIR)/usr/src/greenboost-$(VERSION)
	install -d $(DESTDIR)/usr/src/greenboost-$(VERSION)/uapi
	install -m 644 kmod/greenboost.c kmod/Kbuild kmod/Makefile kmod/dkms.conf $(DESTDIR)/usr/src/greenboost-$(VERSION)/
	install -m 644 kmod/uapi/greenboost.h $(DESTDIR)/usr/src/greenboost-$(VERSION)/uapi/
	[ -n "$(DESTDIR)" ] || dkms install greenboost/$(VERSION)

# ---- install ----

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(SYSCONFDIR)/greenboost \
		$(DESTDIR)$(LIBDIR)/tmpfiles.d
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/
	install -m 755 $(SHIM) $(DESTDIR)$(PKGLIBDIR)/
	for m in $(MAN); do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	@# an existing configuration is the administrator's: never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/greenboost/greenboost.conf ] || \
		install -m 644 etc/greenboost.conf $(DESTDIR)$(SYSCONFDIR)/greenboost/greenboost.conf
	install -m 644 etc/tmpfiles.d/greenboost.conf $(DESTDIR)$(LIBDIR)/tmpfiles.d/greenboost.conf
	install -d $(DESTDIR)$(DATADIR)/bash-completion/completions
	install -m 644 $(wildcard share/bash-completion/completions/*) $(DESTDIR)$(DATADIR)/bash-completion/completions/
	@# status files of every user's processes, like /tmp (tmpfiles.d recreates it at boot)
	-[ -n "$(DESTDIR)" ] || install -d -m 1777 /run/greenboost

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGS))) $(DESTDIR)$(PKGLIBDIR)/$(notdir $(SHIM))
	rm -f $(DESTDIR)$(LIBDIR)/tmpfiles.d/greenboost.conf \
		$(addprefix $(DESTDIR)$(DATADIR)/bash-completion/completions/,$(notdir $(wildcard share/bash-completion/completions/*)))
	for m in $(MAN); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	-rmdir $(DESTDIR)$(PKGLIBDIR)

clean: tests-clean
	rm -f lib/libgb.a lib/libgbtune.a lib/libgbstat.a lib/libgbquant.a $(SHIM) $(PROGS) bin/*.o lib/*/*.o bin/*.d lib/*/*.d
	rm -rf kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/Module.symvers kmod/modules.order kmod/.tmp_versions

distclean: clean
	rm -f config.mak

.PHONY: all check check-gpu fuzz-long kmod install-kmod install-dkms install uninstall clean distclean tests-clean

-include $(wildcard bin/*.d lib/*/*.d)
.SECONDARY:
