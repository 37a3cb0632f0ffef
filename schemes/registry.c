// SPDX-License-Identifier: GPL-2.0
/*
 * The scheme registry: one line per scheme, as refscale's scale_ops[].
 * Order is the order of --list, the README table and the default sweep.
 */
#include <string.h>

#include "scheme.h"

extern const struct gup_scheme get_scheme, bias_scheme, bias1_scheme,
	pincount_scheme, pincount_sameline_scheme, pagelock_scheme,
	anonexcl_scheme, devmap_perget_scheme, devmap_single_scheme,
	devmap_walk_scheme, empty_scheme;

const struct gup_scheme *const gup_schemes[] = {
	&get_scheme,
	&bias_scheme,
	&bias1_scheme,
	&pincount_scheme,
	&pincount_sameline_scheme,
	&pagelock_scheme,
	&anonexcl_scheme,
	&devmap_perget_scheme,
	&devmap_single_scheme,
	&devmap_walk_scheme,
	&empty_scheme,
};

const unsigned int nr_gup_schemes = ARRAY_SIZE(gup_schemes);

const struct gup_scheme *scheme_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < nr_gup_schemes; i++)
		if (!strcmp(gup_schemes[i]->name, name))
			return gup_schemes[i];
	return NULL;
}
