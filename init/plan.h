/* What palisade will do, for --check, --verbose and the startup summary. */
#ifndef PALISADE_PLAN_H
#define PALISADE_PLAN_H

#include <stdio.h>

#include "../caps/user.h"
#include "config.h"

void plan_print_presets(FILE *out);
void plan_print_config(FILE *out, const struct config *c, const struct agent_user *u);

#endif
