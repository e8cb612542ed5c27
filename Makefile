# keeper: build, test, bench.
#
#   make               build bin/keeper (release, -Werror)
#   make test          install what is missing, build, run every test
#   make SANITIZE=1 test   the same under ASan + UBSan (objects in build/san)
#   make bench         benchmarks, each figure beside its floor
#   make deps          install Debian -dev packages and npm tools (.deps/)
#
# Objects live in build/rel or build/san so the two builds never mix.

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD := build/san
OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD := build/rel
OPT := -O2 -g
endif

PKGS := libsecp256k1 libconfig libwebsockets libcurl openssl jansson
# '=' not ':=': pkg-config runs when a recipe needs it, i.e. after `deps`.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
CFLAGS_ALL = -std=c11 $(OPT) -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I. $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm $(LDLIBS)

LIB_SRC := $(wildcard signer/*.c) $(filter-out keeper/main.c,$(wildcard keeper/*.c)) \
	$(wildcard strategies/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC))
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCH_SRC := $(wildcard tests/bench_*.c)
BENCH_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(BENCH_SRC))

.PHONY: all deps test test-run bench bench-run clean valgrind-test valgrind-run demo
.DEFAULT_GOAL := all

ifeq ($(SANITIZE),1)
all: $(BUILD)/bin/keeper
else
all: bin/keeper
endif

bin/keeper: $(BUILD)/bin/keeper
	@mkdir -p bin
	cp $< $@

$(BUILD)/bin/keeper: $(BUILD)/keeper/main.o $(BUILD)/libkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/libkeeper.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libkeeper.a $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libkeeper.a $(LDLIBS_ALL) -lz

# tests/feedsrv.c is not a test but the websocket/HTTP peer that test_ws,
# test_http and test_feeds start (they find it beside themselves), and
# tests/t_record.sh runs.
$(BUILD)/tests/feedsrv: tests/feedsrv.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDLIBS_ALL)

$(BUILD)/tests/test_ws $(BUILD)/tests/test_http $(BUILD)/tests/test_feeds: \
	$(BUILD)/tests/feedsrv tests/feedsrv.h
$(BUILD)/tests/test_rpc_http: $(BUILD)/tests/feedsrv tests/feedsrv.h
# test_record_anvil runs the build's keeper (record) against anvil and feedsrv.
$(BUILD)/tests/test_record_anvil: $(BUILD)/tests/feedsrv tests/feedsrv.h $(BUILD)/bin/keeper
# test_live_anvil runs the build's keeper (run --dry-run) against anvil and feedsrv.
$(BUILD)/tests/test_live_anvil: $(BUILD)/tests/feedsrv tests/feedsrv.h $(BUILD)/bin/keeper
# ... and so do the mempool and liquidation ones (no feeds).
$(BUILD)/tests/test_live_mempool_anvil $(BUILD)/tests/test_live_liq_anvil \
	$(BUILD)/tests/test_run_send_anvil: $(BUILD)/bin/keeper
# ... and with a feed, the metrics one.
$(BUILD)/tests/test_metrics_run_anvil: $(BUILD)/tests/feedsrv tests/feedsrv.h $(BUILD)/bin/keeper
# ... and the signals one (SIGHUP, SIGTERM drain, no key bytes anywhere).
$(BUILD)/tests/test_signals_anvil: $(BUILD)/bin/keeper
# ... and the end-to-end scenarios of issue 7 and the kill -9 one of issue 5
# (some run feedsrv as a price feed, a relay's peer or a failing endpoint).
$(BUILD)/tests/test_e2e_drain_anvil $(BUILD)/tests/test_e2e_guardians_anvil \
	$(BUILD)/tests/test_run_crash_anvil: $(BUILD)/bin/keeper
$(BUILD)/tests/test_e2e_blackthursday_anvil $(BUILD)/tests/test_e2e_faults_anvil \
	$(BUILD)/tests/test_run_private_anvil: \
	$(BUILD)/tests/feedsrv tests/feedsrv.h $(BUILD)/bin/keeper

-include $(shell find build -name '*.d' 2>/dev/null)

deps:
	@sh tests/deps.sh

# deps first, then a fresh make: pkg-config must see the installed libraries.
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: all $(BUILD)/bin/keeper $(TEST_BIN) $(BUILD)/tests/feedsrv
	@BUILD=$(BUILD) KEEPER=$(BUILD)/bin/keeper sh tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory bench-run

bench-run: $(BUILD)/bin/keeper $(BENCH_BIN)
	@rc=0; for b in $(BENCH_BIN); do $$b || rc=1; done; \
	[ $$rc -eq 0 ] || echo "bench: a target was missed (see MISSED above)"; exit $$rc

clean:
	rm -rf build bin

# demo: a drain on anvil stopped by keeper's pause(), with a timeline
# (tests/demo.sh; README "Demo").  SANITIZE=1 runs the sanitizer build's keeper.
demo: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bin/keeper && KEEPER=$(BUILD)/bin/keeper sh tests/demo.sh

# valgrind-test: the unit tests under valgrind's memcheck (tests/valgrind.sh).
valgrind-test: deps
	@$(MAKE) --no-print-directory valgrind-run

valgrind-run: $(BUILD)/bin/keeper $(TEST_BIN) $(BUILD)/tests/feedsrv
	@BUILD=$(BUILD) KEEPER=$(BUILD)/bin/keeper sh tests/valgrind.sh

# ---- proto: event-loop prototypes of keeper issue 3 (tests/proto/RESULTS.md)
# Not part of `all`, `test` or `bench`.  `make proto` builds them into
# $(BUILD)/proto/; `make proto-run` starts tests/proto's server on 127.0.0.1,
# measures both designs (ROUNDS=3 by default) and stops the server.
PROTO_PKGS := libwebsockets libcurl jansson libuv
PROTO_CFLAGS = $(shell pkg-config --cflags $(PROTO_PKGS) 2>/dev/null)
PROTO_LIBS = $(shell pkg-config --libs $(PROTO_PKGS) 2>/dev/null)
PROTO_BIN := $(addprefix $(BUILD)/proto/,proto_server loop_lws loop_uv)

.PHONY: proto proto-bin proto-run
proto: deps
	@sh tests/proto/deps.sh
	@$(MAKE) --no-print-directory proto-bin

proto-bin: $(PROTO_BIN)

$(BUILD)/proto/proto_server: tests/proto/proto_server.c tests/proto/proto.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PROTO_CFLAGS) -o $@ $< $(PROTO_LIBS) -lm

$(BUILD)/proto/loop_%: tests/proto/loop_%.c tests/proto/proto.c tests/proto/proto.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PROTO_CFLAGS) -o $@ $< tests/proto/proto.c $(PROTO_LIBS) -lm

proto-run: proto
	@BUILD=$(BUILD) sh tests/proto/run.sh
# ---- end proto

# ---- fuzz: harnesses of keeper issue 8 (tests/fuzz/README.md)
# Every tests/fuzz/fuzz_*.c is one libFuzzer harness.  `make test` also
# builds each with the plain-C replay driver (this build's compiler and
# flags, into $(BUILD)/fuzz/), and tests/t_fuzz_corpus.sh replays the corpus
# through them.  `make fuzz [FUZZ_SECONDS=300] [FUZZ_JOBS=2]
# [FUZZ_TARGETS="fuzz_rlp ..."]` installs clang and libFuzzer if missing,
# builds the library and harnesses with -fsanitize=fuzzer,address,undefined
# into build/libfuzzer/, runs each harness for FUZZ_SECONDS on its corpus
# (FUZZ_JOBS at a time) and prints the executions and crashes of each; crash
# inputs are kept in tests/fuzz/crashes/ (ignored by git).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_REPLAY_BIN := $(addprefix $(BUILD)/fuzz/,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 300
FUZZ_JOBS ?= 2
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CC ?= clang
FUZZ_DIR := build/libfuzzer
# The commands (cmd_*.c) are no harness's business: leaving them out keeps
# the fuzz build independent of front-end work in progress.
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(filter-out keeper/cmd_%.c,$(LIB_SRC)))
FUZZ_BIN := $(addprefix $(FUZZ_DIR)/bin/,$(FUZZ_NAMES))
FUZZ_WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
FUZZ_CFLAGS = -std=c11 -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
	$(FUZZ_WARN) -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -I. $(PKG_CFLAGS)

.PHONY: fuzz fuzz-bin fuzz-replay
test-run: $(FUZZ_REPLAY_BIN)
fuzz-replay: $(FUZZ_REPLAY_BIN)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c tests/fuzz/fuzz.h $(BUILD)/libkeeper.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< tests/fuzz/driver.c $(BUILD)/libkeeper.a $(LDLIBS_ALL)

fuzz: deps
	@sh tests/fuzz/deps.sh
	@$(MAKE) --no-print-directory fuzz-bin
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_DIR=$(FUZZ_DIR) \
		sh tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-bin: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libkeeper.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/bin/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libkeeper.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(FUZZ_DIR)/libkeeper.a $(LDLIBS_ALL)
# ---- end fuzz

# ---- backtest-shot: the Black Thursday backtest as a picture (issue 6)
# `make backtest-shot` imports the 2020-03-12 ETH bars, replays them with
# etc/backtest.cfg and the day's gas file into build/black-thursday.html and
# screenshots it with Debian's headless chromium (installed if missing)
# into build/black-thursday.png: tests/shot.sh.  Not part of `test`.
.PHONY: backtest-shot
backtest-shot: $(BUILD)/bin/keeper
	@KEEPER=$(BUILD)/bin/keeper sh tests/shot.sh

# test_record_replay_anvil runs the build's keeper (record, run --dry-run,
# replay) against anvil and feedsrv.
$(BUILD)/tests/test_record_replay_anvil: $(BUILD)/tests/feedsrv tests/feedsrv.h $(BUILD)/bin/keeper
# ---- end backtest-shot
