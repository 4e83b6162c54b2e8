/*
 * glheap.c - a glibc malloc heap with known contents, and glibc's own figures
 * for it: mallinfo2() and malloc_info() taken right before the process stops
 * itself (MEMDBG_SAMPLE_MODE=stop, for gcore and live tests) or aborts
 * (crash, for kernel cores).  $MEMDBG_ORACLE gets JSON (mallinfo2, the blocks
 * the program holds and those it freed, per thread); $MEMDBG_ORACLE.xml gets
 * malloc_info()'s XML.
 *
 * Three workers (so non-main arenas exist) and the main thread allocate a mix
 * of sizes: tcache-sized, fastbin-sized, small, large and mmapped (200 KiB,
 * past the 128 KiB threshold), and free a third of them.  Each thread then
 * frees ten chunks of one size no other allocation uses: seven go to its
 * tcache, three to its arena's fastbin.  Nothing allocates after the oracle:
 * the XML stream was opened, with a static buffer, before the heap was built;
 * the JSON is formatted into static storage and written with write(2).
 * Built with -DGLHEAP_CGO it is the C side of samples/glibc/cgoheap.
 * GLHEAP_BLOCKS=N makes a benchmark heap of about N small blocks (16-256 bytes)
 * instead.
 *
 * Built with -DGLHEAP_GLIBC_2_2_5 -nostartfiles it also runs on glibc 2.31
 * (the tests run it on other Debian releases' libc.so.6): it binds to the
 * symbol versions 2.31 has (pthread_create lived in libpthread.so.0 then,
 * __libc_start_main and dlsym had no 2.34 version), brings its own _start,
 * and reads mallinfo() where dlsym finds no mallinfo2 (2.33).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef GLHEAP_GLIBC_2_2_5
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver __libc_start_main,__libc_start_main@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
/* crt1.o's work: main, argc, argv, no init or fini, the loader's fini, the stack end. */
__asm__(".text\n.globl _start\n_start:\n"
	"\txor %ebp, %ebp\n\tmov %rdx, %r9\n\tpop %rsi\n\tmov %rsp, %rdx\n\tand $-16, %rsp\n"
	"\tpush %rax\n\tpush %rsp\n\txor %r8d, %r8d\n\txor %ecx, %ecx\n\tlea main(%rip), %rdi\n"
	"\tcall *__libc_start_main@GOTPCREL(%rip)\n\thlt\n");
#endif

#define NWORKERS 3
#define NTHREADS (NWORKERS + 1)
#define PER_SIZE 30
#define MAX_BLOCKS 4096
#define CACHED 10       /* freed last: 7 to the tcache, 3 to a fastbin */
#define CACHED_SIZE 88  /* a 96-byte chunk: no other allocation has it */
#define CHAIN_LEN 100

static const size_t sizes[] = { 8, 24, 40, 56, 100, 120, 200, 500, 1000, 1500, 3000, 5000, 10000, 30000, 70000 };
/* Benchmark heaps (GLHEAP_BLOCKS): small blocks only. */
static const size_t bench_sizes[] = { 16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256 };
static const size_t *use_sizes = sizes;
static size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
static long per_size = PER_SIZE;
#define MMAPPED_SIZE (200 << 10)

struct thread_blocks {
	long tid;
	uintptr_t held[MAX_BLOCKS], freed[MAX_BLOCKS], cached[CACHED];
	size_t nheld, nfreed;
};
static struct thread_blocks tb[NTHREADS];

struct node {
	struct node *next;
	uint64_t payload[7];
};
static struct node *chain_head;
static struct node *chain[CHAIN_LEN];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ready;

static char out[1 << 20];
static size_t outlen;
static char xml_buf[1 << 20];

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

static void fill(int slot, unsigned seed)
{
	struct thread_blocks *b = &tb[slot];
	void *prev = NULL;
	b->tid = syscall(SYS_gettid);
	/* Outside the malloc heap, so keeping the list changes nothing the oracle sees. */
	size_t cap = (size_t)per_size * nsizes, n = 0;
	void **all = mmap(NULL, cap * sizeof(*all), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (all == MAP_FAILED)
		abort();
	for (long i = 0; i < per_size; i++) {
		for (size_t s = 0; s < nsizes; s++) {
			seed = seed * 1103515245u + 12345u;
			size_t size = use_sizes[s] - (use_sizes[s] > 8 ? (seed >> 16) % 8 : 0);
			void *p = malloc(size);
			memset(p, 0x5a, size < 64 ? size : 64);
			*(void **)p = prev;  /* a heap full of pointers */
			prev = p;
			all[n++] = p;
		}
	}
	/* Freed after all are made, so none is reused: tcache bins fill, then fastbins and bins. */
	for (size_t i = 0; i < n; i++) {
		if (i % 3 == 0) {
			free(all[i]);
			if (b->nfreed < MAX_BLOCKS)
				b->freed[b->nfreed++] = (uintptr_t)all[i];
		} else if (b->nheld < MAX_BLOCKS - 8) {
			b->held[b->nheld++] = (uintptr_t)all[i];
		}
	}
	munmap(all, cap * sizeof(*all));
	/* A request no tcache serves: malloc sorts the unsorted chunks into small and large bins. */
	b->held[b->nheld++] = (uintptr_t)malloc(2000);
	for (int i = 0; i < 2; i++)
		b->held[b->nheld++] = (uintptr_t)malloc(MMAPPED_SIZE + (size_t)slot * 4096);
	void *cached[CACHED];
	for (int i = 0; i < CACHED; i++)
		cached[i] = malloc(CACHED_SIZE);
	for (int i = 0; i < CACHED; i++) {
		free(cached[i]);
		b->cached[i] = (uintptr_t)cached[i];
	}
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

static void addr_list(const char *key, const uintptr_t *v, size_t n)
{
	put("\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		put("%s\"0x%lx\"", i ? "," : "", (unsigned long)v[i]);
	put("]");
}

static void write_oracle(const char *path, const struct mallinfo2 *m)
{
	put("{\"mallinfo2\":{\"arena\":%zu,\"ordblks\":%zu,\"smblks\":%zu,\"hblks\":%zu,\"hblkhd\":%zu,"
	    "\"usmblks\":%zu,\"fsmblks\":%zu,\"uordblks\":%zu,\"fordblks\":%zu,\"keepcost\":%zu},",
	    m->arena, m->ordblks, m->smblks, m->hblks, m->hblkhd, m->usmblks, m->fsmblks, m->uordblks, m->fordblks,
	    m->keepcost);
	put("\"cached_size\":%d,\"threads\":[", CACHED_SIZE);
	for (int t = 0; t < NTHREADS; t++) {
		put("%s{\"tid\":%ld,", t ? "," : "", tb[t].tid);
		addr_list("held", tb[t].held, tb[t].nheld);
		put(",");
		addr_list("freed", tb[t].freed, tb[t].nfreed);
		put(",");
		addr_list("cached", tb[t].cached, CACHED);
		put("}");
	}
	put("],");
	uintptr_t c[CHAIN_LEN];
	for (int i = 0; i < CHAIN_LEN; i++)
		c[i] = (uintptr_t)chain[i];
	addr_list("chain", c, CHAIN_LEN);
	put("}\n");
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, out, outlen) != (ssize_t)outlen || close(fd) != 0)
		abort();
}

#ifdef GLHEAP_GLIBC_2_2_5
/* Looked up before the heap is built: a failed dlsym mallocs its error message. */
static struct mallinfo2 (*mallinfo2_fn)(void);
#endif

static struct mallinfo2 read_mallinfo2(void)
{
#ifdef GLHEAP_GLIBC_2_2_5
	if (!mallinfo2_fn) {  /* int fields: exact while the heap is under 2 GiB, as this one is */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		struct mallinfo o = mallinfo();
		return (struct mallinfo2){ (size_t)o.arena, (size_t)o.ordblks, (size_t)o.smblks, (size_t)o.hblks,
					   (size_t)o.hblkhd, (size_t)o.usmblks, (size_t)o.fsmblks, (size_t)o.uordblks,
					   (size_t)o.fordblks, (size_t)o.keepcost };
	}
	return mallinfo2_fn();
#else
	return mallinfo2();
#endif
}

#ifdef GLHEAP_CGO
int glheap_main(void)  /* called by samples/glibc/cgoheap, a Go program */
#else
int main(void)
#endif
{
	const char *mode = getenv("MEMDBG_SAMPLE_MODE"), *oracle = getenv("MEMDBG_ORACLE");
	if (!mode || !oracle) {
		fprintf(stderr, "usage: MEMDBG_SAMPLE_MODE=stop|crash MEMDBG_ORACLE=PATH glheap\n");
		return 2;
	}
	const char *scale = getenv("GLHEAP_BLOCKS");
	if (scale) {
		use_sizes = bench_sizes;
		nsizes = sizeof(bench_sizes) / sizeof(bench_sizes[0]);
		/* Two thirds of the blocks are kept: allocate 1.5 times what is to be kept. */
		per_size = atol(scale) * 3 / 2 / (long)nsizes / NTHREADS + 1;
	}
#ifdef GLHEAP_GLIBC_2_2_5
	mallinfo2_fn = (struct mallinfo2 (*)(void))dlsym(RTLD_DEFAULT, "mallinfo2");
#endif
	char xml_path[4096];
	snprintf(xml_path, sizeof(xml_path), "%s.xml", oracle);
	FILE *xml = fopen(xml_path, "w");
	if (!xml || setvbuf(xml, xml_buf, _IOFBF, sizeof(xml_buf)) != 0)
		abort();
	pthread_t th[NWORKERS];
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 1));
	pthread_mutex_lock(&mu);
	while (ready < NWORKERS)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < CHAIN_LEN; i++) {
		chain[i] = malloc(sizeof(struct node));
		memset(chain[i], 0, sizeof(struct node));
		if (i)
			chain[i - 1]->next = chain[i];
	}
	chain_head = chain[0];
	fill(0, 7);

	struct mallinfo2 m = read_mallinfo2();
	if (malloc_info(0, xml) != 0 || fflush(xml) != 0)
		abort();
	write_oracle(oracle, &m);
	if (strcmp(mode, "crash") == 0)
		abort();
	while (1)
		raise(SIGSTOP);
}
