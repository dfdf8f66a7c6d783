# The vsock throughput bench (bench/vsock_throughput.sh runs it): one program
# linked with the test guest driver (tests/lib/vguest.c), which plays the
# guest in the same process.
#
#   make bench    also builds build/bench/vsock_bench
#
# An explicit rule, so it wins over the generic bench/%.c rule of nsm.mk.
.DEFAULT_GOAL := all
.PHONY: bench

bench: $(BUILD)/bench/vsock_bench

$(BUILD)/bench/vsock_bench: bench/vsock_bench.c tests/lib/vguest.c tests/lib/vguest.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/lib -o $@ bench/vsock_bench.c tests/lib/vguest.c $(LIB) $(PKG_LIBS) $(LDFLAGS_ALL)
