// tcheap.cc - a TCMalloc (gperftools) heap with known contents, and the
// allocator's own figures for it, written to $MEMDBG_ORACLE right before the
// process stops itself (MEMDBG_SAMPLE_MODE=stop: gcore, live) or aborts
// (crash: kernel core).  Linked against libtcmalloc_minimal.so.4,
// libtcmalloc.so.4 or libtcmalloc_minimal.a.  TCHEAP_BLOCKS=N makes a benchmark
// heap of about N small blocks (16-256 bytes) instead.
//
// The oracle: MallocExtension's numeric properties, the GetStats text (free
// objects per size class, free spans by length), and from Ranges() every
// span with its refcount (objects handed out), per size class.  Four threads
// allocate across the size classes and free a third, so thread caches hold
// objects; workers then wait forever.  Part of the page heap is released
// (unmapped).  After the figures are taken nothing allocates.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gperftools/malloc_extension.h>

#define NWORKERS 3
#define CHAIN_LEN 100
#define MAX_CLASSES 256
/* gperftools' kMaxSize: larger requests get a span of their own. */
#define kMaxSmall (256 * 1024)

static const size_t sizes[] = { 8, 16, 24, 40, 64, 100, 128, 200, 256, 384, 500, 1000, 1500, 2048,
				3000, 4096, 6000, 8192, 10000, 20000, 40000, 100000, 200000, 300000, 600000 };

/* Benchmark heaps (TCHEAP_BLOCKS): small blocks only, about 117 bytes on average. */
static const size_t bench_sizes[] = { 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256 };
static const size_t *use_sizes = sizes;
static size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);

static long per_size = 60;
static void *keep[8];
static void *volatile last[8];

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
static char stats_text[1 << 20];

/* Per span size class (by object size), from Ranges(). */
struct class_span {
	size_t size, spans, refcount;
};
static struct class_span classes[MAX_CLASSES];
static size_t nclasses;
static size_t large_spans, large_bytes, free_spans, free_bytes, unmapped_spans, unmapped_bytes;

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

static void fill(unsigned seed)
{
	void *prev = NULL;
	for (long i = 0; i < per_size; i++) {
		for (size_t s = 0; s < nsizes; s++) {
			seed = seed * 1103515245u + 12345u;
			size_t size = use_sizes[s] - (use_sizes[s] > 8 ? (seed >> 16) % 8 : 0);
			void *p = malloc(size);
			memset(p, 0x5a, size < 64 ? size : 64);
			if ((i + s) % 3 == 0) {
				free(p);
				continue;
			}
			/* Each kept block points to the one before: a heap full of pointers (and all reachable). */
			*(void **)p = prev;
			prev = p;
		}
	}
	last[seed % 8] = prev;
}

static void *worker(void *arg)
{
	fill(1000u + (unsigned)(uintptr_t)arg);
	pthread_mutex_lock(&mu);
	ready++;
	pthread_cond_broadcast(&cv);
	while (1)
		pthread_cond_wait(&cv, &mu);
	return NULL;
}

static void range(void *arg, const base::MallocRange *r)
{
	(void)arg;
	if (r->type == base::MallocRange::FREE) {
		free_spans++;
		free_bytes += r->length;
	} else if (r->type == base::MallocRange::UNMAPPED) {
		unmapped_spans++;
		unmapped_bytes += r->length;
	} else if (r->type == base::MallocRange::INUSE) {
		/* A small span's class size is what the allocator reports for any pointer into it. */
		size_t osize = MallocExtension::instance()->GetAllocatedSize((void *)r->address);
		size_t objs = (size_t)(r->fraction * (double)r->length / (double)osize + 0.5);
		if (osize > kMaxSmall) {
			large_spans++;
			large_bytes += r->length;
			return;
		}
		size_t i = 0;
		while (i < nclasses && classes[i].size != osize)
			i++;
		if (i == nclasses) {
			if (nclasses == MAX_CLASSES)
				abort();
			classes[nclasses++].size = osize;
		}
		classes[i].spans++;
		classes[i].refcount += objs;
	}
}

static size_t prop(const char *name)
{
	size_t v = 0;
	if (!MallocExtension::instance()->GetNumericProperty(name, &v)) {
		fprintf(stderr, "tcheap: no property %s\n", name);
		abort();
	}
	return v;
}

static void put_json_string(const char *s)
{
	put("\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put("\\%c", *s);
		else if (*s == '\n')
			put("\\n");
		else
			put("%c", *s);
	}
	put("\"");
}

static void write_oracle(const char *path, const uintptr_t *blocks)
{
	static const char *const props[] = {
		"generic.current_allocated_bytes", "generic.heap_size", "tcmalloc.pageheap_free_bytes",
		"tcmalloc.pageheap_unmapped_bytes", "tcmalloc.pageheap_committed_bytes",
		"tcmalloc.central_cache_free_bytes", "tcmalloc.transfer_cache_free_bytes",
		"tcmalloc.thread_cache_free_bytes", "tcmalloc.current_total_thread_cache_bytes",
		"tcmalloc.slack_bytes",
	};
	put("{\"properties\":{");
	for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
		put("%s\"%s\":%zu", i ? "," : "", props[i], prop(props[i]));
	MallocExtension::instance()->GetStats(stats_text, sizeof(stats_text));
	MallocExtension::instance()->Ranges(NULL, range);
	put("},\"ranges\":{\"large_spans\":%zu,\"large_bytes\":%zu,\"free_spans\":%zu,\"free_bytes\":%zu,"
	    "\"unmapped_spans\":%zu,\"unmapped_bytes\":%zu,\"classes\":[",
	    large_spans, large_bytes, free_spans, free_bytes, unmapped_spans, unmapped_bytes);
	for (size_t i = 0; i < nclasses; i++)
		put("%s{\"size\":%zu,\"spans\":%zu,\"refcount\":%zu}", i ? "," : "", classes[i].size, classes[i].spans,
		    classes[i].refcount);
	put("]},\"stats\":");
	put_json_string(stats_text);
	put(",\"chain_global\":\"%p\",\"chain\":[", (void *)&chain_head);
	for (int i = 0; i < CHAIN_LEN; i++)
		put("%s\"%p\"", i ? "," : "", (void *)chain[i]);
	put("],\"blocks\":[{\"name\":\"small\",\"addr\":\"0x%lx\",\"request\":100,\"state\":\"allocated\"},"
	    "{\"name\":\"small_cached\",\"addr\":\"0x%lx\",\"request\":100,\"state\":\"thread\"},"
	    "{\"name\":\"large\",\"addr\":\"0x%lx\",\"request\":300000,\"state\":\"allocated\"},"
	    "{\"name\":\"huge\",\"addr\":\"0x%lx\",\"request\":10485760,\"state\":\"allocated\"}]}\n",
	    (unsigned long)blocks[0], (unsigned long)blocks[1], (unsigned long)blocks[2], (unsigned long)blocks[3]);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, out, outlen) != (ssize_t)outlen || close(fd) != 0)
		abort();
}

int main()
{
	const char *mode = getenv("MEMDBG_SAMPLE_MODE"), *oracle = getenv("MEMDBG_ORACLE");
	const char *scale = getenv("TCHEAP_BLOCKS");
	if (!mode || !oracle) {
		fprintf(stderr, "usage: MEMDBG_SAMPLE_MODE=stop|crash MEMDBG_ORACLE=PATH tcheap\n");
		return 2;
	}
	if (scale) {
		use_sizes = bench_sizes;
		nsizes = sizeof(bench_sizes) / sizeof(bench_sizes[0]);
		per_size = atol(scale) * 3 / 2 / (long)nsizes / (NWORKERS + 1) + 1;
	}
	pthread_t th[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 1));
	fill(7);
	for (int i = 0; i < CHAIN_LEN; i++) {
		chain[i] = (struct node *)calloc(1, sizeof(struct node));
		if (i)
			chain[i - 1]->next = chain[i];
	}
	chain_head = chain[0];
	pthread_mutex_lock(&mu);
	while (ready < NWORKERS)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);

	/* Free page runs, some of them given back to the system (unmapped). */
	void *big[8];
	/* Kept blocks between the freed ones stop free runs from merging. */
	for (int i = 0; i < 8; i++) {
		big[i] = malloc((size_t)(i + 1) << 20);
		keep[i] = malloc(300000);
	}
	for (int i = 0; i < 8; i += 2)
		free(big[i]);
	MallocExtension::instance()->ReleaseFreeMemory();
	for (int i = 1; i < 8; i += 2)
		free(big[i]);

	uintptr_t blocks[4];
	blocks[0] = (uintptr_t)malloc(100);
	void *cached = malloc(100);
	blocks[2] = (uintptr_t)malloc(300000);
	blocks[3] = (uintptr_t)malloc(10 << 20);
	blocks[1] = (uintptr_t)cached;
	free(cached);
	write_oracle(oracle, blocks);
	if (strcmp(mode, "crash") == 0)
		abort();
	while (1)
		raise(SIGSTOP);
}
