/* The presets. Each is a list of allowlist entries, exactly as a user would
 * write them in a file. Keep every entry justified by its comment, and
 * prefer names (resolved at start, and followed by the DNS filter) to
 * addresses; add published address ranges only where the owner publishes
 * them as stable. */
#include "presets.h"

#include <string.h>

/* Claude Code: the hosts in Anthropic's published network access
 * requirements for Claude Code (API, WebFetch safeguard, telemetry, error
 * reports), the Console used to log in with an API account, and the API's
 * published inbound address ranges. */
static const char *const anthropic[] = {
	"api.anthropic.com",      /* the Claude API */
	"claude.ai",              /* account login, WebFetch safeguard */
	"console.anthropic.com",  /* Console account login */
	"statsig.anthropic.com",  /* telemetry and metrics */
	"sentry.io",              /* error reporting */
	"160.79.104.0/23",        /* Anthropic API, published IPv4 range */
	"2607:6bc0::/48",         /* Anthropic API, published IPv6 range */
	NULL,
};

/* npm packages: the public registry serves metadata and tarballs. */
static const char *const npm[] = {
	"registry.npmjs.org",
	NULL,
};

/* Python packages: the index and the file host behind it. */
static const char *const pypi[] = {
	"pypi.org",
	"files.pythonhosted.org",
	NULL,
};

/* GitHub over HTTPS: web and git, API, archives, raw files and release
 * assets, plus the address ranges GitHub publishes for its web and git
 * services (api.github.com/meta). SSH (port 22) is not included: add
 * "github.com:22" if the agent pushes over SSH. */
static const char *const github[] = {
	"github.com",
	"api.github.com",
	"codeload.github.com",
	"objects.githubusercontent.com",
	"raw.githubusercontent.com",
	"release-assets.githubusercontent.com",
	"uploads.github.com",
	"140.82.112.0/20",
	"143.55.64.0/20",
	"192.30.252.0/22",
	"2a0a:a440::/29",
	"2606:50c0::/32",
	NULL,
};

/* Debian packages through apt: the CDN-backed mirror and security updates. */
static const char *const debian[] = {
	"deb.debian.org",
	"security.debian.org",
	NULL,
};

const struct preset presets[] = {
	{ "anthropic", "Claude Code and the Claude API", anthropic },
	{ "npm", "the npm registry", npm },
	{ "pypi", "the Python Package Index", pypi },
	{ "github", "GitHub over HTTPS (web, git, API, downloads)", github },
	{ "debian", "Debian's package archive (apt)", debian },
};
const size_t presets_count = sizeof(presets) / sizeof(presets[0]);

const struct preset *preset_find(const char *name)
{
	for (size_t i = 0; i < presets_count; i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}
