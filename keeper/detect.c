/*
 * detect: the confirm/cooldown wrapper every trigger kind feeds, and the
 * trip context it yields (rules in detect.h).
 */
#include <math.h>
#include <string.h>

#include "keeper/detect.h"

const char *detect_unit_name(detect_unit_t unit)
{
	switch (unit) {
	case DETECT_UNIT_PCT: return "pct";
	case DETECT_UNIT_PCT_SQRT_MIN: return "pct_per_sqrt_min";
	case DETECT_UNIT_MS: return "ms";
	case DETECT_UNIT_RATIO: return "ratio";
	}
	return "unknown";
}

bool detect_price_ok(double price)
{
	return isfinite(price) && price > 0;
}

bool detect_admit(detect_stats_t *st, bool *seen, int64_t *last_ms,
		  int64_t t_ms, double price, bool same_ms_ok)
{
	if (!detect_price_ok(price)) {
		st->bad_value++;
		return false;
	}
	if (*seen && t_ms < *last_ms) {
		st->backwards++;
		return false;
	}
	if (*seen && t_ms == *last_ms) {
		st->dup_time++;
		if (!same_ms_ok)
			return false;
	}
	st->accepted++;
	*seen = true;
	*last_ms = t_ms;
	return true;
}

void detect_trigger_init(detect_trigger_t *tr, const config_trigger_t *cfg,
			 detect_unit_t unit)
{
	memset(tr, 0, sizeof(*tr));
	tr->name = cfg->name;
	tr->kind = cfg->kind;
	tr->unit = unit;
	tr->confirm_ms = cfg->confirm_ms;
	tr->confirm_ticks = cfg->confirm_ticks;
	tr->cooldown_ms = cfg->cooldown_ms;
}

/* a - b >= want, for times that may be far apart: uint64 arithmetic on a
 * difference known to be >= 0 cannot overflow the way int64 could. */
static bool elapsed_at_least(int64_t a, int64_t b, uint64_t want)
{
	return a >= b && (uint64_t)a - (uint64_t)b >= want;
}

bool detect_trigger_feed(detect_trigger_t *tr, int64_t t_ms, bool cond,
			 double value, double threshold, detect_trip_t *out)
{
	bool confirmed;

	if (tr->has_time && t_ms < tr->last_ms) {
		tr->backwards++;
		return false;
	}
	tr->has_time = true;
	tr->last_ms = t_ms;
	if (!cond) {
		tr->running = false;
		return false;
	}
	if (!tr->running) {
		tr->running = true;
		tr->run_start_ms = t_ms;
		tr->run_ticks = 0;
	}
	tr->run_ticks++;
	confirmed = elapsed_at_least(t_ms, tr->run_start_ms, tr->confirm_ms) &&
		    tr->run_ticks >= tr->confirm_ticks;
	if (!confirmed)
		return false;
	if (tr->has_tripped && !elapsed_at_least(t_ms, tr->last_trip_ms, tr->cooldown_ms)) {
		tr->suppressed++;
		return false;
	}
	tr->has_tripped = true;
	tr->last_trip_ms = t_ms;
	tr->trips++;
	if (out) {
		memset(out, 0, sizeof(*out));
		out->trigger = tr->name;
		out->kind = tr->kind;
		out->value = value;
		out->threshold = threshold;
		out->unit = tr->unit;
		out->time_ms = t_ms;
	}
	return true;
}

bool detect_trigger_seed(detect_trigger_t *tr, int64_t last_trip_ms)
{
	if (tr->has_tripped)
		return false;
	tr->has_tripped = true;
	tr->last_trip_ms = last_trip_ms;
	return true;
}
