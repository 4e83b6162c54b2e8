/*
 * jeheap.c - a jemalloc heap with known contents, and jemalloc's own figures
 * for it (mallctl, after "epoch"), written to $MEMDBG_ORACLE right before the
 * process stops itself (MEMDBG_SAMPLE_MODE=stop, for gcore and live tests) or
 * aborts (crash, for kernel cores).
 *
 * Linked against Debian's libjemalloc.so.2 (-ljemalloc) or statically against
 * libjemalloc_pic.a.  JEHEAP_BLOCKS=N makes a benchmark heap of about N small
 * blocks (16-256 bytes) instead.
 *
 * Four threads allocate blocks across the small and large size classes and
 * free a third of them, so thread caches hold regions; workers then wait
 * forever so their caches survive.  A 10 MiB block lands in the huge arena.
 * After the oracle is taken nothing allocates: it is formatted with snprintf
 * into static storage and written with write(2).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef JEHEAP_PREFIX
#define MALLCTL je_mallctl
#define MALLOC je_malloc
#define FREE je_free
#define USABLE je_malloc_usable_size
#else
#define MALLCTL mallctl
#define MALLOC malloc
#define FREE free
#define USABLE malloc_usable_size
#endif
int MALLCTL(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
void *MALLOC(size_t size);
void FREE(void *p);
size_t USABLE(void *p);

#define NWORKERS 3
#define NBINS 36
#define MAX_ARENAS 64
#define CHAIN_LEN 100

static const size_t sizes[] = { 8, 16, 24, 40, 64, 100, 128, 200, 256, 384, 500, 1000, 1500, 2048,
				3000, 4096, 6000, 8192, 10000, 14336, 16384, 20000, 28000, 40000, 100000, 300000 };

/* Benchmark heaps (JEHEAP_BLOCKS): small blocks only, about 117 bytes on average. */
static const size_t bench_sizes[] = { 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256 };
static const size_t *use_sizes = sizes;
static size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);

static long per_size = 60;
static void **kept[NWORKERS + 1];
static size_t nkept[NWORKERS + 1];

/* A linked chain of 64-byte nodes, the head in a global: referents for find-refs. */
struct node {
	struct node *next;
	uint64_t payload[7];
};
static struct node *chain_head;
static struct node *chain[CHAIN_LEN];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static char out[4 << 20];
static size_t outlen;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out + outlen, sizeof(out) - outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(out) - outlen)
		abort();
	outlen += (size_t)n;
}

static uint64_t ctl_u64(const char *name, size_t width)
{
	uint64_t v = 0;
	size_t len = width;
	if (MALLCTL(name, &v, &len, NULL, 0) != 0) {
		fprintf(stderr, "jeheap: mallctl %s failed\n", name);
		abort();
	}
	return width == 4 ? (uint32_t)v : width == 1 ? (uint8_t)v : v;
}

static uint64_t ctlf(size_t width, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint64_t ctlf(size_t width, const char *fmt, ...)
{
	char name[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	return ctl_u64(name, width);
}

/* Allocate per_size blocks of every size; free every third, most recent last. */
static void fill(int slot, unsigned seed)
{
	size_t n = 0, cap = nsizes * (size_t)per_size;
	void *prev = NULL;
	kept[slot] = MALLOC(cap * sizeof(void *));
	for (long i = 0; i < per_size; i++) {
		for (size_t s = 0; s < nsizes; s++) {
			seed = seed * 1103515245u + 12345u;
			size_t size = use_sizes[s] - (use_sizes[s] > 8 ? (seed >> 16) % 8 : 0);
			void *p = MALLOC(size);
			memset(p, 0x5a, size < 64 ? size : 64);
			if ((i + s) % 3 == 0) {
				FREE(p);
				continue;
			}
			/* Each kept block points to the one before: a heap full of pointers. */
			*(void **)p = prev;
			prev = p;
			kept[slot][n++] = p;
		}
	}
	nkept[slot] = n;
}

static void *worker(void *arg)
{
	int slot = (int)(intptr_t)arg;
	fill(slot, 1000u + (unsigned)slot);
	pthread_mutex_lock(&mu);
	ready++;
	pthread_cond_broadcast(&cv);
	while (1)
		pthread_cond_wait(&cv, &mu);
	return NULL;
}

static void block(const char *name, uintptr_t p, size_t request, const char *state)
{
	put("%s{\"name\":\"%s\",\"addr\":\"0x%lx\",\"request\":%zu,\"state\":\"%s\"}", outlen && out[outlen - 1] == '[' ? "" : ",",
	    name, (unsigned long)p, request, state);
}

static void write_arena(unsigned a, size_t nbins)
{
	put("{\"index\":%u,\"nthreads\":%llu,\"pactive\":%llu,\"pdirty\":%llu,\"pmuzzy\":%llu,"
	    "\"small_allocated\":%llu,\"large_allocated\":%llu,\"tcache_bytes\":%llu,\"hpa_sec_bytes\":%llu,"
	    "\"bins\":[",
	    a, (unsigned long long)ctlf(4, "stats.arenas.%u.nthreads", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.pactive", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.pdirty", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.pmuzzy", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.small.allocated", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.large.allocated", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.tcache_bytes", a),
	    (unsigned long long)ctlf(8, "stats.arenas.%u.hpa_sec_bytes", a));
	for (size_t j = 0; j < nbins; j++)
		put("%s{\"bin\":%zu,\"curregs\":%llu,\"curslabs\":%llu,\"nonfull_slabs\":%llu,\"nmalloc\":%llu,"
		    "\"ndalloc\":%llu}", j ? "," : "", j,
		    (unsigned long long)ctlf(8, "stats.arenas.%u.bins.%zu.curregs", a, j),
		    (unsigned long long)ctlf(8, "stats.arenas.%u.bins.%zu.curslabs", a, j),
		    (unsigned long long)ctlf(8, "stats.arenas.%u.bins.%zu.nonfull_slabs", a, j),
		    (unsigned long long)ctlf(8, "stats.arenas.%u.bins.%zu.nmalloc", a, j),
		    (unsigned long long)ctlf(8, "stats.arenas.%u.bins.%zu.ndalloc", a, j));
	put("]}");
}

static void write_oracle(const char *path, const uintptr_t *blocks)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	if (MALLCTL("epoch", &epoch, &len, &epoch, sizeof(epoch)) != 0)
		abort();
	const char *version = NULL;
	len = sizeof(version);
	MALLCTL("version", &version, &len, NULL, 0);
	unsigned narenas = (unsigned)ctl_u64("arenas.narenas", 4);
	size_t nbins = ctl_u64("arenas.nbins", 4);
	put("{\"version\":\"%s\",\"narenas\":%u,\"nbins\":%zu,\"nhbins\":%llu,\"page\":%llu,\"tcache_max\":%llu,"
	    "\"allocated\":%llu,\"active\":%llu,\"metadata\":%llu,\"resident\":%llu,\"mapped\":%llu,"
	    "\"retained\":%llu,\"tcache_bytes\":%llu,\"opt_hpa\":%s,\"opt_narenas\":%llu,\"oversize_threshold\":%llu,",
	    version, narenas, nbins, (unsigned long long)ctl_u64("arenas.nhbins", 4),
	    (unsigned long long)ctl_u64("arenas.page", 8), (unsigned long long)ctl_u64("arenas.tcache_max", 8),
	    (unsigned long long)ctl_u64("stats.allocated", 8), (unsigned long long)ctl_u64("stats.active", 8),
	    (unsigned long long)ctl_u64("stats.metadata", 8), (unsigned long long)ctl_u64("stats.resident", 8),
	    (unsigned long long)ctl_u64("stats.mapped", 8), (unsigned long long)ctl_u64("stats.retained", 8),
	    (unsigned long long)ctl_u64("stats.arenas.4096.tcache_bytes", 8), ctl_u64("opt.hpa", 1) ? "true" : "false",
	    (unsigned long long)ctl_u64("opt.narenas", 4), (unsigned long long)ctl_u64("opt.oversize_threshold", 8));
	put("\"bin_info\":[");
	for (size_t j = 0; j < nbins; j++)
		put("%s{\"size\":%llu,\"nregs\":%llu,\"slab_size\":%llu}", j ? "," : "",
		    (unsigned long long)ctlf(8, "arenas.bin.%zu.size", j),
		    (unsigned long long)ctlf(4, "arenas.bin.%zu.nregs", j),
		    (unsigned long long)ctlf(8, "arenas.bin.%zu.slab_size", j));
	put("],\"arenas\":[");
	int first = 1;
	for (unsigned a = 0; a < narenas && a < MAX_ARENAS; a++) {
		if (!ctlf(1, "arena.%u.initialized", a))
			continue;
		if (!first)
			put(",");
		first = 0;
		write_arena(a, nbins);
	}
	put("],\"chain_global\":\"%p\",\"chain\":[", (void *)&chain_head);
	for (int i = 0; i < CHAIN_LEN; i++)
		put("%s\"%p\"", i ? "," : "", (void *)chain[i]);
	put("],\"blocks\":[");
	block("small", blocks[0], 100, "allocated");
	block("small_tcache", blocks[1], 100, "tcache");
	block("small_free", blocks[2], 200, "free");
	block("large", blocks[3], 40000, "allocated");
	block("large_tcache", blocks[4], 20000, "tcache");
	block("huge", blocks[5], 10 << 20, "allocated");
	put("]}\n");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, out, outlen) != (ssize_t)outlen || close(fd) != 0)
		abort();
}

int main(void)
{
	const char *mode = getenv("MEMDBG_SAMPLE_MODE"), *oracle = getenv("MEMDBG_ORACLE");
	const char *scale = getenv("JEHEAP_BLOCKS");
	if (!mode || !oracle) {
		fprintf(stderr, "usage: MEMDBG_SAMPLE_MODE=stop|crash MEMDBG_ORACLE=PATH jeheap\n");
		return 2;
	}
	if (scale) {
		use_sizes = bench_sizes;
		nsizes = sizeof(bench_sizes) / sizeof(bench_sizes[0]);
		/* A third of the blocks are freed: allocate 1.5 times what is to be kept. */
		per_size = atol(scale) * 3 / 2 / (long)nsizes / (NWORKERS + 1) + 1;
	}
	pthread_t th[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 1));
	fill(0, 7);
	for (int i = 0; i < CHAIN_LEN; i++) {
		chain[i] = MALLOC(sizeof(struct node));
		memset(chain[i], 0, sizeof(struct node));
		if (i)
			chain[i - 1]->next = chain[i];
	}
	chain_head = chain[0];
	pthread_mutex_lock(&mu);
	while (ready < NWORKERS)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);

	/* Blocks whose state je-block must tell: allocated, in this thread's cache, free in its slab. */
	uintptr_t blocks[6];
	void *gone = MALLOC(200);
	blocks[0] = (uintptr_t)MALLOC(100);
	blocks[3] = (uintptr_t)MALLOC(40000);
	blocks[5] = (uintptr_t)MALLOC(10 << 20);
	void *t1 = MALLOC(100), *t2 = MALLOC(20000);
	blocks[2] = (uintptr_t)gone;
	FREE(gone);
	MALLCTL("thread.tcache.flush", NULL, NULL, NULL, 0);
	blocks[1] = (uintptr_t)t1;
	blocks[4] = (uintptr_t)t2;
	FREE(t1);
	FREE(t2);
	write_oracle(oracle, blocks);
	if (strcmp(mode, "crash") == 0)
		abort();
	while (1)
		raise(SIGSTOP);
}
