# nfsmount: build, install, uninstall.  See docs/install.md.
#
#   make                          cargo build --release
#   sudo make install             install into / (PREFIX=/usr, SBINDIR=/sbin)
#   sudo make install-setuid      install with mount.nfs setuid root, for fstab
#                                 "user" mounts (read docs/security-review.md first)
#   sudo make uninstall           remove exactly what install put there
#   sudo make install-divert install      Debian/Ubuntu: move nfs-common's helpers aside first
#   sudo make uninstall-divert            uninstall and give nfs-common its helpers back
#   make check-docs               lint man pages and completions (scripts/check-docs)
#   make completions              regenerate completions/ from the option catalog
#   make static                   static-pie build (fast start under emulated
#                                 CPUs; read "Static build" in docs/install.md first)
#
# `install` never runs cargo: build first as yourself, then install as root.

PREFIX      ?= /usr
# mount(8) looks for helpers in /sbin (and /sbin/fs.d, /sbin/fs) only.
SBINDIR     ?= /sbin
DAEMONDIR   ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
UNITDIR     ?= $(PREFIX)/lib/systemd/system
DESTDIR     ?=
# SETUID=1 installs mount.nfs setuid root.  Read docs/install.md first.
SETUID      ?= 0
# FORCE=1 installs over files that belong to a Debian package.
FORCE       ?= 0

CARGO       ?= cargo
BUILDDIR    ?= target/release
INSTALL     ?= install
DPKG_DIVERT ?= dpkg-divert
GZIP        ?= gzip

ifeq ($(SETUID),1)
HELPER_MODE := 4755
else
HELPER_MODE := 0755
endif

HELPER_LINKS := mount.nfs4 umount.nfs umount.nfs4
HELPERS      := mount.nfs $(HELPER_LINKS)
# The fifth name: the operators' tools (nfsmount explain / doctor), not a helper
# mount(8) calls and not part of nfs-common (never diverted).
TOOL_LINKS   := nfsmount

# Man pages (man/<page>.<section>, installed gzipped), and <link>:<page> pairs of
# extra names installed as symbolic links.
MAN8_PAGES   := mount.nfs umount.nfs rpcproxyd nfsmount
MAN8_LINKS   := mount.nfs4:mount.nfs umount.nfs4:umount.nfs
MAN5_PAGES   := nfsmount.conf

UNITS        := rpcproxyd.service rpcproxyd.socket

# Where the distribution package keeps its helpers: /sbin on Debian 12, /usr/sbin
# once Debian moved files into /usr.  Empty: ask dpkg, trying $(SBINDIR) and the
# directory it resolves to.
PKG_SBINDIR ?=
# Shell snippet: set $$d to that directory.
find_pkg_sbindir = d='$(PKG_SBINDIR)'; \
	if [ -z "$$d" ]; then \
	  d='$(SBINDIR)'; \
	  for c in '$(SBINDIR)' "$$(readlink -f '$(SBINDIR)' 2>/dev/null)"; do \
	    if [ -n "$$c" ] && dpkg-query -S "$$c/mount.nfs" >/dev/null 2>&1; then d=$$c; break; fi; \
	  done; \
	fi

# Files of Debian's nfs-common that ours replace (install-divert moves them aside);
# the helpers are added in $$d (see find_pkg_sbindir).
DIVERTED_MAN := $(MANDIR)/man8/mount.nfs.8.gz \
                $(MANDIR)/man8/umount.nfs.8.gz \
                $(MANDIR)/man5/nfsmount.conf.5.gz

# Every path install creates (relative to DESTDIR); uninstall removes exactly these.
INSTALLED    := $(foreach h,$(HELPERS) $(TOOL_LINKS),$(SBINDIR)/$(h)) \
                $(DAEMONDIR)/rpcproxyd \
                $(foreach p,$(MAN8_PAGES),$(MANDIR)/man8/$(p).8.gz) \
                $(foreach l,$(MAN8_LINKS),$(MANDIR)/man8/$(firstword $(subst :, ,$(l))).8.gz) \
                $(foreach p,$(MAN5_PAGES),$(MANDIR)/man5/$(p).5.gz) \
                $(foreach h,$(HELPERS),$(BASHCOMPDIR)/$(h)) \
                $(ZSHCOMPDIR)/_mount.nfs \
                $(foreach h,$(HELPERS),$(FISHCOMPDIR)/$(h).fish) \
                $(BASHCOMPDIR)/nfsmount $(ZSHCOMPDIR)/_nfsmount $(FISHCOMPDIR)/nfsmount.fish \
                $(foreach u,$(UNITS),$(UNITDIR)/$(u))

.PHONY: install-setuid all build install install-bin install-man install-completions install-systemd static \
        uninstall install-divert uninstall-divert check-coexist check-docs completions \
        test clean

all: build

build:
	$(CARGO) build --release

test:
	$(CARGO) test

# Static glibc, position independent (static-pie: ASLR kept).  Install with: make install BUILDDIR=$(STATIC_DIR)
STATIC_TRIPLE ?= $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
STATIC_DIR    := target/static/$(STATIC_TRIPLE)/release
static:
	RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=pie" \
	  CARGO_TARGET_DIR=target/static $(CARGO) build --release --target $(STATIC_TRIPLE) --bin mount-nfs --bin rpcproxyd
	@echo "static build in $(STATIC_DIR); install with: make install BUILDDIR=$(STATIC_DIR)"

check-docs:
	scripts/check-docs

# Regenerate completions/ from src/options/catalog.rs (tests/docs_completions.rs).
completions:
	NFSMOUNT_BLESS=1 $(CARGO) test --test docs_completions up_to_date

install: install-bin install-man install-completions install-systemd

# The opt-in setuid install: user mounts from /etc/fstab (docs/install.md,
# docs/security-review.md).  Same files as install, the helper mode 4755.
install-setuid:
	$(MAKE) --no-print-directory install SETUID=1
	@echo "make: $(DESTDIR)$(SBINDIR)/mount.nfs is setuid root: non-root users may mount and unmount the /etc/fstab entries marked user, users, owner or group (docs/security-review.md)."

# Refuse to overwrite helpers owned by a Debian package unless they were diverted.
check-coexist:
	@if [ -z "$(DESTDIR)" ] && [ "$(FORCE)" != 1 ] && command -v dpkg-query >/dev/null 2>&1; then \
	  real=$$(readlink -f '$(SBINDIR)' 2>/dev/null); \
	  for f in $(foreach h,$(HELPERS),$(SBINDIR)/$(h) $${real:-$(SBINDIR)}/$(h)); do \
	    if dpkg-query -S "$$f" >/dev/null 2>&1 && \
	       [ "$$($(DPKG_DIVERT) --truename "$$f")" = "$$f" ]; then \
	      echo "make: $$f belongs to a Debian package and is not diverted." >&2; \
	      echo "make: run 'make install-divert' first (see docs/install.md), or set FORCE=1." >&2; \
	      exit 1; \
	    fi; \
	  done; \
	fi

install-bin: check-coexist
	@for b in mount-nfs rpcproxyd; do \
	  if [ ! -x "$(BUILDDIR)/$$b" ]; then \
	    echo "make: $(BUILDDIR)/$$b is missing; run 'make' (as yourself) first." >&2; exit 1; \
	  fi; \
	done
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DAEMONDIR)
	$(INSTALL) -m $(HELPER_MODE) $(BUILDDIR)/mount-nfs $(DESTDIR)$(SBINDIR)/mount.nfs
	for l in $(HELPER_LINKS) $(TOOL_LINKS); do ln -sfn mount.nfs $(DESTDIR)$(SBINDIR)/$$l; done
	$(INSTALL) -m 0755 $(BUILDDIR)/rpcproxyd $(DESTDIR)$(DAEMONDIR)/rpcproxyd

install-man:
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	for p in $(MAN8_PAGES); do \
	  $(GZIP) -9nc man/$$p.8 > $(DESTDIR)$(MANDIR)/man8/$$p.8.gz && \
	  chmod 0644 $(DESTDIR)$(MANDIR)/man8/$$p.8.gz || exit 1; \
	done
	for p in $(MAN5_PAGES); do \
	  $(GZIP) -9nc man/$$p.5 > $(DESTDIR)$(MANDIR)/man5/$$p.5.gz && \
	  chmod 0644 $(DESTDIR)$(MANDIR)/man5/$$p.5.gz || exit 1; \
	done
	for l in $(MAN8_LINKS); do \
	  ln -sfn $${l#*:}.8.gz $(DESTDIR)$(MANDIR)/man8/$${l%%:*}.8.gz; \
	done

install-completions:
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	$(INSTALL) -m 0644 completions/mount.nfs.bash $(DESTDIR)$(BASHCOMPDIR)/mount.nfs
	$(INSTALL) -m 0644 completions/_mount.nfs $(DESTDIR)$(ZSHCOMPDIR)/_mount.nfs
	$(INSTALL) -m 0644 completions/mount.nfs.fish $(DESTDIR)$(FISHCOMPDIR)/mount.nfs.fish
	$(INSTALL) -m 0644 completions/nfsmount.bash $(DESTDIR)$(BASHCOMPDIR)/nfsmount
	$(INSTALL) -m 0644 completions/_nfsmount $(DESTDIR)$(ZSHCOMPDIR)/_nfsmount
	$(INSTALL) -m 0644 completions/nfsmount.fish $(DESTDIR)$(FISHCOMPDIR)/nfsmount.fish
	for l in $(HELPER_LINKS); do \
	  ln -sfn mount.nfs $(DESTDIR)$(BASHCOMPDIR)/$$l; \
	  ln -sfn mount.nfs.fish $(DESTDIR)$(FISHCOMPDIR)/$$l.fish; \
	done

install-systemd:
	$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0644 systemd/rpcproxyd.socket $(DESTDIR)$(UNITDIR)/rpcproxyd.socket
	sed 's|^ExecStart=/usr/sbin/rpcproxyd|ExecStart=$(DAEMONDIR)/rpcproxyd|' \
	  systemd/rpcproxyd.service > $(DESTDIR)$(UNITDIR)/rpcproxyd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/rpcproxyd.service

uninstall:
	for f in $(INSTALLED); do rm -f "$(DESTDIR)$$f"; done

# Debian/Ubuntu: rename nfs-common's helpers (and the man pages of the same
# name) to <name>.distrib, so that dpkg upgrades of nfs-common leave ours alone.
install-divert:
	$(find_pkg_sbindir); \
	for f in $(foreach h,$(HELPERS),$$d/$(h)) $(DIVERTED_MAN); do \
	  $(DPKG_DIVERT) $(if $(DESTDIR),--root $(DESTDIR)) --local --rename --add "$$f" || exit 1; \
	done

# Remove our files, then put nfs-common's back.
uninstall-divert: uninstall
	$(find_pkg_sbindir); \
	for f in $(foreach h,$(HELPERS),$$d/$(h)) $(DIVERTED_MAN); do \
	  $(DPKG_DIVERT) $(if $(DESTDIR),--root $(DESTDIR)) --local --rename --remove "$$f" || exit 1; \
	done

clean:
	$(CARGO) clean
