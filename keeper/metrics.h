/*
 * metrics: keeper's counters, gauges and histograms, its health checks, and
 * the HTTP server that shows them on the event loop (metrics.listen):
 * GET /metrics answers Prometheus text exposition format 0.0.4, GET /healthz
 * answers 200 "ok\n" or 503 with one failing check per line.
 *
 * Registry.  Everything is sized at metrics_new() (metrics_limits_t) and
 * nothing is allocated afterwards but the response buffers, once, by
 * metrics_listen().  A family is a metric name with its type, HELP text and
 * label names; a series is one set of label values of a family, registered
 * at setup (label values are config names or endpoint indexes: the
 * cardinality is known at start and bounded by the limits).  The host keeps
 * the metrics_series_t pointers and updates them on the hot path: an update
 * is a few arithmetic instructions, never a lookup, never an allocation.
 *
 * Families are rendered in registration order, their series in registration
 * order; a labelled family with no series yet is left out (as the
 * Prometheus client libraries do).  Numbers are written as the shortest
 * decimal that reads back to the same double ("12", "0.25", "1e-06"), and
 * NaN, +Inf and -Inf as the format spells them; histogram bucket counts
 * are integers.
 *
 * Consistency.  Everything runs on the loop thread.  A scrape renders the
 * whole response into its connection's buffer at once, after the collect
 * hook, and then sends it in pieces while the loop goes on: updates made
 * between the pieces belong to the next scrape, so every response is one
 * consistent snapshot (a histogram's +Inf bucket always equals its _count).
 *
 * Collect hook.  Many of keeper's counts already live in its modules'
 * stats structs (engine, node, rpc...).  Rather than updating two places
 * on the hot path, the host may copy them into series from the collect
 * hook, which runs at the start of every scrape of either path (and of
 * metrics_render() / metrics_health()); metrics_set() is allowed on a
 * counter for that purpose (the host keeps it monotonic).  Time-dependent
 * health (a feed silent for too long) is also best judged there.  The hook
 * runs on the loop thread, inside the server's lws callback: it may update
 * series and checks, and must not free the registry or the loop.
 *
 * Health.  A check has a name and is passing or failing with a reason
 * (formatted into a fixed buffer; control characters become spaces, so a
 * reason is always one line).  /healthz is 200 "ok\n" when every check
 * passes, else 503 with "name: reason\n" for each failing check in
 * registration order.
 *
 * Server.  metrics_listen() adds a listening vhost to the loop's lws
 * context (loop_listen_opts()).  Only GET /metrics and GET /healthz are
 * answered (a query string is ignored); another path is 404, another
 * method on those two paths is 405 (with "Allow: GET"; a HEAD gets the
 * headers only), a path longer than METRICS_URI_MAX is 414, a request body
 * is read and dropped, and a request whose headers exceed lws's limit
 * (4096 bytes in all, lws 4.1's default, which keeper/loop keeps) is
 * dropped by lws without an answer before it reaches this module.
 * Every response carries Content-Length and "Connection: close", and the
 * connection is closed once it is sent: no keep-alive.  At most
 * limits.conns scrapes are served at once; one more gets 503 "busy\n".
 * lws's context timeout (loop_config_t.connect_timeout_s) drops clients
 * that never finish their request.
 *
 * Lifetime.  metrics_free() and loop_destroy() may come in either order:
 * the server's vhost holds a cell that metrics_free() empties, after which
 * it closes any connection at once.  The port stays bound until
 * loop_destroy() (the loop's vhosts live as long as its context).  At most
 * 8 servers exist at once in a process (a server lasts until both its
 * registry and its loop are gone).
 */
#ifndef KEEPER_METRICS_H
#define KEEPER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keeper/kerr.h"
#include "keeper/loop.h"

#define METRICS_NAME_MAX 64         /* characters in a metric or label name */
#define METRICS_HELP_MAX 256        /* bytes of a HELP text (UTF-8) */
#define METRICS_LABELS_MAX 4        /* label names per family */
#define METRICS_LABEL_VALUE_MAX 128 /* bytes of a label value (UTF-8) */
#define METRICS_BUCKETS_MAX 32      /* finite bucket bounds of a histogram */
#define METRICS_CHECK_NAME_MAX 64   /* characters in a health check's name */
#define METRICS_REASON_MAX 200      /* bytes of a failing check's reason */
#define METRICS_URI_MAX 256         /* bytes of a request path */

/* Trip-to-wire and other short latencies, in seconds: 1-2.5-5 steps from
 * 1 µs to 1 s (METRICS_LATENCY_BUCKETS_N bounds). */
#define METRICS_LATENCY_BUCKETS_N 19
extern const double metrics_latency_buckets[METRICS_LATENCY_BUCKETS_N];

typedef struct metrics metrics_t;
typedef struct metrics_family metrics_family_t;
typedef struct metrics_series metrics_series_t;
typedef struct metrics_check metrics_check_t;

typedef enum {
	METRICS_COUNTER = 0,
	METRICS_GAUGE = 1,
	METRICS_HISTOGRAM = 2,
} metrics_type_t;

/* Capacities; a field left 0 takes the default in brackets. */
typedef struct {
	size_t families;    /* metric families [64] */
	size_t series;      /* series over all families [1024] */
	size_t cells;       /* histogram bucket counters over all histogram
			       series: each takes its family's bucket count
			       [1024] */
	size_t label_bytes; /* rendered label text over all series [65536] */
	size_t checks;      /* health checks [16] */
	size_t conns;       /* scrapes served at once [4] */
} metrics_limits_t;

/* Counts of the HTTP server's answers, for tests and logs. */
typedef struct {
	uint64_t metrics;     /* 200 on /metrics */
	uint64_t healthz_ok;  /* 200 on /healthz */
	uint64_t healthz_bad; /* 503 on /healthz (some check failing) */
	uint64_t not_found;   /* 404 */
	uint64_t bad_method;  /* 405 */
	uint64_t too_long;    /* 414 */
	uint64_t busy;        /* 503: every connection slot was taken */
} metrics_http_stats_t;

/* Runs at the start of every scrape; see "Collect hook". */
typedef void (*metrics_collect_fn)(void *ctx);

/*
 * A registry with the given capacities (lim NULL: every default).
 * Returns KERR_OK, KERR_ARG or KERR_NOMEM.
 */
kerr_t metrics_new(const metrics_limits_t *lim, metrics_t **out);

/* Free the registry (see "Lifetime"); its series and checks die with it.
 * NULL is ignored. */
void metrics_free(metrics_t *m);

/*
 * Register a family.  name matches [a-zA-Z_:][a-zA-Z0-9_:]* (at most
 * METRICS_NAME_MAX) and is not taken; help is UTF-8 (at most
 * METRICS_HELP_MAX bytes, may be empty); labels are nlabels distinct names
 * matching [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", and not "le" in
 * a histogram.  buckets (histograms only, else NULL and 0) are 1 to
 * METRICS_BUCKETS_MAX finite, strictly increasing upper bounds; +Inf is
 * implicit.  Not after metrics_listen().
 * Returns KERR_OK, KERR_ARG (a rule above broken, or after listen) or
 * KERR_FULL (limits.families).
 */
kerr_t metrics_family_new(metrics_t *m, metrics_type_t type, const char *name,
			  const char *help, const char *const *labels,
			  size_t nlabels, const double *buckets,
			  size_t nbuckets, metrics_family_t **out);

/*
 * The series of f with these label values (one per label name, in order;
 * NULL when f has none), each UTF-8 of at most METRICS_LABEL_VALUE_MAX
 * bytes.  The same values give the same series again.  Not after
 * metrics_listen() unless the series exists already.
 * Returns KERR_OK, KERR_ARG or KERR_FULL (limits.series, cells or
 * label_bytes).
 */
kerr_t metrics_series_new(metrics_family_t *f, const char *const *values,
			  metrics_series_t **out);

/* An unlabelled family and its one series, in one call. */
kerr_t metrics_counter_new(metrics_t *m, const char *name, const char *help,
			   metrics_series_t **out);
kerr_t metrics_gauge_new(metrics_t *m, const char *name, const char *help,
			 metrics_series_t **out);
kerr_t metrics_histogram_new(metrics_t *m, const char *name, const char *help,
			     const double *buckets, size_t nbuckets,
			     metrics_series_t **out);

/*
 * Updates (loop thread; never fail, never allocate).  Each does nothing on
 * a series of the wrong type, and with NULL:
 *   inc, add   counters: add 1 or v (v negative or NaN is ignored: a
 *              counter never goes down);
 *   set        gauges, and counters mirrored from a module's stats;
 *   observe    histograms: v counts in the first bucket whose bound is
 *              >= v (and in +Inf); its sum grows by v; NaN is ignored.
 */
void metrics_inc(metrics_series_t *s);
void metrics_add(metrics_series_t *s, double v);
void metrics_set(metrics_series_t *s, double v);
void metrics_observe(metrics_series_t *s, double v);

/* A counter's or gauge's value, a histogram's sum; 0 for NULL. */
double metrics_value(const metrics_series_t *s);
/* A histogram's observation count; 0 for other types and NULL. */
uint64_t metrics_count(const metrics_series_t *s);

/* Set (or clear, fn NULL) the collect hook. */
void metrics_on_collect(metrics_t *m, metrics_collect_fn fn, void *ctx);

/*
 * The most bytes metrics_render() can write for the families and series
 * registered so far (whatever their values), without the NUL.
 */
size_t metrics_text_max(const metrics_t *m);

/*
 * Run the collect hook, then write the exposition text to buf (NUL-ended;
 * *len gets its length without the NUL).  Returns KERR_OK, or KERR_BUF
 * when cap is below metrics_text_max() + 1 (nothing useful in buf).
 */
kerr_t metrics_render(metrics_t *m, char *buf, size_t cap, size_t *len);

/*
 * A health check named name (printable ASCII without spaces or ':', at most
 * METRICS_CHECK_NAME_MAX), passing until the host says otherwise.  Not
 * after metrics_listen().
 * Returns KERR_OK, KERR_ARG (bad or taken name, or after listen) or
 * KERR_FULL (limits.checks).
 */
kerr_t metrics_check_new(metrics_t *m, const char *name, metrics_check_t **out);

/* Mark c passing. */
void metrics_check_pass(metrics_check_t *c);
/* Mark c failing with a reason (printf format; cut at METRICS_REASON_MAX
 * bytes, control characters turned to spaces; empty reads "failing"). */
void metrics_check_fail(metrics_check_t *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool metrics_check_passing(const metrics_check_t *c);

/* The most bytes metrics_health() can write, without the NUL. */
size_t metrics_health_max(const metrics_t *m);

/*
 * Run the collect hook, then write the /healthz body to buf (NUL-ended)
 * and whether every check passes to *healthy.  Returns KERR_OK or KERR_BUF
 * (cap below metrics_health_max() + 1).
 */
kerr_t metrics_health(metrics_t *m, char *buf, size_t cap, size_t *len,
		      bool *healthy);

/*
 * Serve /metrics and /healthz on loop at hostport: "host:port" or
 * "[v6]:port" (port 0..65535, 0 lets the kernel choose; host a name or a
 * numeric address, resolved here at setup; "0.0.0.0", "::" and "*" mean
 * every interface).  Allocates limits.conns response buffers sized for the
 * registry as it stands, which is frozen from here on.  Once per registry.
 * *bound_port (if not NULL) gets the port bound.
 * Returns KERR_OK, KERR_ARG (malformed hostport, NULL, second call),
 * KERR_NOT_FOUND (the host does not resolve), KERR_FULL (8 servers
 * already), KERR_NOMEM or KERR_IO (the address cannot be bound).
 */
kerr_t metrics_listen(metrics_t *m, loop_t *loop, const char *hostport,
		      int *bound_port);

void metrics_http_stats(const metrics_t *m, metrics_http_stats_t *out);

#endif
