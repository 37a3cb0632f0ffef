// SPDX-License-Identifier: GPL-2.0
/*
 * devmap_walk: GUP-fast over pte_devmap entries (4.16-2025; 4.13-4.15's
 * generic walk took a blind get and a put per page besides): per PTE
 * get_dev_pagemap(pfn, cached), which costs nothing while the pfns stay
 * in the cached pgmap, one xa_load(&pgmap_array) and
 * percpu_ref_tryget_live() per PTE range and one put_dev_pagemap() at
 * its end; a dying pgmap makes the walk undo the
 * pages of its PTE range (gup_fast_undo_dev_pagemap()) and bail.
 */
#include "gup_common.h"

#define S_NAME		devmap_walk
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_DEVMAP)
#define S_DEVMAP_MODE	GUP_DEVMAP_WALK
#include "bias_common.h"

const struct gup_scheme devmap_walk_scheme = {
	.name = "devmap_walk",
	.desc = "ZONE_DEVICE: one cached pgmap ref per PTE table walked (get_dev_pagemap, 4.16+)",
	.symbols = "get_dev_pagemap(), gup_fast_undo_dev_pagemap(), put_dev_pagemap()",
	GUP_TEMPLATE_OPS,
};
