/*
 * main: bin/keeper's entry point.  Finds the subcommand, hands it the rest
 * of argv, and owns the help texts, so that `keeper help COMMAND`, a usage
 * error and the README say the same thing.
 *
 * Every command of the interface contract is here.
 */
#include <getopt.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keeper/cli.h"

#ifndef KEEPER_VERSION
#define KEEPER_VERSION "0.1.0"
#endif

typedef struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} command_t;

static const char top_help[] =
	"usage: keeper COMMAND [OPTIONS]\n"
	"\n"
	"A circuit-breaker keeper: watches an Ethereum node and price feeds and\n"
	"signs pause() or liquidation transactions when a threshold trips.\n"
	"\n"
	"commands:\n"
	"  check    validate a config file without connecting\n"
	"  sign     print a signed raw transaction (EIP-1559 or legacy EIP-155)\n"
	"  address  print the signer's EIP-55 checksummed address\n"
	"  record   write every frame from the node and feeds to a replay file\n"
	"  run      watch the node and feeds live, send the actions of every trip\n"
	"  import   convert a historical price file into replay events\n"
	"  replay   backtest a config on recorded or imported events\n"
	"  help     show help for a command\n"
	"\n"
	"keeper --version prints the version; keeper help COMMAND shows a command.\n"
	"Exit status: 0 success, 1 runtime failure, 2 bad usage or invalid config.\n";

static const command_t commands[] = {
	{ "check", cmd_check,
	  "usage: keeper check -c FILE\n"
	  "\n"
	  "Validate a config file without connecting to anything.  Prints 'ok'\n"
	  "and exits 0, or prints every error found as FILE:LINE: message and\n"
	  "exits 2.\n"
	  "\n"
	  "  -c, --config FILE   the config file (libconfig syntax)\n" },
	{ "sign", cmd_sign,
	  "usage: keeper sign --key-file F --chain-id N --nonce N --gas N --to 0xADDR\n"
	  "                   [--value WEI] [--data 0xHEX]\n"
	  "                   (--max-fee WEI --priority-fee WEI | --gas-price WEI)\n"
	  "\n"
	  "Print the signed raw transaction as 0x-hex on stdout: EIP-1559 (type 2)\n"
	  "with --max-fee and --priority-fee, legacy EIP-155 with --gas-price.\n"
	  "Numbers are decimal or 0x-hex; WEI values may be up to 2^256-1.\n"
	  "\n"
	  "  --key-file F        file holding one 0x-prefixed 64-hex-digit key\n"
	  "                      (must not be readable by group or others)\n"
	  "  --keystore F --password-file P\n"
	  "                      a keystore v3 JSON file instead of --key-file\n"
	  "  --chain-id N        chain id (1..2^64-1)\n"
	  "  --nonce N           account nonce (0..2^64-2)\n"
	  "  --gas N             gas limit\n"
	  "  --to 0xADDR         recipient (mixed case must pass EIP-55)\n"
	  "  --value WEI         value sent (default 0)\n"
	  "  --data 0xHEX        calldata (default empty)\n"
	  "  --max-fee WEI       max fee per gas (type 2)\n"
	  "  --priority-fee WEI  max priority fee per gas (type 2)\n"
	  "  --gas-price WEI     gas price (legacy)\n" },
	{ "address", cmd_address,
	  "usage: keeper address (--key-file F | --keystore F --password-file P)\n"
	  "\n"
	  "Print the signer's EIP-55 checksummed address.  Nothing else about the\n"
	  "key is ever printed.\n"
	  "\n"
	  "  --key-file F        file holding one 0x-prefixed 64-hex-digit key\n"
	  "  --keystore F        Web3 Secret Storage v3 JSON (scrypt or pbkdf2)\n"
	  "  --password-file P   the keystore's password (a trailing newline is\n"
	  "                      not part of it)\n" },
	{ "record", cmd_record,
	  "usage: keeper record -c FILE -o EVENTS [--duration SECONDS] [--append]\n"
	  "\n"
	  "Connect to the node (chain.ws) and the price feeds as run does and\n"
	  "write every frame received to EVENTS, one replay line per frame, as it\n"
	  "arrives:  {\"t\":MS,\"src\":\"FEED\" or \"node\",\"raw\":FRAME}\n"
	  "t is the arrival time (ms since the epoch).  raw is the frame itself\n"
	  "when it is a JSON object or array on one line, else (malformed frames\n"
	  "are recorded too) a JSON string of its text.  Nothing is evaluated;\n"
	  "nothing is sent but subscriptions (and the node's fetches of pending\n"
	  "transactions it announces by hash).  SIGINT or SIGTERM stops cleanly;\n"
	  "a summary line (frames per source, bytes, time) goes to stdout.\n"
	  "\n"
	  "  -c, --config FILE    the config file\n"
	  "  -o, --output EVENTS  the file to write (created 0644); an existing\n"
	  "                       file is refused unless --append is given\n"
	  "  --duration SECONDS   stop this long after starting (decimals allowed)\n"
	  "  --append             add lines to an existing EVENTS\n" },
	{ "run", cmd_run,
	  "usage: keeper run -c FILE [--dry-run] [--drain SECONDS]\n"
	  "\n"
	  "Connect to the node (chain.ws: heads, pending transactions, the watched\n"
	  "tokens' Transfer logs) and the price feeds, evaluate every trigger, and\n"
	  "log every trip as one line (module \"trip\", in the config's log format):\n"
	  "trigger, kind, value, threshold, unit, time, action, and the tx (sender,\n"
	  "type, fees), account, amount and token when the trip has them.  Outflow\n"
	  "triggers read the watched balances over chain.rpc at start and at every\n"
	  "new head; mempool triggers judge pending transactions, those pending\n"
	  "before the node subscription too (read from the node's pool at each\n"
	  "connection), simulated with eth_simulateV1 or debug_traceCall when\n"
	  "simulate = true; liquidation triggers check their borrowers at every\n"
	  "head, after reading the last 100000 blocks' discover logs at start.\n"
	  "SIGINT or SIGTERM stops cleanly (exit 0) and prints a summary line of\n"
	  "events and trips to stdout.\n"
	  "\n"
	  "Each trip's action is then sent: guard read, gas strategy, signed with\n"
	  "the config's signer (restricted to the configured actions; required:\n"
	  "without one run exits 2), written to state_file, broadcast to every\n"
	  "chain.rpc URL and followed on each head until mined (escalation, nonce\n"
	  "recovery); every change is one log line of module \"tracker\".  SIGINT\n"
	  "or SIGTERM stops taking trips, follows the transactions in flight for\n"
	  "up to --drain seconds (default 20), saves the state and exits 0; what\n"
	  "is still in flight is resumed by the next start, and each trigger's\n"
	  "cooldown runs on from its last trip.  A second SIGINT or\n"
	  "SIGTERM stops at once (state saved, exit 0).  SIGHUP re-reads the\n"
	  "config: an invalid one is logged (every error) and the running one\n"
	  "stays; a valid one is applied in place when only trigger settings\n"
	  "(thresholds, windows, selectors, allow, confirm, cooldown; not a mempool\n"
	  "trigger's simulate nor any liquidation setting) and the log group\n"
	  "changed; any other change is logged and refused (restart to apply it).\n"
	  "\n"
	  "  -c, --config FILE   the config file\n"
	  "  --dry-run           evaluate and log each would-be transaction (signed\n"
	  "                      when a signer is configured); never send\n"
	  "  --drain SECONDS     after SIGINT/SIGTERM, follow transactions in flight\n"
	  "                      this long at most (0..3600, default 20; 0: stop\n"
	  "                      at once)\n" },
	{ "import", cmd_import,
	  "usage: keeper import --format chainlink-csv|ohlcv-json --feed NAME FILE\n"
	  "\n"
	  "Convert a historical price file into replay events on stdout, one\n"
	  "{\"t\":MS,\"src\":NAME,\"price\":P} line per tick, for keeper replay.\n"
	  "  chainlink-csv  Chainlink rounds: a header naming answer and updatedAt,\n"
	  "                 '#' comment lines allowed; answer has 8 decimals and is\n"
	  "                 written exactly; the tick's time is updatedAt (seconds)\n"
	  "  ohlcv-json     a JSON array of bars (time_period_start/end, price_open,\n"
	  "                 _high, _low, _close): four ticks per bar, open at its\n"
	  "                 start, then low and high (a bar that closed up) or high\n"
	  "                 and low (closed down) at 1/3 and 2/3 of it, close at its\n"
	  "                 end (the next bar's open shares that millisecond)\n"
	  "A malformed row or bar, a price <= 0 or a time going backwards is an\n"
	  "error naming its line or bar; every problem is listed on stderr and\n"
	  "nothing is written (exit 1).\n"
	  "\n"
	  "  --format F   chainlink-csv or ohlcv-json\n"
	  "  --feed NAME  the feed name the events carry (a config feed name)\n" },
	{ "replay", cmd_replay,
	  "usage: keeper replay -c FILE EVENTS [--report OUT.json] [--html OUT.html]\n"
	  "                     [--gas GAS.json]\n"
	  "\n"
	  "Backtest: read EVENTS (JSON Lines: {\"t\":MS,\"src\":S,\"price\":P} or\n"
	  "\"raw\":FRAME, as import and record write them) instead of sockets, on a\n"
	  "virtual clock driven by the events' times: every trigger, hold, confirm,\n"
	  "cooldown and staleness runs as it would have live, as fast as the file\n"
	  "reads.  Raw frames go through the same parsers as live.  Each trip gets\n"
	  "the transaction run would build (action calldata, gas strategy on the\n"
	  "market of the recorded heads or of --gas, nonce from 0; signed when the\n"
	  "config has a signer).  Nothing is ever sent.  Bad lines are counted by\n"
	  "kind, never fatal.  A summary goes to stdout.\n"
	  "\n"
	  "  -c, --config FILE   the config file\n"
	  "  --report OUT.json   write the report (events, duration_ms, trips with\n"
	  "                      their transactions, by_trigger, bad_lines)\n"
	  "  --html OUT.html     write a self-contained page: price chart with\n"
	  "                      thresholds, trips and fees, and a table of trips\n"
	  "  --gas GAS.json      historical gas prices (10-minute percentile\n"
	  "                      buckets) for fees when the events have no heads\n"
	  "Exit status: 0 done, 1 a file cannot be read or written, 2 bad usage\n"
	  "or an invalid config.\n" },
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

static const command_t *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

const char *cli_help_text(const char *command)
{
	const command_t *c;
	if (!command)
		return top_help;
	if (strcmp(command, "help") == 0)
		return "usage: keeper help [COMMAND]\n";
	c = find_command(command);
	return c ? c->help : NULL;
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	const char *help = cli_help_text(command);
	va_list ap;
	fputs("keeper: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(help ? help : top_help, stderr);
	return CLI_EXIT_USAGE;
}

int cli_option_error(const char *command, int c, char **argv)
{
	if (c == ':')
		return cli_usage_error(command, "%s needs a value", argv[optind - 1]);
	return cli_usage_error(command, "unknown option: %s", argv[optind - 1]);
}

static int cmd_help(int argc, char **argv)
{
	const char *text;
	if (argc > 2)
		return cli_usage_error("help", "help takes at most one command");
	text = cli_help_text(argc == 2 ? argv[1] : NULL);
	if (!text)
		return cli_usage_error(NULL, "no such command: %s", argv[1]);
	fputs(text, stdout);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	const command_t *c;
	if (argc < 2)
		return cli_usage_error(NULL, "no command given");
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("keeper %s\n", KEEPER_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0
	    || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	c = find_command(argv[1]);
	if (c)
		return c->fn(argc - 1, argv + 1);
	return cli_usage_error(NULL, "unknown command: %s", argv[1]);
}

int64_t cli_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
