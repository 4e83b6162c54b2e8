/*
 * pool.c - the core's data-parallel passes: a pass over [0, n) is cut into
 * chunks, and up to memdbg_jobs() threads (the caller's included) take
 * chunks in turn.  Each chunk writes only what it owns (its own slice of
 * an array, or its own buffer that the caller merges in chunk order), so a
 * pass gives the same result whatever the number of threads.
 *
 * Workers are started for one pass and joined at its end: nothing keeps
 * running inside a debugger between commands.  They block every signal
 * (Ctrl-C reaches the debugger's thread) and never call the front end:
 * only the caller's thread polls for an interrupt and reports progress.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define MAX_JOBS 256

static unsigned jobs_setting;  /* --jobs of the command being run; 0: the default */

static unsigned default_jobs(void)
{
	const char *env = getenv("MEMDBG_JOBS");
	if (env && *env) {
		char *end;
		unsigned long n = strtoul(env, &end, 10);
		if (!*end && n >= 1)
			return n < MAX_JOBS ? (unsigned)n : MAX_JOBS;
	}
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n < MAX_JOBS ? (unsigned)n : MAX_JOBS;
}

unsigned memdbg_jobs(void)
{
	return jobs_setting ? jobs_setting : default_jobs();
}

/* A live target's reads go through one page cache: one thread. */
unsigned memdbg_target_jobs(const struct memdbg_target *t)
{
	return t && t->live ? 1 : memdbg_jobs();
}

unsigned memdbg_jobs_set(unsigned n)
{
	unsigned old = jobs_setting;
	jobs_setting = n < MAX_JOBS ? n : MAX_JOBS;
	return old;
}

struct pass {
	memdbg_chunk_fn fn;
	void *arg;
	size_t n, grain, nchunks;
	size_t next;  /* the next chunk to take (atomic) */
	size_t done;  /* chunks finished (atomic) */
	int stop;     /* set by the caller on an interrupt (atomic) */
};

/* Take and run chunks until none is left; p is set on the caller's thread only. */
static void run_chunks(struct pass *ps, struct memdbg_printer *p, const char *what, struct memdbg_error **err)
{
	for (;;) {
		if (__atomic_load_n(&ps->stop, __ATOMIC_RELAXED))
			return;
		size_t c = __atomic_fetch_add(&ps->next, 1, __ATOMIC_RELAXED);
		if (c >= ps->nchunks)
			return;
		size_t begin = c * ps->grain, end = begin + ps->grain < ps->n ? begin + ps->grain : ps->n;
		ps->fn(ps->arg, c, begin, end);
		size_t done = __atomic_add_fetch(&ps->done, 1, __ATOMIC_RELAXED);
		if (p) {  /* the caller's thread */
			memdbg_progress(p, what, done, ps->nchunks + 1);
			if ((*err = memdbg_poll_interrupt(p))) {
				__atomic_store_n(&ps->stop, 1, __ATOMIC_RELAXED);
				return;
			}
		}
	}
}

static void *worker(void *arg)
{
	run_chunks(arg, NULL, NULL, NULL);
	return NULL;
}

struct memdbg_error *memdbg_parallel(struct memdbg_target *t, struct memdbg_printer *p, const char *what, size_t n,
				     size_t grain, memdbg_chunk_fn fn, void *arg)
{
	if (!grain)
		grain = 1;
	struct pass ps = { .fn = fn, .arg = arg, .n = n, .grain = grain, .nchunks = n / grain + (n % grain != 0) };
	size_t want = memdbg_target_jobs(t);
	if (want > ps.nchunks)
		want = ps.nchunks ? ps.nchunks : 1;
	pthread_t tids[MAX_JOBS];
	size_t started = 0;
	if (want > 1) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		while (started < want - 1 && pthread_create(&tids[started], NULL, worker, &ps) == 0)
			started++;  /* fewer threads when the system refuses more: the pass is the same */
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	struct memdbg_error *err = NULL;
	run_chunks(&ps, p, what, &err);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (p && what)
		memdbg_progress(p, what, 1, 1);
	return err;
}
