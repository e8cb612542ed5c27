/*
 * metrics: the registry, the exposition and health texts, and the HTTP
 * server on the loop (see metrics.h).
 *
 * Storage.  metrics_new() allocates every table at its capacity: families,
 * series, the histogram bucket counters (one pool, each histogram series
 * taking a run of it) and the label text (one pool: each series keeps its
 * labels already rendered and escaped, 'a="x",b="y"', so a scrape copies
 * them and only formats numbers).  text_max grows with each registration
 * by the longest text that series (and, for the first one, its family's
 * HELP and TYPE lines) can produce, so a buffer of that size can never be
 * too small, whatever the values.
 *
 * Server.  The vhost's user pointer is a cell holding the registry pointer
 * and the bound address text (lws keeps a pointer to that text, not a
 * copy).  Two owners share the cell: the registry and the vhost.
 * metrics_free() empties cell->m; the vhost's finalizer marks it gone;
 * whichever comes second gives the cell back.  A callback that finds
 * cell->m NULL closes its connection, so the loop may outlive the registry
 * and the other way round.  The cells are a static table, not heap blocks,
 * and the finalizer is given a (slot, generation) token rather than a
 * pointer, because of a vhost whose creation fails (the address cannot be
 * bound): lws destroys it through lws_vhost_destroy(), which may run the
 * finalizer at once (lws 4.1.6 does) or defer it to a later service or to
 * context destroy.  metrics_listen() gives the cell back when it fails, so
 * a finalizer that runs later must find its token stale, in memory that is
 * still there.
 *
 * Each scrape takes a connection slot with a preallocated buffer, renders
 * into it (LWS_PRE bytes of headroom before the text, which lws_write()
 * may use) and sends it in pieces of METRICS_WRITE_CHUNK from writable
 * callbacks, so one scrape cannot hold the loop for long.  The headroom of
 * a later piece is text already sent, which lws may overwrite freely.
 */
#include "keeper/metrics.h"

#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NUM_MAX 24       /* longest "%.17g" of a double: -2.2250738585072014e-308 */
#define U64_MAX_DIGITS 20
#define WRITE_CHUNK 16384 /* bytes per lws_write() of a response */
#define VHOST_NAME "keeper-metrics"
#define PROTO_NAME "keeper-metrics-http"
/* A label set rendered: every label name, its value escaped (each byte at
 * most twice), quotes, '=' and commas. */
#define LABELS_TEXT_MAX (METRICS_LABELS_MAX * (METRICS_NAME_MAX + 4 + \
			 2 * METRICS_LABEL_VALUE_MAX))

const double metrics_latency_buckets[METRICS_LATENCY_BUCKETS_N] = {
	1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0
};

struct metrics_family {
	metrics_t *m;
	metrics_type_t type;
	size_t nlabels, nbuckets;
	char name[METRICS_NAME_MAX + 1];
	char help[METRICS_HELP_MAX + 1];
	char labels[METRICS_LABELS_MAX][METRICS_NAME_MAX + 1];
	double bounds[METRICS_BUCKETS_MAX];
	char le[METRICS_BUCKETS_MAX][NUM_MAX + 1]; /* bounds as rendered */
	size_t head_len;       /* its HELP and TYPE lines */
	size_t first, last;    /* its series, in order; SIZE_MAX: none */
};

struct metrics_series {
	metrics_family_t *f;
	double v;              /* counter or gauge value; histogram sum */
	uint64_t count;        /* histogram observations */
	uint64_t *cells;       /* histogram: per bucket, not cumulative */
	size_t lab_off, lab_len; /* rendered labels in m->labtext */
	size_t next;           /* next series of the family, or SIZE_MAX */
};

struct metrics_check {
	bool ok;
	char name[METRICS_CHECK_NAME_MAX + 1];
	char reason[METRICS_REASON_MAX + 1];
};

/* Servers alive at once in a process (the loop is one per process). */
#define CELLS_MAX 8

/* Shared by the registry and the vhost (see the top of this file). */
struct metrics_cell {
	bool used;
	unsigned gen;          /* bumped whenever the slot is taken or freed */
	metrics_t *m;          /* NULL once metrics_free() ran */
	bool vhost_gone;       /* the vhost's finalizer ran */
	char iface[INET6_ADDRSTRLEN];
};

static struct metrics_cell cells[CELLS_MAX];

/* One scrape in progress. */
struct metrics_conn {
	bool used;
	char *buf;             /* LWS_PRE headroom, then conn_cap bytes */
};

/* lws's per-connection data. */
struct metrics_pss {
	size_t slot;           /* conns[slot - 1] holds the body; 0: none */
	const char *body;      /* LWS_PRE bytes before it are writable */
	size_t len, sent;
	bool responding;
	bool head;             /* a HEAD request: headers only */
	char small[LWS_PRE + 64]; /* the short bodies (404, 405, ...) */
};

struct metrics {
	metrics_limits_t lim;
	metrics_family_t *fam;
	size_t nfam;
	metrics_series_t *ser;
	size_t nser;
	uint64_t *cells;
	size_t ncells;
	char *labtext;
	size_t labused;
	metrics_check_t *chk;
	size_t nchk;
	size_t text_max;
	metrics_collect_fn collect;
	void *collect_ctx;
	bool frozen;           /* metrics_listen() ran */
	struct metrics_cell *cell;
	struct metrics_conn *conns;
	size_t conn_cap;
	metrics_http_stats_t st;
};

/* ---- text helpers ----------------------------------------------------- */

/* The shortest "%.Ng" that reads back as v; NaN and infinities as the
 * exposition format spells them.  out has NUM_MAX + 1 bytes. */
static size_t fmt_double(double v, char *out)
{
	int n = 0;

	if (isnan(v))
		return (size_t)snprintf(out, NUM_MAX + 1, "NaN");
	if (isinf(v))
		return (size_t)snprintf(out, NUM_MAX + 1, v > 0 ? "+Inf" : "-Inf");
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(out, NUM_MAX + 1, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return (size_t)n;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

static bool name_ok(const char *s, bool colon)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > METRICS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || (colon && c == ':');

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/*
 * Escape s[0..n) into out (room for 2n bytes): backslash and newline, and
 * the double quote when quote (label values; HELP leaves it alone).
 */
static size_t escape(char *out, const char *s, size_t n, bool quote)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || (quote && s[i] == '"')) {
			out[o++] = '\\';
			out[o++] = s[i];
		} else if (s[i] == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

static size_t escaped_len(const char *s, bool quote)
{
	size_t n = 0;

	for (; *s; s++)
		n += (*s == '\\' || *s == '\n' || (quote && *s == '"')) ? 2 : 1;
	return n;
}

static const char *type_name(metrics_type_t t)
{
	return t == METRICS_COUNTER ? "counter" :
	       t == METRICS_GAUGE ? "gauge" : "histogram";
}

/* ---- registry --------------------------------------------------------- */

static struct metrics_cell *cell_take(void)
{
	for (size_t i = 0; i < CELLS_MAX; i++) {
		struct metrics_cell *c = &cells[i];

		if (!c->used) {
			c->used = true;
			c->gen++;
			c->m = NULL;
			c->vhost_gone = false;
			c->iface[0] = 0;
			return c;
		}
	}
	return NULL;
}

static void cell_put(struct metrics_cell *c)
{
	c->used = false;
	c->gen++;
	c->m = NULL;
}

/* The finalizer's token: slot in the low byte, generation above. */
static void *cell_token(const struct metrics_cell *c)
{
	return (void *)(((uintptr_t)c->gen << 8) | (uintptr_t)(c - cells));
}

kerr_t metrics_new(const metrics_limits_t *lim, metrics_t **out)
{
	metrics_t *m;

	if (!out)
		return KERR_ARG;
	*out = NULL;
	m = calloc(1, sizeof *m);
	if (!m)
		return KERR_NOMEM;
	if (lim)
		m->lim = *lim;
	if (!m->lim.families)
		m->lim.families = 64;
	if (!m->lim.series)
		m->lim.series = 1024;
	if (!m->lim.cells)
		m->lim.cells = 1024;
	if (!m->lim.label_bytes)
		m->lim.label_bytes = 65536;
	if (!m->lim.checks)
		m->lim.checks = 16;
	if (!m->lim.conns)
		m->lim.conns = 4;
	m->fam = calloc(m->lim.families, sizeof *m->fam);
	m->ser = calloc(m->lim.series, sizeof *m->ser);
	m->cells = calloc(m->lim.cells, sizeof *m->cells);
	m->labtext = malloc(m->lim.label_bytes);
	m->chk = calloc(m->lim.checks, sizeof *m->chk);
	m->conns = calloc(m->lim.conns, sizeof *m->conns);
	if (!m->fam || !m->ser || !m->cells || !m->labtext || !m->chk ||
	    !m->conns) {
		metrics_free(m);
		return KERR_NOMEM;
	}
	*out = m;
	return KERR_OK;
}

void metrics_free(metrics_t *m)
{
	if (!m)
		return;
	if (m->cell) {
		/* The vhost may still call back: it finds the cell empty. */
		if (m->cell->vhost_gone)
			cell_put(m->cell);
		else
			m->cell->m = NULL;
	}
	if (m->conns) {
		for (size_t i = 0; i < m->lim.conns; i++)
			free(m->conns[i].buf);
	}
	free(m->fam);
	free(m->ser);
	free(m->cells);
	free(m->labtext);
	free(m->chk);
	free(m->conns);
	free(m);
}

kerr_t metrics_family_new(metrics_t *m, metrics_type_t type, const char *name,
			  const char *help, const char *const *labels,
			  size_t nlabels, const double *buckets,
			  size_t nbuckets, metrics_family_t **out)
{
	metrics_family_t *f;
	size_t hlen;

	if (!m || !out || m->frozen || !name_ok(name, true) ||
	    type < METRICS_COUNTER || type > METRICS_HISTOGRAM ||
	    nlabels > METRICS_LABELS_MAX || (nlabels && !labels))
		return KERR_ARG;
	if (!help)
		help = "";
	hlen = strlen(help);
	if (hlen > METRICS_HELP_MAX || !utf8_valid(help, hlen))
		return KERR_ARG;
	for (size_t i = 0; i < nlabels; i++) {
		if (!name_ok(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
		    (type == METRICS_HISTOGRAM && strcmp(labels[i], "le") == 0))
			return KERR_ARG;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(labels[i], labels[j]) == 0)
				return KERR_ARG;
		}
	}
	if (type == METRICS_HISTOGRAM) {
		if (!buckets || nbuckets == 0 || nbuckets > METRICS_BUCKETS_MAX)
			return KERR_ARG;
		for (size_t i = 0; i < nbuckets; i++) {
			if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
				return KERR_ARG;
		}
	} else if (buckets || nbuckets) {
		return KERR_ARG;
	}
	for (size_t i = 0; i < m->nfam; i++) {
		if (strcmp(m->fam[i].name, name) == 0)
			return KERR_ARG;
	}
	if (m->nfam == m->lim.families)
		return KERR_FULL;

	f = &m->fam[m->nfam++];
	memset(f, 0, sizeof *f);
	f->m = m;
	f->type = type;
	f->nlabels = nlabels;
	f->nbuckets = type == METRICS_HISTOGRAM ? nbuckets : 0;
	strcpy(f->name, name);
	strcpy(f->help, help);
	for (size_t i = 0; i < nlabels; i++)
		strcpy(f->labels[i], labels[i]);
	for (size_t i = 0; i < f->nbuckets; i++) {
		f->bounds[i] = buckets[i];
		fmt_double(buckets[i], f->le[i]);
	}
	/* "# HELP name help\n# TYPE name type\n" */
	f->head_len = 7 + strlen(name) + 1 + escaped_len(help, false) + 1 +
		      7 + strlen(name) + 1 + strlen(type_name(type)) + 1;
	f->first = f->last = SIZE_MAX;
	*out = f;
	return KERR_OK;
}

/* The longest text series s can render (its family's lines not counted). */
static size_t series_text_max(const metrics_family_t *f, size_t lab_len)
{
	size_t name = strlen(f->name), braces = lab_len ? lab_len + 2 : 0, n;

	if (f->type != METRICS_HISTOGRAM)
		return name + braces + 1 + NUM_MAX + 1;
	/* name_bucket{labels,le="x"} count\n, for each bound and +Inf */
	n = 0;
	for (size_t i = 0; i <= f->nbuckets; i++) {
		size_t le = i < f->nbuckets ? strlen(f->le[i]) : 4;

		n += name + 7 + 1 + (lab_len ? lab_len + 1 : 0) + 4 + le + 2 +
		     1 + U64_MAX_DIGITS + 1;
	}
	n += name + 4 + braces + 1 + NUM_MAX + 1;        /* _sum */
	n += name + 6 + braces + 1 + U64_MAX_DIGITS + 1; /* _count */
	return n;
}

kerr_t metrics_series_new(metrics_family_t *f, const char *const *values,
			  metrics_series_t **out)
{
	char lab[LABELS_TEXT_MAX];
	size_t len = 0, idx;
	metrics_series_t *s;
	metrics_t *m;

	if (!f || !out || (f->nlabels && !values))
		return KERR_ARG;
	m = f->m;
	for (size_t i = 0; i < f->nlabels; i++) {
		size_t vn = values[i] ? strlen(values[i]) : 0;

		if (!values[i] || vn > METRICS_LABEL_VALUE_MAX ||
		    !utf8_valid(values[i], vn))
			return KERR_ARG;
		if (i)
			lab[len++] = ',';
		memcpy(lab + len, f->labels[i], strlen(f->labels[i]));
		len += strlen(f->labels[i]);
		lab[len++] = '=';
		lab[len++] = '"';
		len += escape(lab + len, values[i], vn, true);
		lab[len++] = '"';
	}
	/* Escaping is one-to-one, so equal texts mean equal values. */
	for (idx = f->first; idx != SIZE_MAX; idx = m->ser[idx].next) {
		s = &m->ser[idx];
		if (s->lab_len == len && memcmp(m->labtext + s->lab_off, lab, len) == 0) {
			*out = s;
			return KERR_OK;
		}
	}
	if (m->frozen)
		return KERR_ARG;
	if (m->nser == m->lim.series || m->lim.label_bytes - m->labused < len ||
	    m->lim.cells - m->ncells < f->nbuckets)
		return KERR_FULL;

	idx = m->nser++;
	s = &m->ser[idx];
	memset(s, 0, sizeof *s);
	s->f = f;
	s->next = SIZE_MAX;
	s->lab_off = m->labused;
	s->lab_len = len;
	memcpy(m->labtext + m->labused, lab, len);
	m->labused += len;
	if (f->type == METRICS_HISTOGRAM) {
		s->cells = m->cells + m->ncells;
		m->ncells += f->nbuckets;
	}
	if (f->first == SIZE_MAX) {
		f->first = idx;
		m->text_max += f->head_len;
	} else {
		m->ser[f->last].next = idx;
	}
	f->last = idx;
	m->text_max += series_text_max(f, len);
	*out = s;
	return KERR_OK;
}

static kerr_t single(metrics_t *m, metrics_type_t type, const char *name,
		     const char *help, const double *buckets, size_t nbuckets,
		     metrics_series_t **out)
{
	metrics_family_t *f;
	kerr_t err;

	if (!out)
		return KERR_ARG;
	err = metrics_family_new(m, type, name, help, NULL, 0, buckets,
				 nbuckets, &f);
	return err ? err : metrics_series_new(f, NULL, out);
}

kerr_t metrics_counter_new(metrics_t *m, const char *name, const char *help,
			   metrics_series_t **out)
{
	return single(m, METRICS_COUNTER, name, help, NULL, 0, out);
}

kerr_t metrics_gauge_new(metrics_t *m, const char *name, const char *help,
			 metrics_series_t **out)
{
	return single(m, METRICS_GAUGE, name, help, NULL, 0, out);
}

kerr_t metrics_histogram_new(metrics_t *m, const char *name, const char *help,
			     const double *buckets, size_t nbuckets,
			     metrics_series_t **out)
{
	return single(m, METRICS_HISTOGRAM, name, help, buckets, nbuckets, out);
}

/* ---- updates ---------------------------------------------------------- */

void metrics_inc(metrics_series_t *s)
{
	if (s && s->f->type == METRICS_COUNTER)
		s->v += 1;
}

void metrics_add(metrics_series_t *s, double v)
{
	/* !(v >= 0) also refuses NaN. */
	if (s && s->f->type == METRICS_COUNTER && v >= 0)
		s->v += v;
}

void metrics_set(metrics_series_t *s, double v)
{
	if (s && s->f->type != METRICS_HISTOGRAM)
		s->v = v;
}

void metrics_observe(metrics_series_t *s, double v)
{
	const metrics_family_t *f;
	size_t i;

	if (!s || s->f->type != METRICS_HISTOGRAM || isnan(v))
		return;
	f = s->f;
	for (i = 0; i < f->nbuckets && v > f->bounds[i]; i++)
		;
	if (i < f->nbuckets)
		s->cells[i]++;
	s->count++;
	s->v += v;
}

double metrics_value(const metrics_series_t *s)
{
	return s ? s->v : 0;
}

uint64_t metrics_count(const metrics_series_t *s)
{
	return s && s->f->type == METRICS_HISTOGRAM ? s->count : 0;
}

void metrics_on_collect(metrics_t *m, metrics_collect_fn fn, void *ctx)
{
	if (!m)
		return;
	m->collect = fn;
	m->collect_ctx = ctx;
}

/* ---- rendering -------------------------------------------------------- */

typedef struct {
	char *p;
	size_t len, cap;
	bool over;
} wbuf_t;

static void put(wbuf_t *w, const char *s, size_t n)
{
	if (w->over || w->cap - w->len < n) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void puts_(wbuf_t *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_double(wbuf_t *w, double v)
{
	char num[NUM_MAX + 1];

	put(w, num, fmt_double(v, num));
}

static void put_u64(wbuf_t *w, uint64_t v)
{
	char num[U64_MAX_DIGITS + 1];

	put(w, num, (size_t)snprintf(num, sizeof num, "%llu",
				     (unsigned long long)v));
}

/* name + suffix + {labels[,le="x"]} */
static void put_ident(wbuf_t *w, const metrics_t *m, const metrics_series_t *s,
		      const char *suffix, const char *le)
{
	puts_(w, s->f->name);
	puts_(w, suffix);
	if (!s->lab_len && !le)
		return;
	put(w, "{", 1);
	put(w, m->labtext + s->lab_off, s->lab_len);
	if (le) {
		if (s->lab_len)
			put(w, ",", 1);
		puts_(w, "le=\"");
		puts_(w, le);
		put(w, "\"", 1);
	}
	put(w, "}", 1);
}

static void render_family(wbuf_t *w, const metrics_t *m,
			  const metrics_family_t *f)
{
	char help[2 * METRICS_HELP_MAX];

	puts_(w, "# HELP ");
	puts_(w, f->name);
	put(w, " ", 1);
	put(w, help, escape(help, f->help, strlen(f->help), false));
	puts_(w, "\n# TYPE ");
	puts_(w, f->name);
	put(w, " ", 1);
	puts_(w, type_name(f->type));
	put(w, "\n", 1);
	for (size_t i = f->first; i != SIZE_MAX; i = m->ser[i].next) {
		const metrics_series_t *s = &m->ser[i];
		uint64_t cum = 0;

		if (f->type != METRICS_HISTOGRAM) {
			put_ident(w, m, s, "", NULL);
			put(w, " ", 1);
			put_double(w, s->v);
			put(w, "\n", 1);
			continue;
		}
		for (size_t b = 0; b <= f->nbuckets; b++) {
			cum = b < f->nbuckets ? cum + s->cells[b] : s->count;
			put_ident(w, m, s, "_bucket", b < f->nbuckets ? f->le[b] : "+Inf");
			put(w, " ", 1);
			put_u64(w, cum);
			put(w, "\n", 1);
		}
		put_ident(w, m, s, "_sum", NULL);
		put(w, " ", 1);
		put_double(w, s->v);
		put(w, "\n", 1);
		put_ident(w, m, s, "_count", NULL);
		put(w, " ", 1);
		put_u64(w, s->count);
		put(w, "\n", 1);
	}
}

size_t metrics_text_max(const metrics_t *m)
{
	return m ? m->text_max : 0;
}

kerr_t metrics_render(metrics_t *m, char *buf, size_t cap, size_t *len)
{
	wbuf_t w;

	if (!m || !buf || !len)
		return KERR_ARG;
	if (m->collect)
		m->collect(m->collect_ctx);
	if (cap < m->text_max + 1)
		return KERR_BUF;
	w.p = buf;
	w.len = 0;
	w.cap = cap - 1;
	w.over = false;
	for (size_t i = 0; i < m->nfam; i++) {
		if (m->fam[i].first != SIZE_MAX)
			render_family(&w, m, &m->fam[i]);
	}
	if (w.over)
		return KERR_BUF; /* text_max is a bound: not reached */
	buf[w.len] = 0;
	*len = w.len;
	return KERR_OK;
}

/* ---- health ----------------------------------------------------------- */

kerr_t metrics_check_new(metrics_t *m, const char *name, metrics_check_t **out)
{
	size_t n = name ? strlen(name) : 0;
	metrics_check_t *c;

	if (!m || !out || m->frozen || n == 0 || n > METRICS_CHECK_NAME_MAX)
		return KERR_ARG;
	for (size_t i = 0; i < n; i++) {
		if (name[i] <= ' ' || name[i] > '~' || name[i] == ':')
			return KERR_ARG;
	}
	for (size_t i = 0; i < m->nchk; i++) {
		if (strcmp(m->chk[i].name, name) == 0)
			return KERR_ARG;
	}
	if (m->nchk == m->lim.checks)
		return KERR_FULL;
	c = &m->chk[m->nchk++];
	memset(c, 0, sizeof *c);
	c->ok = true;
	memcpy(c->name, name, n + 1);
	*out = c;
	return KERR_OK;
}

void metrics_check_pass(metrics_check_t *c)
{
	if (c) {
		c->ok = true;
		c->reason[0] = 0;
	}
}

void metrics_check_fail(metrics_check_t *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c)
		return;
	c->ok = false;
	c->reason[0] = 0;
	if (!fmt)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->reason, sizeof c->reason, fmt, ap);
	va_end(ap);
	if (n < 0)
		c->reason[0] = 0;
	/* One line per reason in /healthz, whatever the host formatted. */
	for (char *p = c->reason; *p; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = ' ';
	}
}

bool metrics_check_passing(const metrics_check_t *c)
{
	return !c || c->ok;
}

size_t metrics_health_max(const metrics_t *m)
{
	size_t n = 0;

	if (!m)
		return 0;
	for (size_t i = 0; i < m->nchk; i++)
		n += strlen(m->chk[i].name) + 2 + METRICS_REASON_MAX + 1;
	return n > 3 ? n : 3;
}

kerr_t metrics_health(metrics_t *m, char *buf, size_t cap, size_t *len,
		      bool *healthy)
{
	wbuf_t w;
	bool ok = true;

	if (!m || !buf || !len || !healthy)
		return KERR_ARG;
	if (m->collect)
		m->collect(m->collect_ctx);
	if (cap < metrics_health_max(m) + 1)
		return KERR_BUF;
	w.p = buf;
	w.len = 0;
	w.cap = cap - 1;
	w.over = false;
	for (size_t i = 0; i < m->nchk; i++) {
		const metrics_check_t *c = &m->chk[i];

		if (c->ok)
			continue;
		ok = false;
		puts_(&w, c->name);
		puts_(&w, ": ");
		puts_(&w, c->reason[0] ? c->reason : "failing");
		put(&w, "\n", 1);
	}
	if (ok)
		puts_(&w, "ok\n");
	if (w.over)
		return KERR_BUF;
	buf[w.len] = 0;
	*len = w.len;
	*healthy = ok;
	return KERR_OK;
}

/* ---- HTTP server ------------------------------------------------------ */

static void release(metrics_t *m, struct metrics_pss *ps)
{
	if (m && ps->slot)
		m->conns[ps->slot - 1].used = false;
	ps->slot = 0;
}

/* Queue a short static body. */
static void small_body(struct metrics_pss *ps, const char *text)
{
	size_t n = strlen(text);

	memcpy(ps->small + LWS_PRE, text, n);
	ps->body = ps->small + LWS_PRE;
	ps->len = n;
}

/* Render the answer to GET path into a free slot; returns the status. */
static unsigned answer_scrape(metrics_t *m, struct metrics_pss *ps,
			      bool is_metrics)
{
	struct metrics_conn *c = NULL;
	size_t len;
	bool healthy = true;
	kerr_t err;

	for (size_t i = 0; i < m->lim.conns; i++) {
		if (!m->conns[i].used) {
			c = &m->conns[i];
			ps->slot = i + 1;
			break;
		}
	}
	if (!c) {
		m->st.busy++;
		small_body(ps, "busy\n");
		return HTTP_STATUS_SERVICE_UNAVAILABLE;
	}
	c->used = true;
	if (is_metrics)
		err = metrics_render(m, c->buf + LWS_PRE, m->conn_cap, &len);
	else
		err = metrics_health(m, c->buf + LWS_PRE, m->conn_cap, &len,
				     &healthy);
	if (err) {
		/* The buffers are sized for the frozen registry: not reached. */
		release(m, ps);
		small_body(ps, "cannot render\n");
		return HTTP_STATUS_INTERNAL_SERVER_ERROR;
	}
	ps->body = c->buf + LWS_PRE;
	ps->len = len;
	if (is_metrics) {
		m->st.metrics++;
		return HTTP_STATUS_OK;
	}
	if (healthy) {
		m->st.healthz_ok++;
		return HTTP_STATUS_OK;
	}
	m->st.healthz_bad++;
	return HTTP_STATUS_SERVICE_UNAVAILABLE;
}

static int on_request(metrics_t *m, struct lws *wsi, struct metrics_pss *ps,
		      const char *path, size_t plen)
{
	unsigned char hdr[LWS_PRE + 512], *p = hdr + LWS_PRE;
	unsigned char *end = hdr + sizeof hdr;
	bool get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	bool head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	bool is_metrics = plen == 8 && memcmp(path, "/metrics", 8) == 0;
	bool is_health = plen == 8 && memcmp(path, "/healthz", 8) == 0;
	const char *ctype = "text/plain; charset=utf-8";
	unsigned status;

	if (ps->responding)
		return -1; /* a second request on this connection: none */
	ps->responding = true;
	ps->head = head;
	ps->sent = 0;
	if (plen > METRICS_URI_MAX) {
		m->st.too_long++;
		status = HTTP_STATUS_REQ_URI_TOO_LONG;
		small_body(ps, "path too long\n");
	} else if (!is_metrics && !is_health) {
		m->st.not_found++;
		status = HTTP_STATUS_NOT_FOUND;
		small_body(ps, "not found: try /metrics or /healthz\n");
	} else if (!get) {
		m->st.bad_method++;
		status = HTTP_STATUS_METHOD_NOT_ALLOWED;
		small_body(ps, "method not allowed: GET only\n");
	} else {
		status = answer_scrape(m, ps, is_metrics);
		if (is_metrics && status == HTTP_STATUS_OK)
			ctype = "text/plain; version=0.0.4; charset=utf-8";
	}
	/*
	 * No content length to lws_add_http_common_headers(): that is what
	 * makes lws add "connection: close" and close after the response;
	 * the length goes in by itself just after.
	 */
	if (lws_add_http_common_headers(wsi, status | LWSAHH_FLAG_NO_SERVER_NAME,
					ctype, LWS_ILLEGAL_HTTP_CONTENT_LEN,
					&p, end) ||
	    lws_add_http_header_content_length(wsi, ps->len, &p, end) ||
	    (status == HTTP_STATUS_METHOD_NOT_ALLOWED &&
	     lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
					 (const unsigned char *)"GET", 3, &p, end)) ||
	    lws_finalize_write_http_header(wsi, hdr + LWS_PRE, &p, end)) {
		release(m, ps);
		return -1;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int on_writable(metrics_t *m, struct lws *wsi, struct metrics_pss *ps)
{
	size_t n;
	bool final;

	if (!ps->responding || !ps->body)
		return 0;
	if (ps->head) {
		/* The headers said how long the body would be; none follows. */
		release(m, ps);
		ps->body = NULL;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	n = ps->len - ps->sent;
	if (n > WRITE_CHUNK)
		n = WRITE_CHUNK;
	final = ps->sent + n == ps->len;
	if (lws_write(wsi, (unsigned char *)ps->body + ps->sent, n,
		      final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n) {
		release(m, ps);
		return -1;
	}
	ps->sent += n;
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	release(m, ps);
	ps->body = NULL;
	/* "connection: close" was sent, so lws ends the connection here
	 * (after flushing whatever the socket did not take yet). */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	struct metrics_pss *ps = user;
	struct lws_vhost *vh = wsi ? lws_get_vhost(wsi) : NULL;
	struct metrics_cell *cell = vh ? lws_vhost_user(vh) : NULL;
	metrics_t *m = cell ? cell->m : NULL;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!m || !ps)
			return -1;
		return on_request(m, wsi, ps, in ? in : "", in ? len : 0);
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return 0; /* neither path takes a body: drop it */
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!m || !ps)
			return -1;
		return on_writable(m, wsi, ps);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ps)
			release(m, ps);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols http_protocols[] = {
	{ PROTO_NAME, http_cb, sizeof(struct metrics_pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void vhost_finalize(struct lws_vhost *vh, void *arg)
{
	uintptr_t tok = (uintptr_t)arg;
	struct metrics_cell *cell = &cells[(tok & 0xff) % CELLS_MAX];

	(void)vh;
	if (!cell->used || cell->gen != (unsigned)(tok >> 8) || cell->vhost_gone)
		return; /* a stale token (see the top of this file) */
	if (cell->m)
		cell->vhost_gone = true;
	else
		cell_put(cell);
}

/* "host:port" or "[v6]:port" -> host (NUL-ended, in out) and port. */
static kerr_t split_hostport(const char *s, char *host, size_t hcap, int *port)
{
	const char *h = s, *colon, *p;
	size_t hn;
	long v = 0;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return KERR_ARG;
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return KERR_ARG;
		hn = (size_t)(colon - s);
		if (memchr(s, ':', hn))
			return KERR_ARG; /* a bare IPv6 address: needs [ ] */
	}
	if (hn == 0 || hn >= hcap)
		return KERR_ARG;
	p = colon + 1;
	if (!*p || strlen(p) > 5)
		return KERR_ARG;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return KERR_ARG;
		v = v * 10 + (*p - '0');
	}
	if (v > 65535)
		return KERR_ARG;
	memcpy(host, h, hn);
	host[hn] = 0;
	*port = (int)v;
	return KERR_OK;
}

/* The numeric address lws binds for host; "" for every interface. */
static kerr_t resolve(const char *host, char out[INET6_ADDRSTRLEN])
{
	struct addrinfo hints, *res = NULL;
	const void *a;

	out[0] = 0;
	if (!strcmp(host, "*") || !strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
		return KERR_OK;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) || !res)
		return KERR_NOT_FOUND;
	if (res->ai_family == AF_INET)
		a = &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
	else
		a = &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr;
	if (!inet_ntop(res->ai_family, a, out, INET6_ADDRSTRLEN)) {
		freeaddrinfo(res);
		return KERR_NOT_FOUND;
	}
	freeaddrinfo(res);
	return KERR_OK;
}

kerr_t metrics_listen(metrics_t *m, loop_t *loop, const char *hostport,
		      int *bound_port)
{
	char host[256];
	loop_listen_opts_t o;
	struct metrics_cell *cell;
	size_t hmax;
	int port;
	kerr_t err;

	if (!m || !loop || !hostport || m->cell || m->frozen)
		return KERR_ARG;
	err = split_hostport(hostport, host, sizeof host, &port);
	if (err)
		return err;
	cell = cell_take();
	if (!cell)
		return KERR_FULL;
	err = resolve(host, cell->iface);
	if (err) {
		cell_put(cell);
		return err;
	}
	hmax = metrics_health_max(m);
	m->conn_cap = (m->text_max > hmax ? m->text_max : hmax) + 1;
	for (size_t i = 0; i < m->lim.conns; i++) {
		m->conns[i].buf = malloc(LWS_PRE + m->conn_cap);
		if (!m->conns[i].buf) {
			err = KERR_NOMEM;
			goto fail;
		}
	}
	m->frozen = true;
	cell->m = m;
	memset(&o, 0, sizeof o);
	o.name = VHOST_NAME;
	o.iface = cell->iface[0] ? cell->iface : NULL;
	o.port = port;
	o.protocols = http_protocols;
	o.user = cell;
	o.finalize = vhost_finalize;
	o.finalize_arg = cell_token(cell);
	err = loop_listen_opts(loop, &o, bound_port);
	if (!err) {
		m->cell = cell;
		return KERR_OK;
	}
	m->frozen = false;
fail:
	/* A finalizer that ran saw cell->m set and left the cell to us; a
	 * later run has a stale token. */
	cell_put(cell);
	for (size_t i = 0; i < m->lim.conns; i++) {
		free(m->conns[i].buf);
		m->conns[i].buf = NULL;
	}
	return err;
}

void metrics_http_stats(const metrics_t *m, metrics_http_stats_t *out)
{
	if (!out)
		return;
	if (m)
		*out = m->st;
	else
		memset(out, 0, sizeof *out);
}
