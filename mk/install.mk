# Installing (scripts/install.sh has the layout), and the manual pages and
# bash completion it installs, made by the carve binary from its own command
# and flag tables (src/cli/docs.c), so they say what --help says.
#
#   make man                      $(BUILD)/man/*.1
#   make completion               $(BUILD)/completion/carve
#   make install [DESTDIR=...] [PREFIX=/usr/local]
#   make uninstall [DESTDIR=...] [PREFIX=/usr/local]   what install put there
.PHONY: man completion install uninstall
all: man completion

PREFIX ?= /usr/local
MAN_STAMP := $(BUILD)/man/carve.1
COMPLETION := $(BUILD)/completion/carve

man: $(MAN_STAMP)
# One run writes every page; a command gone from the table leaves no page.
$(MAN_STAMP): $(BIN)
	@rm -rf $(BUILD)/man && mkdir -p $(BUILD)/man
	$(BIN) help-man $(BUILD)/man

completion: $(COMPLETION)
$(COMPLETION): $(BIN)
	@mkdir -p $(dir $@)
	$(BIN) help-completion >$@.tmp && mv $@.tmp $@

install: $(BIN) $(KERNEL_ELF) libnsm man completion
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BUILD="$(BUILD)" scripts/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BUILD="$(BUILD)" scripts/install.sh uninstall
