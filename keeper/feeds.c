/*
 * feeds: one ws connection per configured price feed, messages into
 * EV_PRICE events, and a staleness clock per feed (see feeds.h).
 *
 * Each feed is a struct feed inside one allocation with the feeds_t; its
 * address is the ctx of its ws callbacks and the argument of its timer, so
 * a callback finds its feed without a lookup.
 */
#include "keeper/feeds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keeper/log.h"
#include "keeper/ws.h"

struct feed {
	feeds_t *owner;
	const config_feed_t *cfg;
	uint32_t id;
	ws_t *ws;
	loop_timer_t stale_t;
	int64_t last_tick_mono;  /* loop_now_ms of the latest tick (or start) */
	int64_t last_tick_wall;  /* loop_wall_ms of the latest tick, -1: none */
	bool stale;
	uint64_t messages, ticks, ignored, bad_json, bad_missing, bad_value;
	uint64_t stale_n;
};

struct feeds {
	loop_t *loop;
	const config_keeper_t *cfg;
	event_sink_fn sink;
	event_frame_fn tap;
	void *ctx;
	feed_parser_t parser;
	bool started;
	size_t n;
	struct feed feed[];
};

/* ---- staleness */

static void stale_cb(loop_t *loop, void *arg)
{
	struct feed *fd = arg;
	feeds_t *f = fd->owner;
	int64_t now = loop_now_ms(loop);
	int64_t due = fd->last_tick_mono + (int64_t)fd->cfg->stale_after_ms;
	event_t ev;

	if (now < due) { /* ticks came in since the timer was armed */
		loop_timer_arm_ms(&fd->stale_t, due - now);
		return;
	}
	fd->stale = true;
	fd->stale_n++;
	if (fd->last_tick_wall < 0)
		log_warn("feeds", "%s: stale: no tick within %llu ms of starting",
			 fd->cfg->name, (unsigned long long)fd->cfg->stale_after_ms);
	else
		log_warn("feeds", "%s: stale: no tick for %llu ms",
			 fd->cfg->name, (unsigned long long)fd->cfg->stale_after_ms);
	memset(&ev, 0, sizeof ev);
	ev.kind = EV_FEED_STALE;
	ev.feed.feed = fd->id;
	ev.feed.time_ms = loop_wall_ms(loop);
	ev.feed.last_tick_ms = fd->last_tick_wall;
	f->sink(f->ctx, &ev);
}

/* ---- ws callbacks */

static void on_open(ws_t *ws, void *ctx)
{
	struct feed *fd = ctx;
	const char *sub = fd->cfg->subscribe;
	kerr_t err;

	if (!sub)
		return; /* ws has logged the connection */
	/* The queue is empty on open and larger than CONFIG_SUBSCRIBE_MAX,
	 * so this fails only if the connection died in between; on_open
	 * then runs again after the reconnect. */
	err = ws_send(ws, sub, strlen(sub));
	if (err)
		log_warn("feeds", "%s: cannot send the subscription: %s",
			 fd->cfg->name, kerr_str(err));
	else
		log_debug("feeds", "%s: subscription sent", fd->cfg->name);
}

static void note_malformed(struct feed *fd, ws_t *ws, const char *what,
			   kerr_t err)
{
	char why[128];

	if (what && (!strcmp(what, "price") || !strcmp(what, "time"))) {
		if (err == KERR_NOT_FOUND)
			fd->bad_missing++;
		else
			fd->bad_value++;
	} else {
		fd->bad_json++;
	}
	snprintf(why, sizeof why, "%s: %s", what ? what : "frame", kerr_str(err));
	ws_note_malformed(ws, why);
}

static void on_message(ws_t *ws, const char *msg, size_t len, void *ctx)
{
	struct feed *fd = ctx;
	feeds_t *f = fd->owner;
	int64_t wall = loop_wall_ms(f->loop);
	feed_result_t res;
	event_t ev;
	kerr_t err;

	fd->messages++;
	if (f->tap)
		f->tap(f->ctx, fd->cfg->name, msg, len, wall);
	err = feed_parse_frame(&f->parser, fd->cfg, fd->id, wall, msg, len, &res,
			       &ev);
	if (err) {
		note_malformed(fd, ws, f->parser.what, err);
		return;
	}
	if (res != FEED_TICK) {
		fd->ignored++;
		return;
	}
	fd->ticks++;
	fd->last_tick_mono = loop_now_ms(f->loop);
	fd->last_tick_wall = wall;
	if (fd->stale) {
		event_t back;

		fd->stale = false;
		log_info("feeds", "%s: ticking again", fd->cfg->name);
		memset(&back, 0, sizeof back);
		back.kind = EV_FEED_BACK;
		back.feed.feed = fd->id;
		back.feed.time_ms = wall;
		back.feed.last_tick_ms = wall;
		loop_timer_arm_ms(&fd->stale_t, (int64_t)fd->cfg->stale_after_ms);
		f->sink(f->ctx, &back);
	}
	f->sink(f->ctx, &ev);
}

/* ---- API */

kerr_t feeds_new(loop_t *loop, const config_keeper_t *cfg, event_sink_fn sink,
		 event_frame_fn tap, void *ctx, feeds_t **out)
{
	feeds_t *f;
	kerr_t err;

	if (out)
		*out = NULL;
	if (!loop || !cfg || !sink || !out || cfg->nfeeds > CONFIG_MAX_FEEDS)
		return KERR_ARG;
	f = calloc(1, sizeof *f + cfg->nfeeds * sizeof f->feed[0]);
	if (!f)
		return KERR_NOMEM;
	if ((err = feed_parse_init(&f->parser, FEEDS_MAX_MESSAGE))) {
		free(f);
		return err;
	}
	f->loop = loop;
	f->cfg = cfg;
	f->sink = sink;
	f->tap = tap;
	f->ctx = ctx;
	f->n = cfg->nfeeds;
	for (size_t i = 0; i < f->n; i++) {
		struct feed *fd = &f->feed[i];

		fd->owner = f;
		fd->cfg = &cfg->feeds[i];
		fd->id = (uint32_t)i;
		fd->last_tick_wall = -1;
		loop_timer_init(&fd->stale_t, loop, stale_cb, fd);
	}
	*out = f;
	return KERR_OK;
}

kerr_t feeds_start(feeds_t *f)
{
	if (!f || f->started)
		return KERR_ARG;
	f->started = true;
	for (size_t i = 0; i < f->n; i++) {
		struct feed *fd = &f->feed[i];
		ws_config_t wc;
		kerr_t err;

		memset(&wc, 0, sizeof wc);
		wc.url = fd->cfg->url;
		wc.name = fd->cfg->name;
		wc.max_message = FEEDS_MAX_MESSAGE;
		wc.cb.on_open = on_open;
		wc.cb.on_message = on_message;
		wc.ctx = fd;
		if ((err = ws_create(f->loop, &wc, &fd->ws))) {
			log_error("feeds", "%s: cannot use %s: %s", fd->cfg->name,
				  fd->cfg->url, kerr_str(err));
			return err;
		}
		fd->last_tick_mono = loop_now_ms(f->loop);
		if (fd->cfg->stale_after_ms)
			loop_timer_arm_ms(&fd->stale_t,
					  (int64_t)fd->cfg->stale_after_ms);
	}
	return KERR_OK;
}

size_t feeds_count(const feeds_t *f)
{
	return f ? f->n : 0;
}

kerr_t feeds_stats(const feeds_t *f, size_t i, feeds_stats_t *out)
{
	const struct feed *fd;
	uint64_t notes;

	if (!f || !out || i >= f->n)
		return KERR_ARG;
	fd = &f->feed[i];
	memset(out, 0, sizeof *out);
	out->messages = fd->messages;
	out->ticks = fd->ticks;
	out->ignored = fd->ignored;
	out->bad_json = fd->bad_json;
	out->bad_missing = fd->bad_missing;
	out->bad_value = fd->bad_value;
	out->stale = fd->stale_n;
	out->is_stale = fd->stale;
	out->last_tick_ms = fd->last_tick_wall;
	if (fd->ws) {
		const ws_stats_t *ws = ws_stats(fd->ws);

		/* ws counts binary messages and our parser's refusals
		 * together as malformed; ours are known, the rest is binary. */
		notes = fd->bad_json + fd->bad_missing + fd->bad_value;
		out->binary = ws->malformed > notes ? ws->malformed - notes : 0;
		out->oversized = ws->oversized;
		out->opens = ws->opens;
		out->reconnects = ws->reconnects;
		out->connect_fails = ws->connect_fails;
		out->is_open = ws_is_open(fd->ws);
	}
	return KERR_OK;
}

void feeds_free(feeds_t *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		loop_timer_cancel(&f->feed[i].stale_t);
		ws_destroy(f->feed[i].ws);
	}
	feed_parse_release(&f->parser);
	free(f);
}
