/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's atomic and barrier vocabulary over GCC __atomic builtins,
 * with Linux-memory-model ordering (tools/memory-model, atomic_t.txt):
 *  - value-returning RMWs (atomic_*_return, atomic_sub_and_test,
 *    atomic_fetch_*, xchg, successful cmpxchg) are fully ordered;
 *  - conditional RMWs (atomic_add_unless) are fully ordered on success
 *    and unordered on failure;
 *  - void RMWs (atomic_add, atomic_sub, atomic_inc, set_bit) are relaxed;
 *    smp_mb__before_atomic()/smp_mb__after_atomic() upgrade them;
 *  - test_and_set_bit_lock() is acquire, clear_bit_unlock() is release.
 * On x86 a lock-prefixed RMW is a full fence whatever the C11 order says,
 * so the code generated for the fast paths is the kernel's. A C11 seq_cst
 * RMW is not a full fence elsewhere (arm64 LL/SC: ldaxr/stlxr and no
 * dmb; POWER: no trailing sync), so a relaxed load after it, such as
 * GUP-fast's PTE recheck after the grab, could be satisfied before it;
 * the kernel's fully ordered RMWs forbid that, so off x86 the model puts
 * a full fence on each side of them (__fully_ordered()).
 */
#ifndef GUPBENCH_KCOMPAT_H
#define GUPBENCH_KCOMPAT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#include <sys/cdefs.h>	/* glibc defines __always_inline too */
#ifndef __always_inline
#define __always_inline	inline __attribute__((always_inline))
#endif
#define noinline	__attribute__((noinline))
#define __aligned(x)	__attribute__((aligned(x)))
#define __maybe_unused	__attribute__((unused))

#define L1_CACHE_BYTES	64
#define ____cacheline_aligned __aligned(L1_CACHE_BYTES)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(n)		(1UL << (n))
#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#define __CONCAT2(a, b)	a##b
#define CONCAT(a, b)	__CONCAT2(a, b)
#define __stringify_1(x) #x
#define __stringify(x)	__stringify_1(x)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- compiler and CPU barriers ---- */

#define barrier()	__asm__ __volatile__("" ::: "memory")
#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
/*
 * Upgrade the preceding/following void RMW to a full barrier. x86 (and
 * every lock-prefixed RMW) is already fully ordered, so the kernel makes
 * this a compiler barrier there; elsewhere it is smp_mb().
 */
#if defined(__x86_64__) || defined(__i386__)
#define GUP_X86			1
#define smp_mb__before_atomic()	barrier()
#define smp_mb__after_atomic()	barrier()
#define __rmw_fence()		barrier()
#else
#define smp_mb__before_atomic()	smp_mb()
#define smp_mb__after_atomic()	smp_mb()
#define __rmw_fence()		smp_mb()
#endif
/*
 * x86 inline asm for what C11 cannot say (x86's folio_unlock() and
 * this_cpu_try_cmpxchg()); not under ThreadSanitizer, which cannot see
 * inside asm and keeps the C11 forms whose ordering it knows.
 */
#if defined(GUP_X86) && !defined(__SANITIZE_THREAD__)
#define GUP_X86_ASM		1
#endif
/* A fully ordered RMW: seq_cst, fenced on both sides off x86. */
#define __fully_ordered(expr) ({					\
	__rmw_fence();							\
	__auto_type __fo_ret = (expr);					\
	__rmw_fence();							\
	__fo_ret;							\
})

#define READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline void cpu_relax(void)
{
#ifdef GUP_X86
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	barrier();
#endif
}

/* ---- atomic_t: 32-bit signed, as folio->_refcount is everywhere ---- */

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	long counter;
} atomic_long_t;

#define ATOMIC_INIT(i)	{ (i) }

static __always_inline int atomic_read(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static __always_inline void atomic_set(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static __always_inline void atomic_set_release(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELEASE);
}

/*
 * Void RMWs: relaxed. Arithmetic wraps as in the kernel (-fno-strict-
 * overflow semantics): done on unsigned so UBSan does not flag the
 * deliberate overflow the bias scheme can cause.
 */
static __always_inline void atomic_add(int i, atomic_t *v)
{
	__atomic_fetch_add((unsigned int *)&v->counter, (unsigned int)i,
			   __ATOMIC_RELAXED);
}

static __always_inline void atomic_sub(int i, atomic_t *v)
{
	__atomic_fetch_sub((unsigned int *)&v->counter, (unsigned int)i,
			   __ATOMIC_RELAXED);
}

#define atomic_inc(v)	atomic_add(1, (v))
#define atomic_dec(v)	atomic_sub(1, (v))

/* Value-returning RMWs: fully ordered. */
static __always_inline int atomic_add_return(int i, atomic_t *v)
{
	return (int)__fully_ordered(
		__atomic_add_fetch((unsigned int *)&v->counter,
				   (unsigned int)i, __ATOMIC_SEQ_CST));
}

static __always_inline int atomic_sub_return(int i, atomic_t *v)
{
	return (int)__fully_ordered(
		__atomic_sub_fetch((unsigned int *)&v->counter,
				   (unsigned int)i, __ATOMIC_SEQ_CST));
}

static __always_inline int atomic_fetch_add(int i, atomic_t *v)
{
	return (int)__fully_ordered(
		__atomic_fetch_add((unsigned int *)&v->counter,
				   (unsigned int)i, __ATOMIC_SEQ_CST));
}

#define atomic_inc_return(v)	atomic_add_return(1, (v))
#define atomic_dec_return(v)	atomic_sub_return(1, (v))

static __always_inline bool atomic_sub_and_test(int i, atomic_t *v)
{
	return atomic_sub_return(i, v) == 0;
}

#define atomic_dec_and_test(v)	atomic_sub_and_test(1, (v))

/* Fully ordered on success; on failure returns the value seen. */
static __always_inline int atomic_cmpxchg(atomic_t *v, int old, int new)
{
	__fully_ordered(__atomic_compare_exchange_n(&v->counter, &old, new,
						    false, __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED));
	return old;
}

static __always_inline bool atomic_try_cmpxchg(atomic_t *v, int *old, int new)
{
	return __fully_ordered(
		__atomic_compare_exchange_n(&v->counter, old, new, false,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED));
}

/*
 * atomic_add_unless(v, a, u): add @a unless the value is @u. Returns true
 * if it added. A CAS loop, as the generic kernel implementation
 * (atomic_fetch_add_unless); fully ordered only when it succeeds.
 */
static __always_inline bool atomic_add_unless(atomic_t *v, int a, int u)
{
	int c = atomic_read(v);

	do {
		if (unlikely(c == u))
			return false;
	} while (!atomic_try_cmpxchg(v, &c,
				     (int)((unsigned int)c + (unsigned int)a)));
	return true;
}

#define atomic_inc_not_zero(v)	atomic_add_unless((v), 1, 0)

/* ---- atomic_long_t, for counters and percpu_ref's atomic mode ---- */

#define BITS_PER_LONG	(8 * (int)sizeof(long))

static __always_inline long atomic_long_read(const atomic_long_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static __always_inline void atomic_long_set(atomic_long_t *v, long i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

static __always_inline void atomic_long_add(long i, atomic_long_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static __always_inline long atomic_long_add_return(long i, atomic_long_t *v)
{
	return __fully_ordered(__atomic_add_fetch(&v->counter, i,
						  __ATOMIC_SEQ_CST));
}

static __always_inline long atomic_long_sub_return(long i, atomic_long_t *v)
{
	return __fully_ordered(__atomic_sub_fetch(&v->counter, i,
						  __ATOMIC_SEQ_CST));
}

static __always_inline bool atomic_long_add_unless(atomic_long_t *v, long a,
						   long u)
{
	long c = atomic_long_read(v);

	do {
		if (unlikely(c == u))
			return false;
	} while (!__fully_ordered(
			__atomic_compare_exchange_n(&v->counter, &c, c + a,
						    false, __ATOMIC_SEQ_CST,
						    __ATOMIC_RELAXED)));
	return true;
}

/* cmpxchg on a plain word: fully ordered on success. */
#define cmpxchg(ptr, old, new) ({					\
	__typeof__(*(ptr)) __old = (old);				\
	__fully_ordered(__atomic_compare_exchange_n((ptr), &__old,	\
				(new), false, __ATOMIC_SEQ_CST,		\
				__ATOMIC_RELAXED));			\
	__old;								\
})

#define xchg(ptr, v)	\
	__fully_ordered(__atomic_exchange_n((ptr), (v), __ATOMIC_SEQ_CST))

/* ---- bit operations on unsigned long words (page->flags) ---- */

static __always_inline bool test_bit(long nr, const unsigned long *addr)
{
	return (__atomic_load_n(addr, __ATOMIC_RELAXED) >> nr) & 1;
}

/* Void bit RMWs: relaxed, like atomic_add. */
static __always_inline void set_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_or(addr, BIT(nr), __ATOMIC_RELAXED);
}

static __always_inline void clear_bit(long nr, unsigned long *addr)
{
	__atomic_fetch_and(addr, ~BIT(nr), __ATOMIC_RELAXED);
}

/* Value-returning bit RMWs: fully ordered. */
static __always_inline bool test_and_set_bit(long nr, unsigned long *addr)
{
	return __fully_ordered(__atomic_fetch_or(addr, BIT(nr),
						 __ATOMIC_SEQ_CST)) & BIT(nr);
}

static __always_inline bool test_and_clear_bit(long nr, unsigned long *addr)
{
	return __fully_ordered(__atomic_fetch_and(addr, ~BIT(nr),
						  __ATOMIC_SEQ_CST)) & BIT(nr);
}

/* Lock bitops: acquire on success, release on unlock. */
static __always_inline bool test_and_set_bit_lock(long nr, unsigned long *addr)
{
	return __atomic_fetch_or(addr, BIT(nr), __ATOMIC_ACQUIRE) & BIT(nr);
}

static __always_inline void clear_bit_unlock(long nr, unsigned long *addr)
{
	__atomic_fetch_and(addr, ~BIT(nr), __ATOMIC_RELEASE);
}

/*
 * xor_unlock_is_negative_byte(): clear the lock bit with release
 * semantics and report whether bit 7 (PG_waiters) of the same byte is set,
 * in one RMW (folio_xor_flags_has_waiters()).
 */
static __always_inline bool xor_unlock_is_negative_byte(unsigned long mask,
							unsigned long *addr)
{
#ifdef GUP_X86_ASM
	/*
	 * x86's: lock xorb on the low byte and the sign flag of the result
	 * (a fetch_xor whose old value is tested compiles to a cmpxchg
	 * loop).
	 */
	bool negative;

	__asm__ __volatile__("lock xorb %2, %1"
			     : "=@ccs" (negative), "+m" (*(volatile char *)addr)
			     : "iq" ((char)mask) : "memory");
	return negative;
#else
	return __atomic_fetch_xor(addr, mask, __ATOMIC_RELEASE) & BIT(7);
#endif
}

/* ---- spinlock: test-and-test-and-set, acquire/release ---- */

typedef struct {
	int locked;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED	{ 0 }

static inline void spin_lock_init(spinlock_t *l)
{
	l->locked = 0;
}

static inline void spin_lock(spinlock_t *l)
{
	for (;;) {
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			return;
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
	}
}

static inline bool spin_trylock(spinlock_t *l)
{
	return !__atomic_load_n(&l->locked, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(spinlock_t *l)
{
	return __atomic_load_n(&l->locked, __ATOMIC_RELAXED);
}

/* ---- seqcount_t (raw_write_seqcount_begin / raw_seqcount_try_begin) ---- */

typedef struct {
	unsigned int sequence;
} seqcount_t;

static inline void seqcount_init(seqcount_t *s)
{
	s->sequence = 0;
}

/* Writer: odd while a write section is open; caller serialises writers. */
static inline void raw_write_seqcount_begin(seqcount_t *s)
{
	WRITE_ONCE(s->sequence, s->sequence + 1);
	smp_wmb();	/* pairs with smp_rmb() in read_seqcount_retry() */
}

static inline void raw_write_seqcount_end(seqcount_t *s)
{
	smp_wmb();	/* pairs with smp_rmb() in raw_seqcount_try_begin() */
	WRITE_ONCE(s->sequence, s->sequence + 1);
}

/*
 * raw_seqcount_try_begin(): sample the count; false if a writer is in
 * progress (odd), so the caller gives up instead of spinning, as GUP-fast
 * does for mm->write_protect_seq.
 */
static __always_inline bool raw_seqcount_try_begin(const seqcount_t *s,
						   unsigned int *start)
{
	*start = READ_ONCE(s->sequence);
	smp_rmb();	/* pairs with smp_wmb() in raw_write_seqcount_end() */
	return !(*start & 1);
}

static __always_inline bool read_seqcount_retry(const seqcount_t *s,
						unsigned int start)
{
	smp_rmb();	/* pairs with smp_wmb() in raw_write_seqcount_begin() */
	return unlikely(READ_ONCE(s->sequence) != start);
}

#endif /* GUPBENCH_KCOMPAT_H */
