// SPDX-License-Identifier: GPL-2.0
/*
 * The TLB flush stand-in (flush_tlb_mm() in schemes/mm.h): where x86
 * flushes other CPUs' TLBs, an operation on an mm that other threads run
 * (mm->ipi_flush) waits until every walker's irq-off section that was
 * open has closed, as an IPI waits for interrupts to come back on; on an
 * mm no other thread runs, it does not wait. Each operation runs on a
 * second thread while this one holds a section open.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "scheme.h"
#include "unit.h"
#include "fixture.h"

#define HELD_MS		50	/* long enough for any op to finish unblocked */
#define TIMEOUT_S	10

struct flush_op {
	const char *name;
	const char *scheme;		/* NULL: bias */
	void (*prep)(struct fx *f);	/* before the section opens */
	bool (*run)(struct fx *f);	/* on the other thread: did it work? */
	void (*undo)(struct fx *f);	/* after it finished */
	bool (*waited_where)(void);	/* while held: stopped at the flush? */
};

static struct mm_struct *child;
static int reached[GUP_DP_MAX];	/* times the op passed each point */

static void note_point(struct mm_struct *mm, enum gup_debug_point dp,
		       unsigned long addr, void *arg)
{
	(void)mm;
	(void)addr;
	(void)arg;
	__atomic_add_fetch(&reached[dp], 1, __ATOMIC_RELEASE);
}

static int reached_n(enum gup_debug_point dp)
{
	return __atomic_load_n(&reached[dp], __ATOMIC_ACQUIRE);
}

/*
 * Migration before 6.3 (bias) flushes right after it clears the PTE: it
 * must not have put its migration entry in, nor compared the refcount,
 * while the flush waits.
 */
static bool migrate_waited_early(void)
{
	return !reached_n(GUP_DP_MIGRATE_UNMAPPED) &&
	       !reached_n(GUP_DP_MIGRATE_CHECKED);
}

/*
 * 6.3+ (anonexcl): the first passes (MIGRATE_ASYNC) batch the flush:
 * the migration entry goes in, then try_to_unmap_flush() waits, and the
 * references are compared only after it: not while it waits.
 */
static bool migrate_waited_batched(void)
{
	return reached_n(GUP_DP_MIGRATE_UNMAPPED) == 1 &&
	       !reached_n(GUP_DP_MIGRATE_CHECKED);
}

static bool run_migrate(struct fx *f)
{
	return mm_migrate_page(f->mm, FX_ANON) == 0;
}

static bool run_mkclean(struct fx *f)
{
	/* populated shared pages are dirty: cleaned, PTE write-protected */
	return mm_mkclean_page(f->mm, FX_SHARED) == 0;
}

static bool run_fork(struct fx *f)
{
	struct mm_struct *c = mm_fork(f->mm, NULL, NULL);

	if (!c)
		return false;
	mm_free(c);	/* no other thread runs the child: no flush */
	return true;
}

static void prep_cow(struct fx *f)
{
	child = mm_fork(f->mm, NULL, NULL);	/* the page is shared now */
	CHECK(child);
}

/* a write pin of the shared page: slow path, wp_page_copy() */
static bool run_cow(struct fx *f)
{
	struct page *page;

	if (f->s->gup_fast(f->mm, FX_ANON, 1, PIN_W, &page, &f->st) != 1)
		return false;
	f->s->release_pages(&page, 1, PIN_W);
	return f->st.cow_copies == 1;
}

static void undo_cow(struct fx *f)
{
	(void)f;
	mm_free(child);
	child = NULL;
}

static bool run_split(struct fx *f)
{
	split_huge_pmd(f->mm, mm_find_pmd(f->mm, FX_THP, false));
	return !pmd_leaf(pmdp_get(mm_find_pmd(f->mm, FX_THP, false)));
}

static bool run_mprotect(struct fx *f)
{
	pte_t pte;

	return mm_mprotect_ro(f->mm, FX_ANON,
			      FX_ANON_PAGES * PAGE_SIZE) == 0 &&
	       mm_lookup_page(f->mm, FX_ANON, &pte) && !pte_write(pte);
}

static bool run_zap(struct fx *f)
{
	mm_zap_range(f->mm, FX_ANON, PAGE_SIZE);
	return !mm_lookup_page(f->mm, FX_ANON, NULL);
}

static const struct flush_op ops[] = {
	{ .name = "migrate", .run = run_migrate,
	  .waited_where = migrate_waited_early },
	{ .name = "migrate_batched", .scheme = "anonexcl", .run = run_migrate,
	  .waited_where = migrate_waited_batched },
	{ .name = "mkclean", .run = run_mkclean },
	{ .name = "fork", .run = run_fork },
	{ .name = "cow", .prep = prep_cow, .run = run_cow, .undo = undo_cow },
	{ .name = "split", .run = run_split },
	{ .name = "mprotect", .run = run_mprotect },
	{ .name = "zap", .run = run_zap },
};

struct job {
	const struct flush_op *op;
	struct fx *f;
	bool ok;
	int done;
};

static void *job_fn(void *arg)
{
	struct job *j = arg;

	gup_thread_register();
	j->ok = j->op->run(j->f);
	vmstat_flush_thread();
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool done_within(struct job *j, double secs)
{
	struct timespec ts = { 0, 1000 * 1000 };	/* 1 ms */
	long i;

	for (i = 0; i < secs * 1000; i++) {
		if (__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
			return true;
		nanosleep(&ts, NULL);
	}
	return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

static void check_op(const struct flush_op *op, bool ipi)
{
	const struct gup_scheme *s = scheme_find(op->scheme ? op->scheme :
						 "bias");
	struct job j = { .op = op };
	unsigned long irqflags;
	bool early, late, where = true;
	pthread_t t;
	struct fx f;

	CHECK(s);
	fx_setup(&f, s);
	j.f = &f;
	if (op->prep)
		op->prep(&f);
	f.mm->ipi_flush = ipi;
	memset(reached, 0, sizeof(reached));
	f.mm->debug_hook = note_point;
	local_irq_save(irqflags);	/* a walker stays inside its section */
	CHECK(irqflags);
	if (pthread_create(&t, NULL, job_fn, &j)) {
		local_irq_restore(irqflags);
		t_fail("pthread_create");
	}
	/*
	 * ipi_flush: the flush waits for this section; without it the op
	 * must finish while the section is open. Close it before any
	 * verdict, so that a failure leaves no thread stuck.
	 */
	early = done_within(&j, ipi ? HELD_MS / 1000.0 : TIMEOUT_S);
	if (ipi && op->waited_where)
		where = op->waited_where();
	local_irq_restore(irqflags);
	late = done_within(&j, TIMEOUT_S);
	if (late)
		pthread_join(t, NULL);
	CHECK_MSG(late, "%s did not finish after the section closed",
		  op->name);
	if (ipi) {
		CHECK_MSG(!early, "%s finished while a walker was inside "
			  "its section", op->name);
		CHECK_MSG(where, "%s went past its flush while a walker was "
			  "inside its section", op->name);
	}
	else
		CHECK_MSG(early, "%s waited for a section on an mm no other "
			  "thread runs", op->name);
	CHECK_MSG(j.ok, "%s did not do its job", op->name);
	if (op->undo)
		op->undo(&f);
	f.mm->ipi_flush = false;
	f.mm->debug_hook = NULL;
	fx_teardown(&f);
}

/*
 * 6.3+ (anonexcl): the sync passes flush per PTE (ptep_clear_flush()):
 * after a held reference (no pin: the unmap goes ahead) failed the
 * async batch, a walker's section that opens then stops the first sync
 * unmap before its migration entry goes in.
 */
static int async_done, section_open;

static void sync_point(struct mm_struct *mm, enum gup_debug_point dp,
		       unsigned long addr, void *arg)
{
	note_point(mm, dp, addr, arg);
	if (dp != GUP_DP_MIGRATE_RESTORED || reached_n(dp) != 1)
		return;
	__atomic_store_n(&async_done, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&section_open, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void case_migrate_sync(void *arg)
{
	const struct gup_scheme *s = scheme_find("anonexcl");
	struct flush_op op = { .name = "migrate_sync", .run = run_migrate };
	struct job j = { .op = &op };
	unsigned long irqflags;
	struct folio *folio;
	int unmapped_held;
	bool early, late;
	pthread_t t;
	struct fx f;

	(void)arg;
	CHECK(s);
	fx_setup(&f, s);
	j.f = &f;
	folio = page_folio(fx_page(&f, FX_ANON));
	folio_get(folio);		/* every pass fails its compare */
	f.mm->ipi_flush = true;
	memset(reached, 0, sizeof(reached));
	async_done = section_open = 0;
	f.mm->debug_hook = sync_point;
	CHECK_EQ(pthread_create(&t, NULL, job_fn, &j), 0);
	while (!__atomic_load_n(&async_done, __ATOMIC_ACQUIRE))
		sched_yield();
	local_irq_save(irqflags);
	__atomic_store_n(&section_open, 1, __ATOMIC_RELEASE);
	early = done_within(&j, HELD_MS / 1000.0);
	unmapped_held = reached_n(GUP_DP_MIGRATE_UNMAPPED);
	local_irq_restore(irqflags);
	late = done_within(&j, TIMEOUT_S);
	if (late)
		pthread_join(t, NULL);
	CHECK_MSG(late, "migration did not finish after the section closed");
	CHECK_MSG(!early, "migration finished while a walker was inside "
		  "its section");
	CHECK_MSG(unmapped_held == 1, "the sync unmap put its migration "
		  "entry in before its flush (%d unmaps)", unmapped_held);
	CHECK_MSG(!j.ok, "migrated a folio with a reference held");
	CHECK_EQ(reached_n(GUP_DP_MIGRATE_UNMAPPED), 2);
	CHECK_EQ(reached_n(GUP_DP_MIGRATE_RESTORED), 2);
	folio_put(folio);
	f.mm->ipi_flush = false;
	f.mm->debug_hook = NULL;
	fx_teardown(&f);
}

static void case_waits(void *arg)
{
	check_op(arg, true);
}

static void case_local(void *arg)
{
	check_op(arg, false);
}

int main(void)
{
	char name[64];
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(name, sizeof(name), "flush_waits/%s", ops[i].name);
		t_case_named(name, case_waits, (void *)&ops[i]);
		snprintf(name, sizeof(name), "flush_local/%s", ops[i].name);
		t_case_named(name, case_local, (void *)&ops[i]);
	}
	t_case_named("flush_waits/migrate_sync", case_migrate_sync, NULL);
	return t_done();
}
