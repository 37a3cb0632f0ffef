// SPDX-License-Identifier: GPL-2.0
/*
 * gupbench torture: the schemes' safety under a randomized concurrent
 * mix, in the spirit of rcutorture. A few threads run random operations
 * over a handful of shared pages, small and THP subpages (so they
 * collide all the time): fast
 * and slow pins (read-only and writable), unpins, plain get/put,
 * speculative page-cache refs, maybe_pinned queries, CPU writes (COW
 * faults), fork and child exit, migration, mkclean, zap and re-fault.
 * The model's debug points (mm->debug_hook) inject random short delays
 * inside gup_fast, fork and migration, so rare interleavings are common.
 *
 * Invariants (torture_inv_names): no false negative from maybe_pinned
 * while a pin is held; a pinned page is never migrated, freed or reused;
 * a DMA write through a writable pin is visible through the pinner's own
 * page table after unpin (COW safety); counts never go negative and come
 * back to the baseline; a freed struct page is never touched; the page
 * lock has one holder at a time and never loses a wake-up.
 *
 * Every operation is logged in a per-page ring (the last RING_SIZE
 * operations on that pfn), printed with a violation. Each thread's random
 * choices come from the seed, so a seed replays the same choices; the
 * interleaving is the scheduler's.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gup_common.h"
#include "torture.h"

/* The invariants a run checks; a violation report names one. */
enum torture_inv {
	INV_FALSE_NEGATIVE,	/* maybe_pinned false while a pin is held */
	INV_PINNED_MOVED,	/* a pinned page migrated, freed or reused */
	INV_COW,		/* DMA write lost to the pinner's page table */
	INV_COUNTS,		/* negative or unbalanced counts, WARNs */
	INV_POISON,		/* a freed struct page was touched */
	INV_PAGELOCK,		/* two holders, or a lost wake-up */
	INV_MAX,
};

struct torture_opts {
	const char *schemes;	/* comma list or "all" */
	double duration;	/* seconds per scheme; 0: no limit */
	unsigned long ops;	/* operations per scheme; 0: no limit */
	unsigned int threads;
	uint64_t seed;
	int mutant;		/* GUP_MUT_*; test build only */
	bool verbose;
};

#define T_ANON		0x10000000UL
#define T_ANON_PAGES	8
#define T_SHARED	0x20000000UL
#define T_SHARED_PAGES	4
#define T_DEV		0x30000000UL
#define T_DEV_PAGES	4
#define T_THP		0x40000000UL	/* one PMD-mapped THP (VM_HUGEPAGE) */
#define T_THP_PAGES	8		/* its first subpages in play */
#define T_NR_ADDR	(T_ANON_PAGES + T_SHARED_PAGES + T_DEV_PAGES + \
			 T_THP_PAGES)
#define T_THP_INDEX	(T_ANON_PAGES + T_SHARED_PAGES + T_DEV_PAGES)
/* a fork of a pinned THP splits it and copies all 512 subpages */
#define T_NR_SMALL	(256 + (T_CHILDREN + 1) * HPAGE_PMD_NR)
#define T_NR_THP	4
#define T_MAX_THREADS	16	/* one DMA nibble of page->private each */
#define T_MAX_HELD	4
#define T_MAX_NR	3	/* pages per gup call */
#define T_CHILDREN	3
#define T_WB_MAX	8	/* writebacks in flight at most */
#define RING_SIZE	16
#define STALL_S		10	/* no progress this long is a violation */
#define COLL_HOLD_US	200	/* see hold_collapse_window() */

static const char *const torture_inv_names[INV_MAX] = {
	[INV_FALSE_NEGATIVE] = "no-false-negative",
	[INV_PINNED_MOVED] = "pinned-page-stays",
	[INV_COW] = "cow-safety",
	[INV_COUNTS] = "counts",
	[INV_POISON] = "freed-page-untouched",
	[INV_PAGELOCK] = "pagelock",
};

static const char *const inv_desc[INV_MAX] = {
	[INV_FALSE_NEGATIVE] = "while a pin is held, maybe_pinned is true",
	[INV_PINNED_MOVED] = "a pinned page is never migrated, freed or reused",
	[INV_COW] = "a DMA write through a pin is visible through the "
		    "pinner's page table after unpin",
	[INV_COUNTS] = "counts never go negative and return to the baseline",
	[INV_POISON] = "a freed struct page is never touched",
	[INV_PAGELOCK] = "one page-lock holder at a time, no lost wake-up",
};

enum top {
	OP_PIN_FAST, OP_PIN_SLOW, OP_GET, OP_UNPIN, OP_DMA, OP_SPEC,
	OP_QUERY, OP_CPU_WRITE, OP_FORK, OP_CHILD, OP_MIGRATE, OP_MKCLEAN,
	OP_ZAP, OP_COLLAPSE, OP_MAX,
	/* ring-only records */
	RL_COW = OP_MAX, RL_MIGRATED, RL_CHILD_COW, RL_LOCK, RL_ALLOC,
	RL_FREE, RL_COLLAPSED, RL_MAX,
};

static const char *const op_names[RL_MAX] = {
	"pin_fast", "pin_slow", "get", "unpin", "dma", "spec_get", "query",
	"cpu_write", "fork", "child", "migrate", "mkclean", "zap", "collapse",
	"cow", "migrated", "child_cow", "lock_bad", "alloc", "free",
	"collapsed",
};

/* Relative weights of the operations in the mix. */
static const unsigned int op_weight[OP_MAX] = {
	[OP_PIN_FAST] = 20, [OP_PIN_SLOW] = 6, [OP_GET] = 6, [OP_UNPIN] = 22,
	[OP_DMA] = 10, [OP_SPEC] = 6, [OP_QUERY] = 3, [OP_CPU_WRITE] = 10,
	[OP_FORK] = 3, [OP_CHILD] = 3, [OP_MIGRATE] = 8, [OP_MKCLEAN] = 3,
	[OP_ZAP] = 2, [OP_COLLAPSE] = 2,
};

struct ring_ent {
	unsigned long seq;	/* 0: empty */
	unsigned long addr;
	unsigned long arg;
	unsigned int thread;
	unsigned int op;
	long res;
};

struct ring {
	unsigned long head;
	struct ring_ent e[RING_SIZE];
};

/* One pin or get a thread holds. */
struct held {
	unsigned long addr;
	unsigned int flags;
	int nr;
	bool pin;		/* a FOLL_PIN of a scheme with pins */
	bool check;		/* identity and DMA checks apply */
	unsigned long seq;	/* ring sequence before the gup call */
	unsigned long gen[T_MAX_NR];
	struct page *pages[T_MAX_NR];
};

struct torture;

struct tthread {
	struct torture *t;
	unsigned int id;
	pthread_t thr;
	uint64_t rng;		/* the choices: replayed by the seed */
	uint64_t drng;		/* the injected delays */
	struct held held[T_MAX_HELD];
	unsigned int nheld;
	unsigned char nib[T_NR_ADDR];	/* last DMA nibble per address */
	struct gup_stats st;
	unsigned long ops;
	unsigned long opcount[OP_MAX];
	unsigned long mig_src;	/* pfn of our migration's source */
	unsigned long *coll_pfn; /* our collapse's old pfns, or NULL */
};

struct child {
	pthread_mutex_t lock;
	struct mm_struct *mm;
};

struct violation {
	int inv;
	unsigned int thread;
	unsigned long pfn, pfn2;
	unsigned long addr;
	char msg[320];
};

struct torture {
	const struct gup_scheme *s;
	const struct torture_opts *o;
	unsigned int nthreads;
	struct mm_struct *mm;
	unsigned long gen[T_NR_ADDR];	/* zap generation: odd while zapping */
	int zapping[T_NR_ADDR];		/* one zap per address at a time */
	struct ring *rings;		/* max_pfn of them */
	long *lock_owner;
	struct child child[T_CHILDREN];
	int stop;
	unsigned long seq;
	unsigned int done;		/* threads that finished */
	int coll_open;			/* a collapse has not isolated yet */
	pthread_mutex_t vlock;
	long nviol;
	struct violation v;
	struct tthread th[T_MAX_THREADS];
	/* writebacks in flight, ended by wb_thread() as an interrupt would */
	pthread_mutex_t wb_lock;
	struct folio *wb[T_WB_MAX];
	unsigned int nwb;
	int wb_stop;
	pthread_t wb_thr;
};

static struct torture *cur;
static __thread struct tthread *self;

/* ---- randomness ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct tthread *me)
{
	return splitmix64(&me->rng);
}

/* A random short delay, as rcutorture's: mostly nothing, often a spin. */
static void torture_delay(struct tthread *me)
{
	uint64_t r = splitmix64(&me->drng);
	unsigned int i, n;

	switch (r & 63) {
	case 0 ... 19:
		n = (r >> 8) & 511;
		for (i = 0; i < n; i++)
			cpu_relax();
		break;
	case 20 ... 22:
		sched_yield();
		break;
	case 23:
		if (((r >> 8) & 15) == 0)
			usleep(1 + (r >> 16) % 50);
		break;
	default:
		break;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool stopped(struct torture *t)
{
	return __atomic_load_n(&t->stop, __ATOMIC_RELAXED);
}

/* ---- the per-page ring log ---- */

static unsigned long ring_log(struct torture *t, unsigned long pfn,
			      unsigned int thread, unsigned int op,
			      unsigned long addr, long res, unsigned long arg)
{
	unsigned long seq = __atomic_add_fetch(&t->seq, 1, __ATOMIC_RELAXED);
	struct ring *r;
	struct ring_ent *e;

	if (pfn == 0 || pfn >= max_pfn)
		return seq;
	r = &t->rings[pfn];
	e = &r->e[__atomic_fetch_add(&r->head, 1, __ATOMIC_RELAXED) %
		  RING_SIZE];
	__atomic_store_n(&e->seq, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->addr, addr, __ATOMIC_RELAXED);
	__atomic_store_n(&e->arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&e->thread, thread, __ATOMIC_RELAXED);
	__atomic_store_n(&e->op, op, __ATOMIC_RELAXED);
	__atomic_store_n(&e->res, res, __ATOMIC_RELAXED);
	__atomic_store_n(&e->seq, seq, __ATOMIC_RELEASE);
	return seq;
}

/*
 * Did @pfn's ring record @op (a successful migration or collapse away)
 * after @since?
 */
static bool ring_op_since(struct torture *t, unsigned long pfn,
			  unsigned long since, unsigned int op)
{
	struct ring *r = &t->rings[pfn];
	int i;

	for (i = 0; i < RING_SIZE; i++) {
		struct ring_ent *e = &r->e[i];

		if (__atomic_load_n(&e->seq, __ATOMIC_ACQUIRE) > since &&
		    __atomic_load_n(&e->op, __ATOMIC_RELAXED) == op)
			return true;
	}
	return false;
}

static int ring_cmp(const void *a, const void *b)
{
	const struct ring_ent *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void ring_print(struct torture *t, unsigned long pfn, FILE *f)
{
	struct ring_ent e[RING_SIZE];
	int i, n = 0;

	if (pfn == 0 || pfn >= max_pfn)
		return;
	for (i = 0; i < RING_SIZE; i++)
		if (t->rings[pfn].e[i].seq)
			e[n++] = t->rings[pfn].e[i];
	qsort(e, n, sizeof(e[0]), ring_cmp);
	fprintf(f, "  last %d operations on pfn %lu (oldest first):\n", n, pfn);
	for (i = 0; i < n; i++) {
		char who[16] = "T- ";	/* not a torture thread: set-up */

		if (e[i].thread != ~0U)
			snprintf(who, sizeof(who), "T%-2u", e[i].thread);
		fprintf(f, "    #%-8lu %s %-10s addr %#lx res %ld arg %#lx\n",
			e[i].seq, who, op_names[e[i].op], e[i].addr,
			e[i].res, e[i].arg);
	}
}

/* ---- violations ---- */

static void __attribute__((format(printf, 6, 7)))
violation(struct torture *t, int inv, unsigned long pfn, unsigned long pfn2,
	  unsigned long addr, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->vlock);
	if (__atomic_fetch_add(&t->nviol, 1, __ATOMIC_RELAXED) == 0) {
		t->v.inv = inv;
		t->v.thread = self ? self->id : ~0U;
		t->v.pfn = pfn;
		t->v.pfn2 = pfn2;
		t->v.addr = addr;
		va_start(ap, fmt);
		vsnprintf(t->v.msg, sizeof(t->v.msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&t->vlock);
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
}

/* mem_page_hook: allocations and frees go into the page's ring. */
static void page_hook(struct page *page, bool alloc)
{
	ring_log(cur, page_to_pfn(page), self ? self->id : ~0U,
		 alloc ? RL_ALLOC : RL_FREE, 0, atomic_read(&page->_refcount),
		 READ_ONCE(page->flags));
	if (!alloc && atomic_read(&page->_mapcount) != -1)
		violation(cur, INV_COUNTS, page_to_pfn(page), 0, 0,
			  "pfn %lu freed while still mapped (mapcount %d)",
			  page_to_pfn(page),
			  atomic_read(&page->_mapcount) + 1);
}

static void lock_violation(struct folio *folio, long owner, bool lock)
{
	struct torture *t = cur;
	unsigned long pfn = page_to_pfn(&folio->page);

	ring_log(t, pfn, self ? self->id : ~0U, RL_LOCK, 0, lock, 0);
	violation(t, INV_PAGELOCK, pfn, 0, 0, lock ?
		  "page lock of pfn %lu taken while another thread holds it" :
		  "page lock of pfn %lu released by a thread that does not "
		  "hold it", pfn);
}

/* ---- addresses ---- */

static bool has_dev(const struct torture *t)
{
	return t->s->features & SF_DEVMAP;
}

static unsigned int addr_index(unsigned long addr)
{
	if (addr >= T_THP)
		return T_THP_INDEX + (addr - T_THP) / PAGE_SIZE;
	if (addr >= T_DEV)
		return T_ANON_PAGES + T_SHARED_PAGES + (addr - T_DEV) / PAGE_SIZE;
	if (addr >= T_SHARED)
		return T_ANON_PAGES + (addr - T_SHARED) / PAGE_SIZE;
	return (addr - T_ANON) / PAGE_SIZE;
}

/* A random start address and a page count that stays in its VMA. */
static unsigned long pick_range(struct torture *t, uint64_t r, int *nr)
{
	unsigned long base = T_ANON;
	unsigned int pages = T_ANON_PAGES, first;

	switch (r % 8) {
	case 4:
		base = T_THP;
		pages = T_THP_PAGES;
		break;
	case 5:
	case 6:
		base = T_SHARED;
		pages = T_SHARED_PAGES;
		break;
	case 7:
		if (has_dev(t)) {
			base = T_DEV;
			pages = T_DEV_PAGES;
		}
		break;
	}
	first = (r >> 3) % pages;
	*nr = 1 + (int)((r >> 8) % T_MAX_NR);
	if (first + *nr > pages)
		*nr = pages - first;
	return base + first * PAGE_SIZE;
}

/* A private anon address: a small page, or one in four a THP's subpage. */
static unsigned long pick_anon(uint64_t r)
{
	if ((r >> 20) % 4 == 0)
		return T_THP + (r % T_THP_PAGES) * PAGE_SIZE;
	return T_ANON + (r % T_ANON_PAGES) * PAGE_SIZE;
}

static unsigned long gen_read(struct torture *t, unsigned long addr)
{
	return __atomic_load_n(&t->gen[addr_index(addr)], __ATOMIC_ACQUIRE);
}

/* ---- page-table accesses as the process makes them ---- */

/*
 * The entry that maps @addr, a PTE or a THP's PMD, locked with the PT
 * lock of the table that holds it; NULL if there is none. *leaf says
 * which; *page is the page it maps at @addr (or is a migration entry
 * for), NULL if none. The walk is lockless (inside an irq-off section,
 * so no table goes away under it). Finding nothing, a CPU access would
 * fault, and the fault takes mmap_lock, which waits out a collapse that
 * has the PMD cleared: look again under it, unless the caller holds it.
 */
static pte_t *pt_lock_entry_lockless(struct mm_struct *mm, unsigned long addr,
				     spinlock_t **ptl, pte_t *pte,
				     struct page **page)
{
	unsigned long irqflags;
	pte_t *ep;

	local_irq_save(irqflags);
	for (;;) {
		bool leaf;

		*page = NULL;
		ep = mm_find_entry(mm, addr, &leaf);
		if (!ep)
			break;
		*ptl = pmd_lockptr((pmd_t *)ep);	/* its table's lock */
		spin_lock(*ptl);
		*pte = ptep_get(ep);
		if (leaf && !pmd_leaf(__pmd(pte_val(*pte)))) {
			spin_unlock(*ptl);	/* zapped meanwhile: again */
			continue;
		}
		if (pte_present(*pte) || (!leaf && is_migration_entry(*pte)))
			*page = entry_page(*pte, leaf, addr);
		break;
	}
	local_irq_restore(irqflags);
	return ep;
}

static pte_t *pt_lock_entry(struct mm_struct *mm, unsigned long addr,
			    bool mmap_locked, spinlock_t **ptl, pte_t *pte,
			    struct page **page)
{
	pte_t *ep = pt_lock_entry_lockless(mm, addr, ptl, pte, page);

	if (ep || mmap_locked)
		return ep;
	mmap_read_lock(mm);
	ep = pt_lock_entry_lockless(mm, addr, ptl, pte, page);
	mmap_read_unlock(mm);
	return ep;
}

/*
 * The page @addr maps now, read under the PT lock; a migration entry is
 * waited for. Returns the page (no reference) and its ->private.
 */
static struct page *pt_read(struct mm_struct *mm, unsigned long addr,
			    unsigned long *val)
{
	for (;;) {
		spinlock_t *ptl;
		struct page *page;
		pte_t pte;

		if (!pt_lock_entry(mm, addr, false, &ptl, &pte, &page))
			return NULL;
		if (is_migration_entry(pte)) {
			migration_entry_wait_on_locked(page_folio(page), ptl);
			continue;
		}
		if (page)
			*val = READ_ONCE(page->private);
		spin_unlock(ptl);
		return page;
	}
}

/*
 * A CPU store to @addr: fault it in for write (COW, unshare of a shared
 * page, migration wait). Returns the pfn written and in *old the pfn
 * mapped before, if any.
 */
static unsigned long pt_write(struct mm_struct *mm, unsigned long addr,
			      struct gup_stats *st, unsigned long *old)
{
	unsigned long done = 0;
	int tries;

	*old = 0;
	mmap_read_lock(mm);
	for (tries = 0; tries < 16 && !done; tries++) {
		spinlock_t *ptl;
		struct page *page;
		pte_t pte;

		if (pt_lock_entry(mm, addr, true, &ptl, &pte, &page)) {
			if (pte_present(pte)) {
				if (!*old)
					*old = page_to_pfn(page);
				/*
				 * the store dirties the PTE, not the folio;
				 * the model's writable PTEs are dirty already
				 */
				if (pte_write(pte))
					done = page_to_pfn(page);
			}
			spin_unlock(ptl);
			if (done)
				break;
		}
		if (handle_mm_fault(mm, addr, FAULT_FLAG_WRITE, st) == -EFAULT)
			break;
	}
	mmap_read_unlock(mm);
	return done;
}

/*
 * The page the PTE at @addr maps or is a migration entry for, under the
 * PT lock (a lockless read can see the none PTE that migration and
 * mkclean leave for a moment between clear and set).
 */
static struct page *pt_peek(struct mm_struct *mm, unsigned long addr)
{
	spinlock_t *ptl;
	struct page *page;
	pte_t pte;

	if (!pt_lock_entry(mm, addr, false, &ptl, &pte, &page))
		return NULL;
	spin_unlock(ptl);
	return page;
}

/* ---- the debug hook: delays, and migration's source pfn ---- */

/*
 * A GUP-fast walker that has read a PTE of the THP range while a collapse
 * is under way waits, at most COLL_HOLD_US, until the collapse has
 * isolated its pages, so that it grabs the page after the reference
 * check: the window of 70cbc3cc78a9, which the PMD recheck and
 * tlb_remove_table_sync_one() each close. (With the sync, the collapse
 * waits for this walker instead, and the walker goes on at the timeout.)
 */
static void hold_collapse_window(struct torture *t)
{
	double until = 0;

	while (__atomic_load_n(&t->coll_open, __ATOMIC_ACQUIRE)) {
		if (!until)
			until = now_s() + COLL_HOLD_US / 1e6;
		else if (now_s() > until)
			break;
		sched_yield();
	}
}

static void torture_hook(struct mm_struct *mm, enum gup_debug_point dp,
			 unsigned long addr, void *arg)
{
	struct tthread *me = self;

	if (!me)
		return;
	if (dp == GUP_DP_MIGRATE_UNMAPPED) {
		struct page *page = pt_peek(mm, addr);

		me->mig_src = page ? page_to_pfn(page) : 0;
	}
	/*
	 * The move is decided: log it now, before the new PTE can be seen,
	 * so a check that finds the new page also finds this record.
	 */
	if (dp == GUP_DP_MIGRATE_CHECKED && me->mig_src)
		ring_log(me->t, me->mig_src, me->id, RL_MIGRATED, addr, 0, 0);
	/* likewise the pages in play that a collapse is about to replace */
	if (dp == GUP_DP_COLLAPSE_COPIED) {
		unsigned int i;

		for (i = 0; me->coll_pfn && i < T_THP_PAGES; i++)
			if (me->coll_pfn[i])
				ring_log(me->t, me->coll_pfn[i], me->id,
					 RL_COLLAPSED, addr + i * PAGE_SIZE, 0,
					 0);
		__atomic_store_n(&me->t->coll_open, 0, __ATOMIC_RELEASE);
	}
	torture_delay(me);
	if (dp == GUP_DP_COLLAPSE_COPIED)
		sched_yield();	/* the isolated pages' PTEs are still up */
	if (dp == GUP_DP_FAST_AFTER_READ && addr >= T_THP &&
	    addr < T_THP + PMD_SIZE)
		hold_collapse_window(me->t);
}

/* ---- checks on what a thread holds ---- */

static unsigned int nib_get(unsigned long v, unsigned int id)
{
	return (v >> (4 * id)) & 0xf;
}

/* The emulated device writes a new value into our nibble of @page. */
static unsigned int dma_write(struct page *page, unsigned int id)
{
	unsigned long old = READ_ONCE(page->private), new;
	unsigned int n;

	do {
		n = nib_get(old, id) % 15 + 1;
		new = (old & ~(0xfUL << (4 * id))) | ((unsigned long)n << (4 * id));
	} while (!__atomic_compare_exchange_n(&page->private, &old, new, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return n;
}

/*
 * A pinned page no longer where it was pinned: say why, from the ring
 * and the page's state.
 */
static void report_moved(struct tthread *me, struct held *h, int i,
			 struct page *now, const char *when)
{
	struct torture *t = me->t;
	struct page *p = h->pages[i];
	unsigned long pfn = page_to_pfn(p), addr = h->addr + i * PAGE_SIZE;
	/* a THP's owner and index are on its head */
	struct folio *folio = page_folio(p);
	unsigned long index = folio->page.index + (p - &folio->page);
	const char *why;
	int inv = INV_PINNED_MOVED;

	if (page_is_poisoned(p)) {
		why = "it was freed";
	} else if (ring_op_since(t, pfn, h->seq, RL_MIGRATED)) {
		why = "it was migrated";
	} else if (ring_op_since(t, pfn, h->seq, RL_COLLAPSED)) {
		why = "it was collapsed into a new THP";
	} else if (READ_ONCE(folio->page.mapping) != (void *)t->mm ||
		   index != addr >> PAGE_SHIFT) {
		why = "it belongs to another mapping (reused)";
	} else {
		/*
		 * Still ours, not migrated, not freed, no zap: the process's
		 * PTE was replaced by a copy (a COW fault after fork shared
		 * the page): the device now writes where the process never
		 * looks.
		 */
		inv = INV_COW;
		why = "the process's PTE was COW-broken to a copy, the pin "
		      "stays on the old page";
	}
	violation(t, inv, pfn, now ? page_to_pfn(now) : 0, addr,
		  "%s pin of pfn %lu at %#lx, checked %s: %s; the PTE maps "
		  "pfn %lu", (h->flags & FOLL_WRITE) ? "writable" : "read-only",
		  pfn, addr, when, why, now ? page_to_pfn(now) : 0);
}

static bool check_held_page(struct tthread *me, struct held *h, int i,
			    const char *when)
{
	struct torture *t = me->t;
	struct page *p = h->pages[i];
	struct folio *folio = page_folio(p);
	unsigned long pfn = page_to_pfn(p), addr = h->addr + i * PAGE_SIZE;
	struct page *now;

	if (page_is_poisoned(p)) {
		report_moved(me, h, i, pt_peek(t->mm, addr), when);
		return false;
	}
	if (folio_ref_count(folio) <= 0) {
		violation(t, INV_COUNTS, pfn, 0, addr,
			  "%s: refcount %d on pfn %lu while we hold a reference",
			  when, folio_ref_count(folio), pfn);
		return false;
	}
	if (!h->pin)
		return true;
	/* any pin, read-only too, must read as maybe pinned */
	if (!t->s->maybe_pinned(folio)) {
		violation(t, INV_FALSE_NEGATIVE, pfn, 0, addr,
			  "%s: maybe_pinned(pfn %lu) is false while this thread "
			  "holds a %s pin on it (refcount %d)", when, pfn,
			  (h->flags & FOLL_WRITE) ? "writable" : "read-only",
			  folio_ref_count(folio));
		return false;
	}
	if (!h->check)
		return true;
	/* No zap since the pin: the address must still map this page. */
	if (gen_read(t, addr) == h->gen[i] && !(h->gen[i] & 1)) {
		now = pt_peek(t->mm, addr);
		if (now != p && gen_read(t, addr) == h->gen[i]) {
			report_moved(me, h, i, now, when);
			return false;
		}
	}
	return true;
}

/* ---- operations ---- */

static void op_pin(struct tthread *me, uint64_t r, uint64_t r2, int op)
{
	struct torture *t = me->t;
	struct held *h;
	unsigned int flags;
	long got, i;
	int nr;

	if (me->nheld == T_MAX_HELD)
		return;
	h = &me->held[me->nheld];
	h->addr = pick_range(t, r, &nr);
	if (op == OP_GET)
		flags = FOLL_GET | ((r2 & 1) ? FOLL_WRITE : 0);
	else
		flags = FOLL_PIN | ((r2 & 3) ? FOLL_WRITE : 0);
	h->flags = flags;
	h->pin = (flags & FOLL_PIN) && (t->s->features & SF_PIN);
	h->check = h->pin &&
		   ((flags & FOLL_WRITE) || (t->s->features & SF_ANON_EXCL));
	for (i = 0; i < nr; i++)
		h->gen[i] = gen_read(t, h->addr + i * PAGE_SIZE);
	h->seq = __atomic_load_n(&t->seq, __ATOMIC_RELAXED);
	if (op == OP_PIN_SLOW)
		got = t->s->gup(t->mm, h->addr, nr, flags, h->pages, &me->st);
	else
		got = t->s->gup_fast(t->mm, h->addr, nr, flags, h->pages,
				     &me->st);
	if (got <= 0)
		return;
	h->nr = (int)got;
	for (i = 0; i < got; i++)
		ring_log(t, page_to_pfn(h->pages[i]), me->id, op,
			 h->addr + i * PAGE_SIZE, flags,
			 folio_ref_count(page_folio(h->pages[i])));
	me->nheld++;
	torture_delay(me);
	for (i = 0; i < got; i++)
		if (!check_held_page(me, h, (int)i, "after the pin"))
			return;
}

/* The device writes through every page of a writable pin. */
static void held_dma(struct tthread *me, struct held *h)
{
	int i;

	if (!h->check || !(h->flags & FOLL_WRITE))
		return;
	for (i = 0; i < h->nr; i++) {
		unsigned long addr = h->addr + i * PAGE_SIZE;

		me->nib[addr_index(addr)] = dma_write(h->pages[i], me->id);
		ring_log(me->t, page_to_pfn(h->pages[i]), me->id, OP_DMA, addr,
			 me->nib[addr_index(addr)], 0);
	}
}

static void op_dma(struct tthread *me, uint64_t r)
{
	struct held *h;
	int i;

	if (!me->nheld)
		return;
	h = &me->held[r % me->nheld];
	for (i = 0; i < h->nr; i++)
		if (!check_held_page(me, h, i, "while held"))
			return;
	held_dma(me, h);
}

/*
 * Unpin, then read what the process sees through its own page table:
 * our last DMA write must be there (unless the range was zapped).
 */
static void release_held(struct tthread *me, unsigned int idx)
{
	struct torture *t = me->t;
	struct held h = me->held[idx];
	unsigned int want[T_MAX_NR];
	int i;

	me->held[idx] = me->held[--me->nheld];
	for (i = 0; i < h.nr; i++)
		if (!check_held_page(me, &h, i, "before unpin"))
			break;
	held_dma(me, &h);
	for (i = 0; i < h.nr; i++) {
		want[i] = me->nib[addr_index(h.addr + i * PAGE_SIZE)];
		ring_log(t, page_to_pfn(h.pages[i]), me->id, OP_UNPIN,
			 h.addr + i * PAGE_SIZE, h.flags,
			 folio_ref_count(page_folio(h.pages[i])));
	}
	/* write pins: half by unpin_user_pages_dirty_lock() (folio locks) */
	if ((h.flags & FOLL_WRITE) && (rnd(me) & 1))
		t->s->release_pages_dirty(h.pages, h.nr, h.flags);
	else
		t->s->release_pages(h.pages, h.nr, h.flags);
	if (!h.check || !(h.flags & FOLL_WRITE))
		return;
	torture_delay(me);
	for (i = 0; i < h.nr; i++) {
		unsigned long addr = h.addr + i * PAGE_SIZE, val = 0;
		unsigned long pfn = page_to_pfn(h.pages[i]);
		struct page *now;
		bool migrated;

		if (gen_read(t, addr) != h.gen[i] || (h.gen[i] & 1))
			continue;
		now = pt_read(t->mm, addr, &val);
		if (gen_read(t, addr) != h.gen[i] || !now)
			continue;
		if (nib_get(val, me->id) == want[i])
			continue;
		migrated = ring_op_since(t, pfn, h.seq, RL_MIGRATED);
		if (migrated || ring_op_since(t, pfn, h.seq, RL_COLLAPSED))
			violation(t, INV_PINNED_MOVED, pfn, page_to_pfn(now),
				  addr, "writable pin of pfn %lu at %#lx: the "
				  "page was %s while pinned; DMA value %u "
				  "lost, the PTE maps pfn %lu with %u", pfn,
				  addr, migrated ? "migrated" :
				  "collapsed into a new THP", want[i],
				  page_to_pfn(now), nib_get(val, me->id));
		else
			violation(t, INV_COW, pfn, page_to_pfn(now), addr,
				  "writable pin of pfn %lu at %#lx: after unpin "
				  "the page table maps pfn %lu, whose value %u "
				  "is not the %u the device wrote", pfn, addr,
				  page_to_pfn(now), nib_get(val, me->id),
				  want[i]);
		return;
	}
}

static void op_unpin(struct tthread *me, uint64_t r)
{
	if (me->nheld)
		release_held(me, r % me->nheld);
}

static void op_spec(struct tthread *me, uint64_t r)
{
	struct torture *t = me->t;
	unsigned long addr = pick_anon(r);
	struct folio *folio = spec_get_folio(t->mm, addr);

	if (!folio)
		return;
	ring_log(t, page_to_pfn(&folio->page), me->id, OP_SPEC, addr,
		 folio_ref_count(folio), 0);
	if (folio_ref_count(folio) <= 0)
		violation(t, INV_COUNTS, page_to_pfn(&folio->page), 0, addr,
			  "speculative get holds pfn %lu with refcount %d",
			  page_to_pfn(&folio->page), folio_ref_count(folio));
	torture_delay(me);
	folio_put(folio);
}

static void op_query(struct tthread *me, uint64_t r)
{
	struct torture *t = me->t;
	int nr;
	unsigned long addr = pick_range(t, r, &nr);
	struct page *page = mm_lookup_page(t->mm, addr, NULL);

	if (page)
		ring_log(t, page_to_pfn(page), me->id, OP_QUERY, addr,
			 t->s->maybe_pinned(page_folio(page)), 0);
}

static void op_cpu_write(struct tthread *me, struct mm_struct *mm,
			 unsigned long addr, int op)
{
	struct torture *t = me->t;
	unsigned long old, now = pt_write(mm, addr, &me->st, &old);

	ring_log(t, now, me->id, op, addr, 0, old);
	if (old && now && old != now)
		ring_log(t, old, me->id, op == OP_CPU_WRITE ? RL_COW :
			 RL_CHILD_COW, addr, 0, now);
}

static void op_fork(struct tthread *me, uint64_t r)
{
	struct torture *t = me->t;
	struct child *c = &t->child[r % T_CHILDREN];
	unsigned long addr;

	if (pthread_mutex_trylock(&c->lock))
		return;
	if (!c->mm) {
		c->mm = mm_fork(t->mm, NULL, NULL);
		if (c->mm) {
			c->mm->debug_arg = t;
			WRITE_ONCE(c->mm->debug_hook, torture_hook);
			for (addr = T_ANON; addr < T_ANON + T_ANON_PAGES *
			     PAGE_SIZE; addr += PAGE_SIZE) {
				struct page *p = mm_lookup_page(t->mm, addr,
								NULL);

				if (p)
					ring_log(t, page_to_pfn(p), me->id,
						 OP_FORK, addr, r % T_CHILDREN,
						 0);
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static void op_child(struct tthread *me, uint64_t r, uint64_t r2)
{
	struct child *c = &me->t->child[r % T_CHILDREN];

	if (pthread_mutex_trylock(&c->lock))
		return;
	if (c->mm) {
		if (r2 & 1)
			op_cpu_write(me, c->mm, pick_anon(r2 >> 1), OP_CHILD);
		else {
			mm_free(c->mm);		/* the child exits */
			c->mm = NULL;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static void op_migrate(struct tthread *me, uint64_t r)
{
	struct torture *t = me->t;
	unsigned long addr = pick_anon(r);
	struct page *dst;
	int rc;

	me->mig_src = 0;
	rc = mm_migrate_page(t->mm, addr);
	if (!me->mig_src)
		return;
	dst = rc == 0 ? mm_lookup_page(t->mm, addr, NULL) : NULL;
	ring_log(t, me->mig_src, me->id, OP_MIGRATE, addr, rc,
		 dst ? page_to_pfn(dst) : 0);
}

/*
 * Writeback of a shared page, its I/O left in flight for wb_thread() to
 * end (at once if T_WB_MAX are in flight): meanwhile pagelock's GUP-fast
 * backs off from the folio, its slow path sleeps on PG_writeback, and
 * with stable pages so does a write fault.
 */
static void op_mkclean(struct tthread *me, uint64_t r)
{
	struct torture *t = me->t;
	unsigned long addr = T_SHARED + (r % T_SHARED_PAGES) * PAGE_SIZE;
	struct page *p = mm_lookup_page(t->mm, addr, NULL);
	struct folio *folio = NULL;
	int rc = mm_writeback_start(t->mm, addr, &folio, NULL, NULL);

	if (p)
		ring_log(t, page_to_pfn(p), me->id, OP_MKCLEAN, addr, rc, 0);
	if (rc < 0 || !folio)	/* !folio: a device page, no I/O */
		return;
	pthread_mutex_lock(&t->wb_lock);
	if (t->nwb < T_WB_MAX) {
		t->wb[t->nwb++] = folio;
		folio = NULL;
	}
	pthread_mutex_unlock(&t->wb_lock);
	if (folio)
		folio_end_writeback(folio);
}

/*
 * The I/O completions: end a random writeback in flight (I/O completes
 * in any order), after a random delay; once the torture threads are done
 * (wb_stop), end the rest and return.
 */
static void *wb_thread(void *arg)
{
	struct torture *t = arg;
	uint64_t x = t->o->seed ^ 0x5bd1e9955bd1e995ULL;
	unsigned int i, n;

	gup_thread_register();
	for (;;) {
		bool stop = __atomic_load_n(&t->wb_stop, __ATOMIC_ACQUIRE);
		uint64_t r = splitmix64(&x);
		struct folio *folio = NULL;

		pthread_mutex_lock(&t->wb_lock);
		if (t->nwb) {
			i = r % t->nwb;
			folio = t->wb[i];
			t->wb[i] = t->wb[--t->nwb];
		}
		pthread_mutex_unlock(&t->wb_lock);
		if (folio) {
			folio_end_writeback(folio);
			if (stop)
				continue;
		} else if (stop) {
			break;
		}
		switch ((r >> 8) & 3) {
		case 0:
			sched_yield();
			break;
		case 1:
			usleep(1 + (r >> 16) % 50);
			break;
		default:
			for (n = (r >> 16) & 1023; n; n--)
				cpu_relax();
		}
	}
	vmstat_flush_thread();
	return NULL;
}

/* MADV_DONTNEED of one anon page; the next touch faults a new one in. */
static void op_zap(struct tthread *me, uint64_t r)
{
	struct torture *t = me->t;
	unsigned long addr = pick_anon(r);
	/* a THP subpage: the PMD is split and only this PTE goes */
	unsigned int first = addr_index(addr);
	int *busy = &t->zapping[first];
	struct page *p;

	/* overlapping zaps would make gen even while one still runs */
	if (__atomic_exchange_n(busy, 1, __ATOMIC_ACQUIRE))
		return;
	p = mm_lookup_page(t->mm, addr, NULL);
	__atomic_add_fetch(&t->gen[first], 1, __ATOMIC_SEQ_CST);
	if (p)
		ring_log(t, page_to_pfn(p), me->id, OP_ZAP, addr, 0, 0);
	mm_zap_range(t->mm, addr, PAGE_SIZE);
	__atomic_add_fetch(&t->gen[first], 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(busy, 0, __ATOMIC_RELEASE);
}

/*
 * MADV_COLLAPSE of the THP range: succeeds only when no page in it is
 * pinned, referenced or locked, so a page some thread holds never moves;
 * the old pages in play are logged (RL_COLLAPSED) before the new PMD can
 * be seen.
 */
static void op_collapse(struct tthread *me)
{
	struct torture *t = me->t;
	unsigned long old[HPAGE_PMD_NR];
	struct page *p;
	int rc;

	memset(old, 0, sizeof(old));
	me->coll_pfn = old;
	__atomic_store_n(&t->coll_open, 1, __ATOMIC_RELEASE);
	usleep(COLL_HOLD_US / 4);	/* let walkers of the range arrive */
	rc = mm_collapse_huge_page(t->mm, T_THP, old);
	__atomic_store_n(&t->coll_open, 0, __ATOMIC_RELEASE);
	me->coll_pfn = NULL;
	p = mm_lookup_page(t->mm, T_THP, NULL);
	if (p)
		ring_log(t, page_to_pfn(p), me->id, OP_COLLAPSE, T_THP, rc,
			 old[0]);
}

static int pick_op(uint64_t r)
{
	unsigned int total = 0, i, x;

	for (i = 0; i < OP_MAX; i++)
		total += op_weight[i];
	x = r % total;
	for (i = 0; i < OP_MAX; i++) {
		if (x < op_weight[i])
			return (int)i;
		x -= op_weight[i];
	}
	return OP_QUERY;
}

static void *torture_thread(void *arg)
{
	struct tthread *me = arg;
	struct torture *t = me->t;
	/* each thread its share: the same seed makes the same choices */
	unsigned long budget = t->o->ops ? (t->o->ops + t->nthreads - 1) /
					   t->nthreads : 0;

	self = me;
	gup_thread_register();
	while (!stopped(t) && !(budget && me->ops >= budget)) {
		uint64_t r0 = rnd(me), r = rnd(me), r2 = rnd(me);
		int op = pick_op(r0);

		switch (op) {
		case OP_PIN_FAST:
		case OP_PIN_SLOW:
		case OP_GET:
			op_pin(me, r, r2, op);
			break;
		case OP_UNPIN:
			op_unpin(me, r);
			break;
		case OP_DMA:
			op_dma(me, r);
			break;
		case OP_SPEC:
			op_spec(me, r);
			break;
		case OP_QUERY:
			op_query(me, r);
			break;
		case OP_CPU_WRITE:
			op_cpu_write(me, t->mm, pick_anon(r), OP_CPU_WRITE);
			break;
		case OP_FORK:
			op_fork(me, r);
			break;
		case OP_CHILD:
			op_child(me, r, r2);
			break;
		case OP_MIGRATE:
			op_migrate(me, r);
			break;
		case OP_MKCLEAN:
			op_mkclean(me, r);
			break;
		case OP_ZAP:
			op_zap(me, r);
			break;
		case OP_COLLAPSE:
			op_collapse(me);
			break;
		}
		me->opcount[op]++;
		__atomic_store_n(&me->ops, me->ops + 1, __ATOMIC_RELAXED);
	}
	while (me->nheld)
		release_held(me, me->nheld - 1);
	vmstat_flush_thread();
	self = NULL;
	__atomic_add_fetch(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ---- one scheme ---- */

static int setup(struct torture *t)
{
	struct mem_config cfg = {
		.nr_small = T_NR_SMALL,
		.nr_thp = T_NR_THP,
		.nr_device = has_dev(t) ? T_DEV_PAGES * 2 : 0,
		.page_ext = t->s->features & SF_PAGE_EXT,
	};
	struct mm_struct *mm;

	if (mem_init(&cfg))
		return -ENOMEM;
	if (t->s->features & SF_DEVMAP_PAGEREF)
		mem_devmap_set_page_refs(true);
	mm = mm_alloc(t->s);
	if (!mm)
		return -ENOMEM;
	t->mm = mm;
	/* write faults wait for writeback in half the seeds */
	mm->stable_writes = t->o->seed & 1;
	if (mm_mmap(mm, T_ANON, T_ANON_PAGES * PAGE_SIZE, VM_WRITE) ||
	    mm_mmap(mm, T_THP, PMD_SIZE, VM_WRITE | VM_HUGEPAGE) ||
	    mm_populate(mm, T_THP, T_THP_PAGES * PAGE_SIZE) ||
	    mm_mmap(mm, T_SHARED, T_SHARED_PAGES * PAGE_SIZE,
		    VM_WRITE | VM_SHARED) ||
	    (has_dev(t) && mm_mmap(mm, T_DEV, T_DEV_PAGES * PAGE_SIZE,
				   VM_WRITE | VM_DEVMAP)) ||
	    mm_populate(mm, T_ANON, T_ANON_PAGES * PAGE_SIZE) ||
	    mm_populate(mm, T_SHARED, T_SHARED_PAGES * PAGE_SIZE) ||
	    (has_dev(t) && mm_populate(mm, T_DEV, T_DEV_PAGES * PAGE_SIZE)))
		return -ENOMEM;
	t->rings = calloc(max_pfn, sizeof(*t->rings));
	t->lock_owner = calloc(max_pfn, sizeof(*t->lock_owner));
	if (!t->rings || !t->lock_owner)
		return -ENOMEM;
	mm->debug_arg = t;
	WRITE_ONCE(mm->debug_hook, torture_hook);
	return 0;
}

/*
 * How many entries of @mm map @folio, the THP of T_THP: one if a PMD
 * maps it, else one per PTE of its subpages (a split PMD keeps the
 * folio whole, PTE-mapped; COW and zaps replace or drop single PTEs).
 */
static int thp_mappings(struct mm_struct *mm, struct folio *folio)
{
	unsigned long addr;
	int n = 0;
	bool leaf;

	if (mm_find_entry(mm, T_THP, &leaf) && leaf)
		return 1;
	for (addr = T_THP; addr < T_THP + PMD_SIZE; addr += PAGE_SIZE) {
		struct page *p = mm_lookup_page(mm, addr, NULL);

		n += p && page_folio(p) == folio;
	}
	return n;
}

/* After every thread stopped: all counts back to what set-up left. */
static void end_checks(struct torture *t)
{
	unsigned long addr, nr_small = T_NR_SMALL;
	long bal;
	int i;

	for (i = 0; i < T_CHILDREN; i++)
		if (t->child[i].mm) {
			mm_free(t->child[i].mm);
			t->child[i].mm = NULL;
		}
	for (i = 0; i < T_NR_ADDR; i++) {
		struct folio *folio;
		struct page *p;
		int ref, map, base, maps;

		if (i < T_ANON_PAGES)
			addr = T_ANON + i * PAGE_SIZE;
		else if (i < T_ANON_PAGES + T_SHARED_PAGES)
			addr = T_SHARED + (i - T_ANON_PAGES) * PAGE_SIZE;
		else if (i >= T_THP_INDEX)
			addr = T_THP + (i - T_THP_INDEX) * PAGE_SIZE;
		else if (has_dev(t))
			addr = T_DEV + (i - T_ANON_PAGES - T_SHARED_PAGES) *
				       PAGE_SIZE;
		else
			continue;
		p = mm_lookup_page(t->mm, addr, NULL);
		if (!p || p == zero_page)
			continue;
		folio = page_folio(p);
		ref = folio_ref_count(folio);
		/* a THP counts all its mappings together */
		map = atomic_read(folio_mapcount_ptr(folio));
		maps = folio_test_large(folio) ? thp_mappings(t->mm, folio) : 1;
		/* a ref per mapping; devmap_single pages idle at 1 more */
		base = maps + (test_bit(PG_device, &p->flags) &&
			       (t->s->features & SF_DEVMAP_PAGEREF));
		/* every mapped page but a device's is on the LRU again */
		if (ref != base ||
		    map != maps - 1 || t->s->maybe_pinned(folio) ||
		    test_bit(PG_locked, folio_flags(folio)) ||
		    test_bit(PG_waiters, folio_flags(folio)) ||
		    test_bit(PG_lru, folio_flags(folio)) ==
		    test_bit(PG_device, &p->flags)) {
			violation(t, INV_COUNTS, page_to_pfn(p), 0, addr,
				  "at the end, pfn %lu at %#lx has refcount %d "
				  "(baseline %d), mapcount %d (baseline %d), "
				  "maybe_pinned %d, flags %#lx (PG_lru is bit "
				  "%d)", page_to_pfn(p),
				  addr, ref, base, map, maps - 1,
				  t->s->maybe_pinned(folio),
				  READ_ONCE(*folio_flags(folio)), PG_lru);
			break;
		}
	}
	bal = vmstat_foll_pin_balance();
	if (bal)
		violation(t, INV_COUNTS, 0, 0, 0, "pins acquired - released = "
			  "%ld at the end", bal);
	mm_free(t->mm);
	t->mm = NULL;
	if (mem_nr_free() != nr_small)
		violation(t, INV_COUNTS, 0, 0, 0, "%lu of %lu pages are free "
			  "after the last mm is gone", mem_nr_free(), nr_small);
	if (mem_nr_free_thp() != T_NR_THP)
		violation(t, INV_COUNTS, 0, 0, 0, "%lu of %d THPs are free "
			  "after the last mm is gone", mem_nr_free_thp(),
			  T_NR_THP);
	if (has_dev(t) && mem_pgmap &&
	    percpu_ref_sum(&mem_pgmap->ref) != 1 + ((t->s->features &
						    SF_DEVMAP_PAGEREF) ?
						   (long)T_DEV_PAGES * 2 : 0))
		violation(t, INV_COUNTS, 0, 0, 0, "pgmap refcount %ld at the "
			  "end", percpu_ref_sum(&mem_pgmap->ref));
}

/* Checks that watch global counters: run by the main thread. */
struct watch {
	long warns, lost, poison;
};

static void watch_init(struct watch *w)
{
	w->warns = atomic_long_read(&gup_warnings);
	w->lost = folio_wait_lost();
	w->poison = mem_poison_touched(NULL);
}

static void watch_check(struct torture *t, const struct watch *w)
{
	unsigned long pfn;

	if (mem_poison_touched(&pfn) != w->poison)
		violation(t, INV_POISON, pfn, 0, 0, "free pfn %lu was written "
			  "after it was freed (poison disturbed when it was "
			  "allocated again)", pfn);
	if (folio_wait_lost() != w->lost)
		violation(t, INV_PAGELOCK, 0, 0, 0, "%ld page-lock wake-ups "
			  "lost (a waiter queued with PG_locked and PG_waiters "
			  "clear)", folio_wait_lost() - w->lost);
	if (atomic_long_read(&gup_warnings) != w->warns)
		violation(t, INV_COUNTS, 0, 0, 0, "a WARN_ON fired in the "
			  "model (see the warning above)");
}

static const char *mutant_name(int m);

static void print_report(struct torture *t, FILE *f)
{
	const struct torture_opts *o = t->o;

	fprintf(f, "VIOLATION %s: %s\n", torture_inv_names[t->v.inv],
		inv_desc[t->v.inv]);
	fprintf(f, "  scheme %s%s%s, seed %" PRIu64 ", threads %u, thread %d\n",
		t->s->name, o->mutant ? ", mutant " : "",
		o->mutant ? "yes" : "", o->seed, t->nthreads,
		t->v.thread == ~0U ? -1 : (int)t->v.thread);
	fprintf(f, "  %s\n", t->v.msg);
	ring_print(t, t->v.pfn, f);
	if (t->v.pfn2 && t->v.pfn2 != t->v.pfn)
		ring_print(t, t->v.pfn2, f);
	if (t->nviol > 1)
		fprintf(f, "  (%ld more violations after this one)\n",
			t->nviol - 1);
	fprintf(f, "  replay: %s torture --scheme=%s --seed=%" PRIu64
		" --threads=%u%s%s\n", o->mutant ? "build/mut/gupbench" :
		"build/gupbench", t->s->name, o->seed, t->nthreads,
		o->mutant ? " --mutant=" : "",
		o->mutant ? mutant_name(o->mutant) : "");
}

/* Run one scheme; returns the number of violations, or -1 on set-up. */
static long torture_scheme(const struct gup_scheme *s,
			   const struct torture_opts *o)
{
	struct torture *t = calloc(1, sizeof(*t));
	double t0, next_progress, dt, last_change;
	unsigned long last_ops;
	struct watch w;
	unsigned long total[OP_MAX] = { 0 }, ops = 0, splits, collapses;
	unsigned int i, j;
	long nviol;

	if (!t)
		return -1;
	t->s = s;
	t->o = o;
	t->nthreads = o->threads;
	pthread_mutex_init(&t->vlock, NULL);
	pthread_mutex_init(&t->wb_lock, NULL);
	for (i = 0; i < T_CHILDREN; i++)
		pthread_mutex_init(&t->child[i].lock, NULL);
	gup_thread_register();
	if (setup(t)) {
		fprintf(stderr, "gupbench torture: %s: out of memory\n",
			s->name);
		return -1;
	}
	cur = t;
	mem_page_hook = page_hook;
	folio_lock_tracking(t->lock_owner, lock_violation);
	watch_init(&w);
	for (i = 0; i < t->nthreads; i++) {
		uint64_t x = o->seed + 0x1000193ULL * (i + 1);

		t->th[i].t = t;
		t->th[i].id = i;
		t->th[i].rng = splitmix64(&x);
		t->th[i].drng = splitmix64(&x);
	}
	splits = thp_split_pmd_events();
	collapses = thp_collapse_events();
	t0 = now_s();
	next_progress = t0 + 5;
	last_ops = 0;
	last_change = t0;
	pthread_create(&t->wb_thr, NULL, wb_thread, t);
	for (i = 0; i < t->nthreads; i++)
		pthread_create(&t->th[i].thr, NULL, torture_thread, &t->th[i]);
	while (!stopped(t) &&
	       __atomic_load_n(&t->done, __ATOMIC_ACQUIRE) < t->nthreads) {
		usleep(20000);
		watch_check(t, &w);
		for (ops = 0, i = 0; i < t->nthreads; i++)
			ops += __atomic_load_n(&t->th[i].ops, __ATOMIC_RELAXED);
		if (ops != last_ops) {
			last_ops = ops;
			last_change = now_s();
		} else if (now_s() - last_change > STALL_S) {
			violation(t, INV_PAGELOCK, 0, 0, 0, "no thread finished "
				  "an operation in %d s: a sleeper was never "
				  "woken or a lock never released", STALL_S);
		}
		if (o->duration > 0 && now_s() - t0 >= o->duration)
			__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
		if (now_s() >= next_progress) {
			fprintf(stderr, "torture: %s: %.0f s, %lu ops\n",
				s->name, now_s() - t0, ops);
			next_progress += 5;
		}
	}
	for (i = 0; i < t->nthreads; i++) {
		struct timespec until;

		/* after a violation, a lock it corrupted may hold a thread */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += __atomic_load_n(&t->nviol, __ATOMIC_RELAXED) ?
				2 : STALL_S;
		if (pthread_timedjoin_np(t->th[i].thr, NULL, &until)) {
			if (!__atomic_load_n(&t->nviol, __ATOMIC_RELAXED))
				violation(t, INV_PAGELOCK, 0, 0, 0, "thread %u "
					  "did not stop within %d s", i,
					  STALL_S);
			pthread_mutex_lock(&t->vlock);
			print_report(t, stdout);
			printf("  thread %u is stuck; exiting without the end "
			       "checks\n", i);
			fflush(stdout);
			_exit(1);
		}
	}
	__atomic_store_n(&t->wb_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t->wb_thr, NULL);	/* every writeback has ended */
	dt = now_s() - t0;
	watch_check(t, &w);
	folio_lock_tracking(NULL, NULL);
	end_checks(t);
	watch_check(t, &w);

	for (ops = 0, i = 0; i < t->nthreads; i++) {
		ops += t->th[i].ops;
		for (j = 0; j < OP_MAX; j++)
			total[j] += t->th[i].opcount[j];
	}
	printf("torture: %-18s %9lu ops in %5.1f s, %ld violation%s\n",
	       s->name, ops, dt, t->nviol, t->nviol == 1 ? "" : "s");
	if (o->verbose) {
		printf("  ops:");
		for (j = 0; j < OP_MAX; j++)
			printf(" %s %lu", op_names[j], total[j]);
		printf("\n  THP PMD splits: %lu, collapses: %lu; write faults "
		       "%s for writeback (stable pages: odd seeds)\n",
		       thp_split_pmd_events() - splits,
		       thp_collapse_events() - collapses,
		       (o->seed & 1) ? "wait" : "do not wait");
	}
	if (t->nviol)
		print_report(t, stdout);
	fflush(stdout);
	nviol = t->nviol;
	mem_page_hook = NULL;
	cur = NULL;
	free(t->rings);
	free(t->lock_owner);
	free(t);
	mem_exit();
	return nviol;
}

/* ---- mutants (build/mut only) ---- */

struct mutant {
	int id;
	const char *name;
	const char *scheme;	/* the scheme it breaks */
	int inv;		/* the invariant that must catch it */
	const char *desc;
};

static const struct mutant mutants[] = {
	{ GUP_MUT_NO_PTE_RECHECK, "no_pte_recheck", "bias", INV_PINNED_MOVED,
	  "gup_fast keeps a page without rechecking the PMD and PTE" },
	{ GUP_MUT_BIAS_UNPIN_SUB1, "bias_unpin_sub1", "bias", INV_COUNTS,
	  "bias unpin subtracts 1 instead of GUP_PIN_COUNTING_BIAS" },
	{ GUP_MUT_FORK_SHARES_PINNED, "fork_shares_pinned", "bias", INV_COW,
	  "fork shares a maybe-pinned page instead of copying it" },
	{ GUP_MUT_ANONEXCL_NO_SEQ, "anonexcl_no_seq", "anonexcl", INV_COW,
	  "anonexcl's gup_fast ignores write_protect_seq" },
	{ GUP_MUT_MIGRATE_IGNORES_REFS, "migrate_ignores_refs", "bias",
	  INV_PINNED_MOVED, "migration moves the page without comparing "
	  "its references with the expected ones" },
	{ GUP_MUT_PAGELOCK_NO_TRYLOCK, "pagelock_no_trylock", "pagelock",
	  INV_PAGELOCK, "pagelock's gup_fast pins after a failed trylock" },
	{ GUP_MUT_NO_PMD_RECHECK, "no_pmd_recheck", "bias", INV_PINNED_MOVED,
	  "gup_fast skips the PMD recheck and collapse waits for no walker "
	  "(RCU GUP-fast before 70cbc3cc78a9 and 2ba99c5e0881)" },
	{ GUP_MUT_FORK_COPIES_MIG_ENTRY, "fork_copies_mig_entry", "bias",
	  INV_COW, "fork copies a migration entry with no exclusive bit: "
	  "5.x's COW-after-fork of a pinned page under a failed migration" },
};

static const char *mutant_name(int m)
{
	unsigned int i;

	for (i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++)
		if (mutants[i].id == m)
			return mutants[i].name;
	return "?";
}

/* ---- CLI ---- */

static const char torture_usage[] =
"usage: gupbench torture [--scheme=LIST|all] [--duration=SEC] [--ops=N]\n"
"                        [--threads=N] [--seed=N] [--verbose]"
#ifdef GUP_MUTANTS
" [--mutant=NAME|list]"
#endif
"\n"
"Runs a randomized concurrent mix of pins, unpins (half of the write pins\n"
"by unpin_user_pages_dirty_lock()), gets, speculative refs, queries, CPU\n"
"writes, fork, migration, mkclean, zap and THP collapse over\n"
"a few shared pages, with random delays injected inside the operations,\n"
"and checks:\n"
"  no-false-negative     while a pin is held, maybe_pinned is true\n"
"  pinned-page-stays     a pinned page is never migrated, freed or reused\n"
"  cow-safety            a DMA write through a pin is visible through the\n"
"                        pinner's page table after unpin\n"
"  counts                counts never go negative and return to baseline\n"
"  freed-page-untouched  a freed struct page is never written\n"
"  pagelock              one page-lock holder at a time, no lost wake-up\n"
"Options:\n"
"  --scheme=LIST|all  schemes to torture, one after the other (all)\n"
"  --duration=SEC     stop each scheme after SEC seconds (10 unless --ops)\n"
"  --ops=N            stop each scheme after N operations (k/M suffixes)\n"
"  --threads=N        torture threads, 2..16 (4)\n"
"  --seed=N           the random choices; a seed replays them (default:\n"
"                     from the clock, printed)\n"
"  --verbose          print how many operations of each kind ran, and\n"
"                     how many THP PMDs were split and collapsed\n"
#ifdef GUP_MUTANTS
"  --mutant=NAME      run a deliberately broken variant (test build only);\n"
"                     --mutant=list prints them\n"
#else
"  (the test build, build/mut/gupbench, adds --mutant=NAME|list: broken\n"
"  variants that each invariant must catch)\n"
#endif
"Exit status: 0 no violation, 1 a violation (report on stdout), 2 bad input.\n";

static int bad_arg(const char *fmt, const char *arg)
{
	fprintf(stderr, "gupbench torture: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see gupbench torture --help)\n");
	return 2;
}

static bool parse_ulong(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno)
		return false;
	if (*end == 'k' || *end == 'K')
		v *= 1000, end++;
	else if (*end == 'M')
		v *= 1000000, end++;
	if (*end)
		return false;
	*out = v;
	return true;
}

int torture_main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "scheme", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "ops", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "mutant", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct torture_opts o = { .schemes = "all", .threads = 4 };
	const struct gup_scheme *list[64];
	const char *mutant = NULL;
	bool seed_set = false, dur_set = false;
	unsigned int nlist = 0, i;
	unsigned long v;
	long bad = 0, n;
	char *end, *copy, *tok, *save;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (cli_forgotten_value(argv)) {
			char what[256];

			snprintf(what, sizeof(what), "%s needs a value; '%s'",
				 cli_forgotten_value(argv), optarg);
			return bad_arg("%s is the next option", what);
		}
		switch (c) {
		case 's':
			o.schemes = optarg;
			break;
		case 'd':
			errno = 0;
			o.duration = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o.duration > 0))
				return bad_arg("bad --duration '%s': a number "
					       "of seconds > 0", optarg);
			dur_set = true;
			break;
		case 'o':
			if (!parse_ulong(optarg, &o.ops) || !o.ops)
				return bad_arg("bad --ops '%s': a count > 0",
					       optarg);
			break;
		case 't':
			if (!parse_ulong(optarg, &v) || v < 2 ||
			    v > T_MAX_THREADS)
				return bad_arg("bad --threads '%s': 2 to 16",
					       optarg);
			o.threads = (unsigned int)v;
			break;
		case 'S':
			if (!parse_ulong(optarg, &v))
				return bad_arg("bad --seed '%s': an unsigned "
					       "number", optarg);
			o.seed = v;
			seed_set = true;
			break;
		case 'm':
			mutant = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			fputs(torture_usage, stdout);
			return 0;
		default:
			fputs(torture_usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bad_arg("unexpected argument '%s'", argv[optind]);
	if (!o.ops && !dur_set)
		o.duration = 10;
	if (!seed_set)
		o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);

	if (mutant) {
#ifdef GUP_MUTANTS
		if (!strcmp(mutant, "list")) {
			for (i = 0; i < sizeof(mutants) / sizeof(mutants[0]);
			     i++)
				printf("%-22s %-9s %-18s %s\n", mutants[i].name,
				       mutants[i].scheme,
				       torture_inv_names[mutants[i].inv],
				       mutants[i].desc);
			return 0;
		}
		for (i = 0; i < sizeof(mutants) / sizeof(mutants[0]); i++)
			if (!strcmp(mutants[i].name, mutant))
				break;
		if (i == sizeof(mutants) / sizeof(mutants[0]))
			return bad_arg("unknown mutant '%s' (--mutant=list "
				       "names them)", mutant);
		if (strcmp(o.schemes, "all") &&
		    strcmp(o.schemes, mutants[i].scheme)) {
			char what[128];

			snprintf(what, sizeof(what), "%s breaks %s",
				 mutant, mutants[i].scheme);
			return bad_arg("--mutant=%s and nothing else; leave "
				       "--scheme out", what);
		}
		o.mutant = mutants[i].id;
		o.schemes = mutants[i].scheme;
		gup_mutant = o.mutant;
#else
		return bad_arg("--mutant=%s: mutants exist only in the test "
			       "build (build/mut/gupbench)", mutant);
#endif
	}

	if (!*o.schemes || o.schemes[0] == ',' ||
	    o.schemes[strlen(o.schemes) - 1] == ',' || strstr(o.schemes, ",,"))
		return bad_arg("empty value in --scheme list '%s'", o.schemes);
	copy = strdup(o.schemes);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			for (i = 0; i < nr_gup_schemes && nlist < 64; i++)
				if (!(gup_schemes[i]->features &
				      SF_CALIBRATION))
					list[nlist++] = gup_schemes[i];
			continue;
		}
		list[nlist] = scheme_find(tok);
		if (!list[nlist]) {
			fprintf(stderr, "gupbench torture: unknown scheme "
				"'%s'; valid:", tok);
			for (i = 0; i < nr_gup_schemes; i++)
				if (!(gup_schemes[i]->features &
				      SF_CALIBRATION))
					fprintf(stderr, " %s",
						gup_schemes[i]->name);
			fprintf(stderr, "\n");
			free(copy);
			return 2;
		}
		if (list[nlist]->features & SF_CALIBRATION) {
			fprintf(stderr, "gupbench torture: '%s' is a "
				"calibration scheme with no protocol to "
				"check\n", tok);
			free(copy);
			return 2;
		}
		if (nlist < 63)
			nlist++;
	}
	free(copy);
	if (!nlist)
		return bad_arg("--scheme '%s' names no scheme", o.schemes);

	printf("torture: seed %" PRIu64 ", %u threads, per scheme: ", o.seed,
	       o.threads);
	if (o.ops)
		printf("%lu ops%s", o.ops, o.duration > 0 ? " or " : "");
	if (o.duration > 0)
		printf("%g s", o.duration);
	printf("%s%s\n", mutant ? ", mutant " : "", mutant ? mutant : "");
	fflush(stdout);
	for (i = 0; i < nlist; i++) {
		n = torture_scheme(list[i], &o);
		if (n < 0)
			return 2;
		bad += n;
	}
	return bad ? 1 : 0;
}
