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

static __always_inline struct folio *anonexcl_try_grab_fast(struct page *page,
							    int refs,
							    unsigned int flags)
{
	return try_grab_folio_fast(page, refs, flags);
}

static __always_inline int anonexcl_try_grab_slow(struct folio *folio,
						  int refs, unsigned int flags)
{
	return try_grab_folio_locked(folio, refs, flags);
}

static __always_inline void anonexcl_put_folio(struct folio *folio, int refs,
					       unsigned int flags)
{
	gup_put_folio(folio, refs, flags);
}

static __always_inline bool anonexcl_maybe_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

#include "gup_template.h"

const struct gup_scheme anonexcl_scheme = {
	.name = "anonexcl",
	.desc = "PG_anon_exclusive + write_protect_seq + unshare fallback, over bias",
	.symbols = "PG_anon_exclusive, gup_must_unshare(), FAULT_FLAG_UNSHARE, folio_try_dup_anon_rmap_pte(), folio_try_share_anon_rmap_pte()",
	GUP_TEMPLATE_OPS,
};
