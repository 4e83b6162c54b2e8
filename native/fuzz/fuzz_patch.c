/*
 * fuzz_patch - the decoders on a real core with a few words changed: each
 * input is a list of patches into named windows of a real core (runtime
 * structures, spans, heap arenas, allocator metadata) or of its executable;
 * the patched copies are opened as a target and the commands run on them.
 * The empty input is the real core unchanged, so the corpus is small and
 * means the same on any machine that builds the same sample.
 *
 *   MEMDBG_FUZZ_CORE     the real core (required; copied once to TMPDIR)
 *   MEMDBG_FUZZ_EXE      its executable (required; copied if a window is in it)
 *   MEMDBG_FUZZ_REGIONS  file of windows, one a line (required):
 *                            core|exe FILE-OFFSET LENGTH NAME
 *                        written by tests/fuzz_seeds.py from the core's
 *                        program headers and the executable's symbols
 *   MEMDBG_FUZZ_CMDS     the commands (default: the Go ones below)
 *
 * Input: records of 13 bytes: region (1 byte, modulo the window count),
 * offset (4 bytes LE), value (8 bytes LE).  Offset bit 31 clear: the value is
 * written as the 8-byte word at offset (modulo the window, 8-aligned); set:
 * only its low byte, at offset (modulo the window).  At most 64 records are read.
 */
#include <sys/stat.h>

#include "harness.h"

#define MAX_REGIONS 256
#define MAX_PATCHES 64
#define RECORD 13

struct region {
	int exe; /* 0: the core copy, 1: the exe copy */
	uint64_t off, len;
};

static struct region regions[MAX_REGIONS];
static int nregions;
static char *core_copy, *exe_copy;
static const char *exe_path; /* the copy, or the original when no window is in it */
static int fds[2] = { -1, -1 };

static void cleanup(void)
{
	if (core_copy)
		unlink(core_copy);
	if (exe_copy)
		unlink(exe_copy);
}

/* Copy src to dst, keeping it sparse (zero 4 KiB blocks become holes). */
static void copy_sparse(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fuzz_die("cannot open %s: %s", src, strerror(errno));
	int out = open(dst, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		fuzz_die("cannot create %s: %s", dst, strerror(errno));
	static char buf[1 << 20];
	static const char zero[4096];
	off_t pos = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0)
			fuzz_die("cannot read %s: %s", src, strerror(errno));
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i += 4096) {
			size_t len = (size_t)(n - i < 4096 ? n - i : 4096);
			if (memcmp(buf + i, zero, len) != 0 && pwrite(out, buf + i, len, pos + i) != (ssize_t)len)
				fuzz_die("cannot write %s: %s", dst, strerror(errno));
		}
		pos += n;
	}
	if (ftruncate(out, pos) != 0)
		fuzz_die("cannot size %s: %s", dst, strerror(errno));
	close(in);
	close(out);
}

static void read_regions(const char *path, off_t core_size, off_t exe_size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		fuzz_die("cannot open %s: %s", path, strerror(errno));
	char kind[8], name[128];
	unsigned long long off, len;
	int r;
	while ((r = fscanf(f, "%7s %llu %llu %127s", kind, &off, &len, name)) == 4) {
		if (nregions == MAX_REGIONS)
			fuzz_die("%s: more than %d windows", path, MAX_REGIONS);
		int is_exe = strcmp(kind, "exe") == 0;
		if (!is_exe && strcmp(kind, "core") != 0)
			fuzz_die("%s: window %s: kind is core or exe, not %s", path, name, kind);
		off_t size = is_exe ? exe_size : core_size;
		if (len < 8 || off > (unsigned long long)size || len > (unsigned long long)size - off)
			fuzz_die("%s: window %s (%llu+%llu) is not inside the file", path, name, off, len);
		regions[nregions++] = (struct region){ is_exe, off, len };
	}
	if (r != EOF)
		fuzz_die("%s: a line is not 'core|exe OFFSET LENGTH NAME'", path);
	fclose(f);
	if (!nregions)
		fuzz_die("%s names no window", path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *core = fuzz_env("MEMDBG_FUZZ_CORE", NULL), *exe = fuzz_env("MEMDBG_FUZZ_EXE", NULL);
	struct stat cs, es;
	if (stat(core, &cs) != 0 || stat(exe, &es) != 0)
		fuzz_die("MEMDBG_FUZZ_CORE %s or MEMDBG_FUZZ_EXE %s: %s", core, exe, strerror(errno));
	read_regions(fuzz_env("MEMDBG_FUZZ_REGIONS", NULL), cs.st_size, es.st_size);
	fuzz_parse_cmds("go-info --jobs 1;memstats --json --jobs 1;mspan-walk --limit 20 --jobs 1;"
			"mcentral --spans --json --jobs 1;mcache --jobs 1;objects --limit 20 --jobs 1;"
			"histogram --json --jobs 1;goroutines --jobs 1;frag --json --jobs 1");
	atexit(cleanup);
	core_copy = fuzz_scratch("core");
	copy_sparse(core, core_copy);
	exe_path = exe;
	for (int i = 0; i < nregions; i++)
		if (regions[i].exe && !exe_copy) {
			exe_copy = fuzz_scratch("exe");
			copy_sparse(exe, exe_copy);
			chmod(exe_copy, 0700);
			exe_path = exe_copy;
		}
	if ((fds[0] = open(core_copy, O_RDWR | O_CLOEXEC)) < 0 ||
	    (exe_copy && (fds[1] = open(exe_copy, O_RDWR | O_CLOEXEC)) < 0))
		fuzz_die("cannot reopen the copies: %s", strerror(errno));
	return 0;
}

struct undo {
	int fd;
	uint64_t at;
	size_t len;
	unsigned char old[8];
};

static void put(int fd, const void *p, size_t n, uint64_t at)
{
	if (pwrite(fd, p, n, (off_t)at) != (ssize_t)n)
		fuzz_die("cannot patch a copy: %s", strerror(errno));
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct undo undo[MAX_PATCHES];
	int n = 0;
	for (size_t i = 0; i + RECORD <= size && n < MAX_PATCHES; i += RECORD, n++) {
		const struct region *r = &regions[data[i] % nregions];
		uint32_t off;
		uint64_t val; /* little-endian on x86-64, like the target */
		memcpy(&off, data + i + 1, 4);
		memcpy(&val, data + i + 5, 8);
		struct undo *u = &undo[n];
		u->fd = fds[r->exe];
		if (off & 0x80000000u) {
			u->at = r->off + (off & 0x7fffffffu) % r->len;
			u->len = 1;
		} else {
			u->at = r->off + (off % (r->len / 8)) * 8;
			u->len = 8;
		}
		if (pread(u->fd, u->old, u->len, (off_t)u->at) != (ssize_t)u->len)
			fuzz_die("cannot read a copy: %s", strerror(errno));
		put(u->fd, &val, u->len, u->at);
	}
	struct memdbg_target *t = NULL;
	struct memdbg_error *err = memdbg_target_open_core(core_copy, exe_path, &t);
	if (err)
		fuzz_check_error(err, NULL);
	else
		fuzz_run_cmds(t);
	memdbg_target_destroy(t);
	while (n--) /* in reverse: two patches of one word undo to the original */
		put(undo[n].fd, undo[n].old, undo[n].len, undo[n].at);
	return 0;
}
