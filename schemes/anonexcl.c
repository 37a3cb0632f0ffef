// SPDX-License-Identifier: GPL-2.0
/*
 * anonexcl: PG_anon_exclusive COW safety (5.19+) over bias accounting:
 * a R/O pin of a possibly shared anon page must unshare first
 * (gup_must_unshare(): smp_rmb + !PageAnonExclusive -> bail, then
 * FAULT_FLAG_UNSHARE), fork uses folio_try_dup_anon_rmap_pte(),
 * migration folio_try_share_anon_rmap_pte(), and the write-fault reuse
 * rule trusts the bit. write_protect_seq as in every pin scheme.
 */
#include "gup_common.h"

#define S_NAME		anonexcl
#define S_FEATURES	(SF_PIN | SF_WP_SEQ | SF_ANON_EXCL)

#include "bias_common.h"

const struct gup_scheme anonexcl_scheme = {
	.name = "anonexcl",
	.desc = "PG_anon_exclusive + write_protect_seq + unshare fallback, over bias",
	.symbols = "PG_anon_exclusive, gup_must_unshare(), FAULT_FLAG_UNSHARE, folio_try_dup_anon_rmap_pte(), folio_try_share_anon_rmap_pte()",
	GUP_TEMPLATE_OPS,
};
