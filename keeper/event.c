/*
 * event: names of event kinds and the lazy decoders of the hex views that
 * events carry (see event.h for why bytes stay as text until needed).
 */
#include "keeper/event.h"

#include "signer/hex.h"

const char *event_kind_name(event_kind_t kind)
{
	switch (kind) {
	case EV_PRICE: return "price";
	case EV_PENDING_TX: return "pending_tx";
	case EV_LOG: return "log";
	case EV_HEAD: return "head";
	case EV_FEED_STALE: return "feed_stale";
	case EV_FEED_BACK: return "feed_back";
	}
	return "unknown";
}

size_t event_hex_nbytes(const event_hex_t *h)
{
	return h->len < 2 ? 0 : (h->len - 2) / 2;
}

kerr_t event_hex_decode(const event_hex_t *h, uint8_t *out, size_t cap,
			size_t *out_len)
{
	return hex_decode(out, cap, out_len, h->p, h->len);
}

kerr_t event_hex_selector(const event_hex_t *h, uint8_t out[4])
{
	if (event_hex_nbytes(h) < 4)
		return KERR_TRUNCATED;
	/* Only the first 8 digits: the rest is decoded if ever needed. */
	return hex_decode_exact(out, 4, h->p + 2, 8);
}
