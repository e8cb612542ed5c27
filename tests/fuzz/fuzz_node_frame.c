/*
 * fuzz_node_frame: node websocket frames through node_parse_frame(), and a
 * reply's result through node_parse_tx_object() and node_parse_log_object()
 * as node.c hands over eth_getTransactionByHash / eth_getLogs answers.
 *
 * Invariants: every hex view an event carries lies inside the frame and
 * starts with "0x"; a log has at most EVENT_LOG_TOPICS topics; a tx type
 * is at most 0x7f; a reply's tokens are inside the document.
 */
#include "keeper/node_parse.h"

#include "tests/fuzz/fuzz.h"

static node_parser_t P;
static int ready;

static void check_hex(const event_hex_t *h, const char *buf, size_t len)
{
	FUZZ_CHECK(h->p >= buf && h->len >= 2 && h->len <= len &&
		   (size_t)(h->p - buf) <= len - h->len);
	FUZZ_CHECK(h->p[0] == '0' && (h->p[1] == 'x' || h->p[1] == 'X'));
}

static void check_event(const event_t *ev, const char *buf, size_t len)
{
	switch (ev->kind) {
	case EV_PENDING_TX:
		if (ev->tx.full) {
			check_hex(&ev->tx.input, buf, len);
			FUZZ_CHECK(ev->tx.type <= 0x7f);
			FUZZ_CHECK(event_hex_nbytes(&ev->tx.input) * 2 + 2 ==
				   ev->tx.input.len);
		}
		break;
	case EV_LOG:
		check_hex(&ev->log.data, buf, len);
		FUZZ_CHECK(ev->log.ntopics <= EVENT_LOG_TOPICS);
		break;
	case EV_HEAD:
		break;
	default:
		FUZZ_CHECK(!"node_parse produced an event of another kind");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	node_frame_t f;
	event_t ev;
	kerr_t err;

	if (!ready) {
		/* A small limit so that the too-long paths are reachable. */
		if (node_parse_init(&P, 64 * 1024) != KERR_OK)
			abort();
		ready = 1;
	}
	buf = fuzz_dup(data, size);
	memset(&ev, 0, sizeof ev);
	err = node_parse_frame(&P, buf, size, &f, &ev);
	if (err == KERR_OK && f.kind == NODE_FRAME_EVENT) {
		check_event(&ev, buf, size);
		FUZZ_CHECK(f.sub.p >= buf && f.sub.p + f.sub.len <= buf + size);
	} else if (err == KERR_OK) {
		FUZZ_CHECK(f.kind == NODE_FRAME_REPLY);
		FUZZ_CHECK(f.id == JTOK_NONE || f.id < P.doc.n);
		FUZZ_CHECK(f.error == JTOK_NONE || f.error < P.doc.n);
		if (f.result != JTOK_NONE) {
			FUZZ_CHECK(f.result < P.doc.n);
			memset(&ev, 0, sizeof ev);
			if (node_parse_tx_object(&P, &P.doc, f.result, &ev) == KERR_OK)
				check_event(&ev, buf, size);
			memset(&ev, 0, sizeof ev);
			if (node_parse_log_object(&P, &P.doc, f.result, &ev) == KERR_OK)
				check_event(&ev, buf, size);
			/* eth_getLogs: an array of log objects. */
			if (jtok_type(&P.doc, f.result) == JTOK_ARRAY) {
				for (size_t i = jtok_first(&P.doc, f.result); i != JTOK_NONE;
				     i = jtok_after(&P.doc, f.result, i)) {
					memset(&ev, 0, sizeof ev);
					if (node_parse_log_object(&P, &P.doc, i, &ev) == KERR_OK)
						check_event(&ev, buf, size);
				}
			}
		}
	} else {
		FUZZ_CHECK(kerr_str(err) != NULL);
	}
	free(buf);
	return 0;
}
