/* Prints the nft ruleset palisade plans for the destinations and options
 * given, for the nft integration test:
 *
 *   palisade-nftplan [--no-v6] [--dns-filter] [--root-dns-anywhere] [--audit]
 *                    [--resolver ADDR]... [--default-ports LIST] [--expose LIST]
 *                    DEST...
 *
 * DEST is ADDR or ADDR/PREFIX, followed by =PORT (that port, TCP and UDP)
 * or =all (every port); the default ports otherwise. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fw/fence.h"
#include "../fw/nftplan.h"

#define MAX_ARGS 64

static int usage(const char *why, const char *arg)
{
	fprintf(stderr, "palisade-nftplan: %s: %s\n", why, arg);
	return 2;
}

static int parse_ports(const char *text, struct port_list *l)
{
	struct perr err = PERR_INIT;
	if (port_list_parse(text, l, &err) < 0)
		return usage(err.msg, text);
	return 0;
}

static int parse_dest(const char *text, struct fence_dest *d)
{
	char addr[64];
	struct perr err = PERR_INIT;
	const char *eq = strchr(text, '=');
	size_t len = eq ? (size_t)(eq - text) : strlen(text);
	if (len >= sizeof(addr))
		return usage("too long", text);
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(d, 0, sizeof(*d));
	if (net_parse(addr, true, &d->net, &err) < 0)
		return usage(err.msg, text);
	d->ports = PORTS_DEFAULT;
	if (eq && strcmp(eq + 1, "all") == 0)
		d->ports = PORTS_ALL;
	else if (eq && port_parse(eq + 1, &d->port) == 0)
		d->ports = PORTS_ONE;
	else if (eq)
		return usage("not a port or \"all\"", text);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-v6", no_argument, NULL, '6' },
		{ "dns-filter", no_argument, NULL, 'd' },
		{ "root-dns-anywhere", no_argument, NULL, 'r' },
		{ "audit", no_argument, NULL, 'a' },
		{ "resolver", required_argument, NULL, 'R' },
		{ "default-ports", required_argument, NULL, 'p' },
		{ "expose", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	struct fence_spec spec = { 0 };
	struct port_list defaults = { 0 }, expose = { 0 };
	struct net_addr resolvers[MAX_ARGS];
	struct fence_dest dests[MAX_ARGS];
	bool v6 = true;
	struct perr err = PERR_INIT;
	if (parse_ports("80,443,443/udp", &defaults))
		return 2;
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case '6': v6 = false; break;
		case 'd': spec.dns_filter = true; break;
		case 'r': spec.root_dns_anywhere = true; break;
		case 'a': spec.audit = true; break;
		case 'R':
			if (spec.nresolvers == MAX_ARGS)
				return usage("too many resolvers", optarg);
			if (net_parse(optarg, false, &resolvers[spec.nresolvers], &err) < 0)
				return usage(err.msg, optarg);
			spec.nresolvers++;
			break;
		case 'p':
			if (parse_ports(optarg, &defaults))
				return 2;
			break;
		case 'e':
			if (parse_ports(optarg, &expose))
				return 2;
			break;
		default:
			return 2;
		}
	}
	size_t n = 0;
	for (int i = optind; i < argc; i++) {
		if (n == MAX_ARGS)
			return usage("too many destinations", argv[i]);
		if (parse_dest(argv[i], &dests[n++]))
			return 2;
	}
	spec.resolvers = resolvers;
	spec.default_ports = &defaults;
	spec.expose = &expose;
	struct fence_plan plan;
	if (fence_plan_build(dests, n, &spec, v6, &plan, &err) < 0) {
		fprintf(stderr, "palisade-nftplan: %s\n", err.msg);
		fence_plan_free(&plan);
		return 1;
	}
	nftplan_print(&plan, stdout);
	fence_plan_free(&plan);
	return 0;
}
