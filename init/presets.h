/* Built-in presets: named allowlists compiled into the binary. */
#ifndef PALISADE_PRESETS_H
#define PALISADE_PRESETS_H

#include <stddef.h>

struct preset {
	const char *name;
	const char *what;          /* one line: what it is for */
	const char *const *entries; /* NULL-terminated */
};

extern const struct preset presets[];
extern const size_t presets_count;

const struct preset *preset_find(const char *name);

#endif
