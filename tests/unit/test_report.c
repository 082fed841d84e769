/* The audit report's file: written and closed, and a failure named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../init/auditreport.h"
#include "../../init/config.h"
#include "../../init/dnsfilter.h"
#include "../../init/policy.h"

static struct dnsfilter *filter(struct config *cfg, struct policy *plan)
{
	memset(cfg, 0, sizeof(*cfg));
	allowlist_init(&cfg->allow);
	struct perr e = PERR_INIT;
	assert_int_equal(allowlist_add(&cfg->allow, "allowed.example", "--allow", &e), 0);
	memset(plan, 0, sizeof(*plan));
	struct dnsfilter *f = dnsfilter_new(cfg, plan, &e);
	if (!f)
		fail_msg("dnsfilter_new: %s", e.msg);
	return f;
}

static void test_written_and_closed(void **state)
{
	(void)state;
	struct config cfg;
	struct policy plan;
	struct dnsfilter *f = filter(&cfg, &plan);
	char path[] = "/tmp/palisade-report-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct perr e = PERR_INIT;
	assert_int_equal(dnsfilter_write_report(f, fd, &e), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
	assert_int_equal(errno, EBADF);
	char buf[512] = { 0 };
	int rfd = open(path, O_RDONLY);
	assert_true(rfd >= 0);
	assert_true(read(rfd, buf, sizeof(buf) - 1) > 0);
	close(rfd);
	unlink(path);
	assert_non_null(strstr(buf, "\nallowed.example\n"));
	dnsfilter_free(f);
	config_free(&cfg);
}

/* A write that fails (a full disk): the error says so, and the descriptor
 * is closed all the same. */
static void test_failed_write_closes(void **state)
{
	(void)state;
	struct config cfg;
	struct policy plan;
	struct dnsfilter *f = filter(&cfg, &plan);
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		skip();
		return;
	}
	struct perr e = PERR_INIT;
	assert_int_equal(dnsfilter_write_report(f, fd, &e), -1);
	assert_string_equal(e.msg, "writing the audit report: No space left on device");
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	dnsfilter_free(f);
	config_free(&cfg);
}

static struct pktlog_event packet(uint8_t proto, const char *dst, uint16_t dport)
{
	struct pktlog_event ev = { .proto = proto, .dport = dport };
	struct perr why = PERR_INIT;
	if (net_parse(dst, false, &ev.dst, &why) < 0)
		fail_msg("%s: %s", dst, why.msg);
	ev.family = (enum net_family)ev.dst.family;
	return ev;
}

/* The line each packet audit mode let through adds: by name or address,
 * with the port unless it is a default one, the opt-in a private
 * destination needs, and only a comment for one no name may bring in. */
static void test_packet_lines(void **state)
{
	(void)state;
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	allowlist_init(&cfg.allow);
	struct perr why = PERR_INIT;
	assert_int_equal(port_list_parse("80,443,443/udp", &cfg.default_ports, &why), 0);
	struct audit_report r;
	audit_report_init(&r);
	struct pktlog_event ev = packet(IPPROTO_TCP, "151.101.1.1", 443);
	audit_report_packet(&r, &cfg, NULL, &ev, "api.example.com");
	audit_report_packet(&r, &cfg, NULL, &ev, "api.example.com"); /* once */
	ev = packet(IPPROTO_TCP, "151.101.1.1", 22);
	audit_report_packet(&r, &cfg, NULL, &ev, "api.example.com");
	ev = packet(IPPROTO_UDP, "2606:4700::1111", 53);
	audit_report_packet(&r, &cfg, NULL, &ev, NULL);
	ev = packet(IPPROTO_ICMP, "151.101.1.2", 0);
	audit_report_packet(&r, &cfg, NULL, &ev, NULL);
	ev = packet(IPPROTO_TCP, "10.1.2.3", 5432);
	audit_report_packet(&r, &cfg, NULL, &ev, "db.corp.example");
	ev = packet(IPPROTO_TCP, "169.254.169.254", 80);
	audit_report_packet(&r, &cfg, NULL, &ev, "meta.example");
	static const char *const want[] = {
		"api.example.com",
		"api.example.com:22",
		"[2606:4700::1111]:53",
		"151.101.1.2:*",
		"private db.corp.example",
		"db.corp.example:5432",
	};
	assert_int_equal(r.n, 7);
	for (size_t i = 0; i < 6; i++)
		if (strcmp(r.v[i], want[i]) != 0)
			fail_msg("line %zu: \"%s\", expected \"%s\"", i, r.v[i], want[i]);
	assert_true(strncmp(r.v[6], "# refused 169.254.169.254 for meta.example: ", 44) == 0);

	/* Opted in, the private destination needs only its entry. */
	struct perr e = PERR_INIT;
	assert_int_equal(allowlist_add(&cfg.allow, "db2.corp.example", "--allow", &e), 0);
	assert_int_equal(allowlist_add_private(&cfg.allow, "db2.corp.example", "test", &e), 0);
	ev = packet(IPPROTO_TCP, "10.1.2.4", 443);
	audit_report_packet(&r, &cfg, NULL, &ev, "db2.corp.example");
	assert_int_equal(r.n, 8);
	assert_string_equal(r.v[7], "db2.corp.example");
	audit_report_free(&r);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_and_closed),
		cmocka_unit_test(test_failed_write_closes),
		cmocka_unit_test(test_packet_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
