// SPDX-License-Identifier: GPL-2.0
/*
 * devmap_single: the single-reference variant (E2) of 71389703839e: each
 * device page holds one pgmap reference for as long as it is alive
 * (taken at devm_memremap_pages(), dropped by the final put_page), pages
 * idle at refcount 1, and GUP takes no pgmap reference at all. The
 * 4.13-5.17 kernels kept this and also took the walk's cached
 * get_dev_pagemap() reference in GUP (devmap_walk's cost); this scheme
 * isolates what page-lifetime references alone cost.
 */
#include "gup_common.h"

#define S_NAME		devmap_single
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_DEVMAP | SF_DEVMAP_PAGEREF)
#define S_DEVMAP_MODE	GUP_DEVMAP_NONE
#include "bias_common.h"

const struct gup_scheme devmap_single_scheme = {
	.name = "devmap_single",
	.desc = "ZONE_DEVICE: one pgmap ref per live page, none in GUP (E2 alone)",
	.symbols = "devm_memremap_pages(), put_dev_pagemap(), 1-based device page refcount",
	GUP_TEMPLATE_OPS,
};
