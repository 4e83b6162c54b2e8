/*
 * target.c - opening a core or a live process, and reading its memory.
 *
 * A core's memory is its PT_LOAD segments, mmapped; ranges the kernel did
 * not dump (read-only file mappings) are served from the mapped files named
 * in NT_FILE, the executable first.  A live process is read with
 * process_vm_readv through a small page cache; nothing is ever written.
 */

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define PAGE_CACHE_SLOTS 512
#define PAGE_SIZE_LIVE 4096

struct memdbg_page {
	uint64_t addr;  /* page address + 1; 0 = empty slot */
	bool ok;
	uint8_t data[PAGE_SIZE_LIVE];
};

/* One NT_FILE entry. */
struct core_file_map {
	uint64_t start, end, offset;
	const char *path;
};

struct core_notes {
	struct core_file_map *files;
	size_t nfiles;
	uint64_t at_entry;
	int pid;
	struct memdbg_thread_ptr *threads;
	size_t nthreads;
};

/* struct elf_prstatus (x86-64): pr_pid, and pr_reg (user_regs_struct) whose fs_base is word 21. */
#define PRSTATUS_PID 32
#define PRSTATUS_FS_BASE (112 + 21 * 8)

static struct memdbg_error *add_prstatus(struct core_notes *n, const uint8_t *desc, size_t len)
{
	if (len < PRSTATUS_FS_BASE + 8)
		return NULL;
	struct memdbg_thread_ptr *v = realloc(n->threads, (n->nthreads + 1) * sizeof(*v));
	if (!v)
		return memdbg_enomem;
	n->threads = v;
	int32_t tid;
	memcpy(&tid, desc + PRSTATUS_PID, 4);
	v[n->nthreads].tid = tid;
	memcpy(&v[n->nthreads].fs_base, desc + PRSTATUS_FS_BASE, 8);
	n->nthreads++;
	return NULL;
}

static struct memdbg_error *map_file(struct memdbg_target *t, const char *path, const char *what, const uint8_t **data,
				    size_t *len)
{
	int fd;
	uint64_t size;
	struct memdbg_error *err = memdbg_open_regular(path, what, &fd, &size);
	if (err)
		return err;
	size_t n = (size_t)size;
	void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return memdbg_error_os("cannot map", path);
	void **maps = realloc(t->maps, (t->nmaps + 1) * sizeof(*maps));
	size_t *lens = maps ? realloc(t->map_lens, (t->nmaps + 1) * sizeof(*lens)) : NULL;
	if (maps)
		t->maps = maps;
	if (!lens) {
		munmap(m, n);
		return memdbg_enomem;
	}
	t->map_lens = lens;
	t->maps[t->nmaps] = m;
	t->map_lens[t->nmaps++] = n;
	*data = m;
	*len = n;
	return NULL;
}

static struct memdbg_error *add_segment(struct memdbg_target *t, size_t *cap, uint64_t start, uint64_t end,
					const uint8_t *data, bool from_file)
{
	if (start >= end)
		return NULL;
	if (t->nsegs == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		struct memdbg_segment *s = realloc(t->segs, *cap * sizeof(*s));
		if (!s)
			return memdbg_enomem;
		t->segs = s;
	}
	t->segs[t->nsegs++] = (struct memdbg_segment){ start, end, data, from_file };
	return NULL;
}

static int segment_cmp(const void *a, const void *b)
{
	const struct memdbg_segment *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static const struct memdbg_segment *find_segment(const struct memdbg_target *t, uint64_t addr)
{
	/* Reads cluster: this thread's last segment first (it must belong to t). */
	static __thread const struct memdbg_segment *last;
	const struct memdbg_segment *s = last;
	if (s && (uintptr_t)s - (uintptr_t)t->segs < t->nsegs * sizeof(*s) && addr - s->start < s->end - s->start)
		return s;
	size_t lo = 0, hi = t->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->segs[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nsegs && t->segs[lo].start <= addr)
		return last = &t->segs[lo];
	return NULL;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~(uint64_t)3;
}

static struct memdbg_error *corrupt_notes(const char *path, size_t seg, uint64_t seg_off, uint64_t seg_len,
					  uint64_t at, const char *why)
{
	return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
				   "core %s: its notes are corrupt: %s at byte %" PRIu64 " (PT_NOTE program header %zu, %" PRIu64
				   " bytes at byte %" PRIu64 ")",
				   path, why, at, seg, seg_len, seg_off);
}

static struct memdbg_error *parse_nt_file(const char *path, const uint8_t *desc, uint64_t descsz, struct core_notes *n)
{
	uint64_t count, page;
	memcpy(&count, desc, 8);
	memcpy(&page, desc + 8, 8);
	if (count > (descsz - 16) / 24)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "core %s: its NT_FILE note is corrupt: it lists %" PRIu64
					   " files in %" PRIu64 " bytes",
					   path, count, descsz);
	n->files = calloc(count ? count : 1, sizeof(*n->files));
	if (!n->files)
		return memdbg_enomem;
	const char *names = (const char *)desc + 16 + 24 * count;
	const char *names_end = (const char *)desc + descsz;
	for (uint64_t k = 0; k < count && names < names_end; k++) {
		const uint8_t *e = desc + 16 + 24 * k;
		struct core_file_map *f = &n->files[n->nfiles];
		memcpy(&f->start, e, 8);
		memcpy(&f->end, e + 8, 8);
		memcpy(&f->offset, e + 16, 8);
		f->offset *= page;
		size_t len = strnlen(names, (size_t)(names_end - names));
		if (names + len == names_end)
			break;
		f->path = names;
		names += len + 1;
		n->nfiles++;
	}
	return NULL;
}

/*
 * The notes of every PT_NOTE segment (x86-64 cores: 4-byte aligned
 * headers, names and descriptors).  A note that does not fit its segment is
 * corruption, said with where it is; so is a core whose notes hold none of
 * the ones every Linux core has.
 */
static struct memdbg_error *parse_core_notes(const char *path, const uint8_t *core, size_t core_len, Elf *elf,
					     size_t phnum, struct core_notes *n)
{
	size_t segments = 0, notes = 0;
	bool has_file = false, has_auxv = false;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		segments++;
		if (ph.p_offset > core_len || ph.p_filesz > core_len - ph.p_offset) {
			char what[64];
			snprintf(what, sizeof(what), "its notes (PT_NOTE program header %zu) end", i);
			return memdbg_error_truncated(path, what, ph.p_offset + ph.p_filesz, core_len);
		}
		const uint8_t *seg = core + ph.p_offset;
		uint64_t len = ph.p_filesz;
		for (uint64_t pos = 0; pos < len;) {
			uint32_t hdr[3];  /* namesz, descsz, type */
			if (len - pos < sizeof(hdr))
				return corrupt_notes(path, i, ph.p_offset, len, ph.p_offset + pos,
						     "a note header is cut off");
			memcpy(hdr, seg + pos, sizeof(hdr));
			uint64_t name_at = pos + sizeof(hdr), desc_at = name_at + align4(hdr[0]);
			if (desc_at > len || hdr[1] > len - desc_at) {
				char why[96];
				snprintf(why, sizeof(why), "note %zu (type 0x%x) claims %u name and %u data bytes", notes,
					 hdr[2], hdr[0], hdr[1]);
				return corrupt_notes(path, i, ph.p_offset, len, ph.p_offset + pos, why);
			}
			const uint8_t *desc = seg + desc_at;
			uint64_t descsz = hdr[1];
			pos = desc_at + align4(descsz) < len ? desc_at + align4(descsz) : len;
			notes++;
			struct memdbg_error *err = NULL;
			if (hdr[2] == NT_FILE && descsz >= 16 && !n->files) {
				has_file = true;
				err = parse_nt_file(path, desc, descsz, n);
			} else if (hdr[2] == NT_AUXV) {
				has_auxv = true;
				for (uint64_t k = 0; k + 16 <= descsz; k += 16) {
					uint64_t type, val;
					memcpy(&type, desc + k, 8);
					memcpy(&val, desc + k + 8, 8);
					if (type == AT_ENTRY)
						n->at_entry = val;
				}
			} else if (hdr[2] == NT_PRSTATUS) {
				err = add_prstatus(n, desc, descsz);
			} else if (hdr[2] == NT_PRPSINFO && descsz >= 28) {
				int32_t pid;
				memcpy(&pid, desc + 24, 4);  /* struct elf_prpsinfo: pr_pid after 3 chars + flag */
				n->pid = pid;
			}
			if (err)
				return err;
		}
	}
	if (!segments)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "core %s has no notes (no PT_NOTE program header): its threads and mapped files "
					   "are unknown",
					   path);
	if (!has_file && !has_auxv && !n->nthreads)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "core %s: its notes are damaged: none of its %zu notes is NT_PRSTATUS, NT_AUXV "
					   "or NT_FILE",
					   path, notes);
	return NULL;
}

/* The executable the core was dumped from: the NT_FILE mapping that holds the entry point. */
static const char *core_exe_path(const struct core_notes *n)
{
	for (size_t i = 0; i < n->nfiles; i++)
		if (n->at_entry >= n->files[i].start && n->at_entry < n->files[i].end)
			return n->files[i].path;
	return n->nfiles ? n->files[0].path : NULL;
}

/* Serve [start, end), which the core did not dump, from the files mapped there. */
static struct memdbg_error *add_file_backed(struct memdbg_target *t, size_t *cap, const struct core_notes *n,
					    const char *recorded_exe, uint64_t start, uint64_t end)
{
	struct memdbg_error *err;
	uint64_t cur = start;
	for (size_t i = 0; i < n->nfiles && cur < end; i++) {
		const struct core_file_map *f = &n->files[i];
		if (f->end <= cur || f->start >= end)
			continue;
		uint64_t lo = cur > f->start ? cur : f->start;
		uint64_t hi = end < f->end ? end : f->end;
		if (lo > cur && (err = add_segment(t, cap, cur, lo, NULL, false)))
			return err;
		const char *path = recorded_exe && strcmp(f->path, recorded_exe) == 0 ? t->exe_path : f->path;
		const uint8_t *data;
		size_t len;
		err = map_file(t, path, "a mapped file", &data, &len);
		if (err) {
			/* A library missing on this machine: those bytes are simply unavailable. */
			memdbg_error_destroy(err);
			data = NULL;
			len = 0;
		}
		uint64_t file_off = f->offset + (lo - f->start);
		uint64_t in_file = file_off < len ? len - file_off : 0;
		uint64_t mid = hi - lo < in_file ? hi : lo + in_file;
		/* file_off comes from the notes: past the file's end it may not even make a pointer */
		if ((err = add_segment(t, cap, lo, mid, in_file ? data + file_off : NULL, true)) ||
		    (err = add_segment(t, cap, mid, hi, NULL, false)))
			return err;
		cur = hi;
	}
	return add_segment(t, cap, cur, end, NULL, false);
}

/*
 * gdb's gcore writes no PT_LOAD at all for some read-only file mappings
 * (.rodata of the executable): serve every NT_FILE range no segment covers.
 */
static struct memdbg_error *add_unloaded_files(struct memdbg_target *t, size_t *cap, const struct core_notes *n,
					       const char *recorded_exe)
{
	size_t loaded = t->nsegs;
	struct memdbg_error *err;
	for (size_t i = 0; i < n->nfiles; i++) {
		uint64_t cur = n->files[i].start, end = n->files[i].end;
		/* segs[0..loaded) are sorted and disjoint: skip past those that overlap. */
		for (size_t k = 0; k < loaded && cur < end; k++) {
			const struct memdbg_segment *s = &t->segs[k];
			if (s->end <= cur)
				continue;
			if (s->start >= end)
				break;
			if (s->start > cur && (err = add_file_backed(t, cap, n, recorded_exe, cur, s->start)))
				return err;
			cur = s->end;
		}
		if (cur < end && (err = add_file_backed(t, cap, n, recorded_exe, cur, end)))
			return err;
	}
	if (t->nsegs != loaded)
		qsort(t->segs, t->nsegs, sizeof(*t->segs), segment_cmp);
	return NULL;
}

static void free_mappings(struct memdbg_target *t)
{
	for (size_t i = 0; i < t->nmappings; i++)
		free(t->mappings[i].path);
	free(t->mappings);
	t->mappings = NULL;
	t->nmappings = 0;
}

static struct memdbg_error *add_mapping(struct memdbg_target *t, uint64_t start, uint64_t end, uint64_t offset,
					const char *path)
{
	struct memdbg_mapping *m = realloc(t->mappings, (t->nmappings + 1) * sizeof(*m));
	if (!m)
		return memdbg_enomem;
	t->mappings = m;
	char *copy = strdup(path);
	if (!copy)
		return memdbg_enomem;
	t->mappings[t->nmappings++] = (struct memdbg_mapping){ start, end, offset, copy };
	return NULL;
}

static struct memdbg_error *keep_mappings(struct memdbg_target *t, const struct core_notes *n)
{
	for (size_t i = 0; i < n->nfiles; i++) {
		struct memdbg_error *err = add_mapping(t, n->files[i].start, n->files[i].end, n->files[i].offset,
						       n->files[i].path);
		if (err)
			return err;
	}
	return NULL;
}

/* One line of /proc/PID/maps; name is "" for anonymous memory, "[heap]" and the like. */
struct maps_line {
	unsigned long long start, end, offset;
	char perms[8];
	const char *name;
};

typedef struct memdbg_error *(*maps_line_fn)(void *arg, const struct maps_line *m);

/* Each parsed line of /proc/PID/maps, up to max_lines lines. */
static struct memdbg_error *for_each_maps_line(struct memdbg_target *t, size_t max_lines, maps_line_fn fn, void *arg)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return memdbg_error_os("cannot open", path);
	char line[4096 + 128];
	struct memdbg_error *err = NULL;
	for (size_t k = 0; !err && k < max_lines && fgets(line, sizeof(line), f); k++) {
		struct maps_line m = { .perms = "" };
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &m.start, &m.end, m.perms, &m.offset, &name_at) < 4 ||
		    !name_at)
			continue;
		line[strcspn(line, "\n")] = '\0';
		m.name = line + name_at;
		err = fn(arg, &m);
	}
	fclose(f);
	return err;
}

static struct memdbg_error *keep_file_mapping(void *arg, const struct maps_line *m)
{
	return m->name[0] == '/' ? add_mapping(arg, m->start, m->end, m->offset, m->name) : NULL;
}

/* /proc/PID/maps: the file-backed lines. */
static struct memdbg_error *read_proc_maps(struct memdbg_target *t)
{
	free_mappings(t);
	return for_each_maps_line(t, SIZE_MAX, keep_file_mapping, t);
}

struct memdbg_error *memdbg_target_mappings(struct memdbg_target *t, const struct memdbg_mapping **ret, size_t *n)
{
	if (t->live) {
		struct memdbg_error *err = read_proc_maps(t);
		if (err)
			return err;
	}
	*ret = t->mappings;
	*n = t->nmappings;
	return NULL;
}

#define MAX_REGIONS 65536  /* lines of /proc/PID/maps followed */

static bool mapped_from_file(const struct memdbg_target *t, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < t->nmappings; i++)
		if (lo < t->mappings[i].end && t->mappings[i].start < hi)
			return true;
	return false;
}

struct region_visit {
	memdbg_region_fn fn;
	void *arg;
};

static struct memdbg_error *visit_writable(void *arg, const struct maps_line *m)
{
	const struct region_visit *v = arg;
	if (m->perms[0] != 'r' || m->perms[1] != 'w' || strcmp(m->name, "[vvar]") == 0 ||
	    strcmp(m->name, "[vsyscall]") == 0)
		return NULL;
	return v->fn(v->arg, m->start, m->end, m->name[0] != '/');
}

struct memdbg_error *memdbg_target_data_regions(struct memdbg_target *t, memdbg_region_fn fn, void *arg)
{
	if (t->live) {
		struct region_visit v = { fn, arg };
		return for_each_maps_line(t, MAX_REGIONS, visit_writable, &v);
	}
	struct memdbg_error *err = NULL;
	for (size_t i = 0; i < t->nsegs && !err; i++) {
		const struct memdbg_segment *s = &t->segs[i];
		if (s->data && !s->from_file)
			err = fn(arg, s->start, s->end, !mapped_from_file(t, s->start, s->end));
	}
	return err;
}

/* Bytes of the core itself (not file-backed) at addr, or NULL. */
static const uint8_t *core_bytes(const struct memdbg_target *t, uint64_t addr, size_t len)
{
	const struct memdbg_segment *s = find_segment(t, addr);
	if (!s || !s->data || s->from_file || s->end - addr < len)
		return NULL;
	return s->data + (addr - s->start);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n && i < 20; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* The executable must be the one that was running: its notes (build ids) and entry point. */
static struct memdbg_error *check_exe_matches(struct memdbg_target *t, const struct core_notes *n)
{
	if (n->at_entry && memdbg_elf_entry(t->exe) + t->bias != n->at_entry) {
		char id[41] = "none";
		size_t id_len;
		const uint8_t *bid = memdbg_elf_build_id(t->exe, &id_len);
		if (bid && id_len <= 20)
			hex(id, bid, id_len);
		return memdbg_error_format(MEMDBG_ERROR_MISMATCH,
					   "%s (build-id %s) does not match core %s, dumped from %s: entry point 0x%" PRIx64
					   " != 0x%" PRIx64,
					   t->exe_path, id, t->core_path, core_exe_path(n) ? core_exe_path(n) : "?",
					   memdbg_elf_entry(t->exe) + t->bias, n->at_entry);
	}
	for (size_t i = 0; i < memdbg_elf_note_count(t->exe); i++) {
		uint64_t addr;
		const uint8_t *data;
		size_t len;
		memdbg_elf_note_at(t->exe, i, &addr, &data, &len);
		const uint8_t *in_core = core_bytes(t, addr + t->bias, len);
		if (!in_core || memcmp(in_core, data, len) == 0)
			continue;
		char want[41] = "", got[41] = "";
		size_t id_len;
		const uint8_t *id = memdbg_elf_build_id(t->exe, &id_len);
		if (id && id_len <= 20 && id >= data && id + id_len <= data + len) {
			hex(want, id, id_len);
			hex(got, in_core + (id - data), id_len);
			return memdbg_error_format(MEMDBG_ERROR_MISMATCH,
						   "%s does not match core %s: build-id %s, core has %s", t->exe_path,
						   t->core_path, want, got);
		}
		return memdbg_error_format(MEMDBG_ERROR_MISMATCH,
					   "%s does not match core %s: build-id note at 0x%" PRIx64 " differs",
					   t->exe_path, t->core_path, addr + t->bias);
	}
	return NULL;
}

static struct memdbg_error *target_load_exe(struct memdbg_target *t)
{
	struct memdbg_error *err = memdbg_elf_open(t->exe_path, &t->exe);
	if (err)
		return err;
	if (!memdbg_elf_is_executable(t->exe))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is not an executable (ELF type %d)", t->exe_path,
					   memdbg_elf_type(t->exe));
	if (memdbg_elf_machine(t->exe) != EM_X86_64)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: only x86-64 executables are supported",
					   t->exe_path);
	if (!memdbg_elf_load_count(t->exe))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "%s has no PT_LOAD program header: its program headers are damaged", t->exe_path);
	struct Dwarf *dw = memdbg_elf_dwarf(t->exe);
	if (dw)
		return memdbg_dwarf_create(dw, &t->dwarf);
	return NULL;
}

static uint64_t exe_bias(struct memdbg_target *t, uint64_t at_entry)
{
	/* Non-PIE executables load where they were linked. */
	if (!at_entry || !memdbg_elf_is_pie(t->exe))
		return 0;
	return at_entry - memdbg_elf_entry(t->exe);
}

/*
 * A core without NT_FILE (the notes say nothing of the mapped files): the
 * executable given maps its PT_LOADs' file bytes where it was linked (plus
 * the bias), page-aligned as the kernel maps them.  The build-id check
 * still compares it with the core's copy of its first page.
 */
static struct memdbg_error *exe_as_mapped_files(struct memdbg_target *t, struct core_notes *n)
{
	size_t k = memdbg_elf_load_count(t->exe);
	n->files = calloc(k ? k : 1, sizeof(*n->files));
	if (!n->files)
		return memdbg_enomem;
	for (size_t i = 0; i < k; i++) {
		uint64_t addr, offset, filesz, page = 4096;
		if (!memdbg_elf_load_file(t->exe, i, &addr, &offset, &filesz) || !filesz)
			continue;
		uint64_t start = addr + t->bias, skip = start % page;
		if (offset < skip || start + filesz < start)
			continue;
		n->files[n->nfiles++] = (struct core_file_map){ start - skip, start + filesz, offset - skip, t->exe_path };
	}
	return NULL;
}

/*
 * The core's program header count, checked: the table is in the file, its
 * entries have the 64-bit size, and e_phnum = PN_XNUM (the kernel's mark for
 * more than 65534 segments) has the real count in section header 0.
 */
static struct memdbg_error *core_program_headers(const char *path, size_t core_len, Elf *elf, const GElf_Ehdr *eh,
						 size_t *phnum)
{
	*phnum = eh->e_phnum;
	if (eh->e_phnum == PN_XNUM) {
		GElf_Shdr sh0;
		Elf_Scn *scn;
		if (eh->e_shoff == 0 || eh->e_shoff > core_len || core_len - eh->e_shoff < sizeof(Elf64_Shdr) ||
		    !(scn = elf_getscn(elf, 0)) || !gelf_getshdr(scn, &sh0))
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						   "core %s: its ELF header is damaged: e_phnum is 0xffff (PN_XNUM) but "
						   "there is no section header 0 to hold the real count",
						   path);
		*phnum = sh0.sh_info;
	}
	/* Not elf_getphdrnum: libelf quietly cuts the count down to what the file holds. */
	if (*phnum == 0)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "core %s has no program headers (e_phnum 0): it holds no memory and no notes", path);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "core %s: its ELF header is damaged: program header size %u, not %zu", path,
					   eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phoff > core_len || *phnum > (core_len - eh->e_phoff) / sizeof(Elf64_Phdr))
		return memdbg_error_truncated(path, "its program headers end",
					      eh->e_phoff + (uint64_t)*phnum * sizeof(Elf64_Phdr), core_len);
	return NULL;
}

struct memdbg_error *memdbg_target_open_core(const char *core_path, const char *exe_path, struct memdbg_target **ret)
{
	struct memdbg_error *err;
	struct core_notes notes = { 0 };
	struct memdbg_target *t = calloc(1, sizeof(*t));
	Elf *elf = NULL;
	if (!t)
		return memdbg_enomem;
	if (!(t->core_path = strdup(core_path))) {
		err = memdbg_enomem;
		goto out;
	}
	const uint8_t *core;
	size_t core_len;
	if ((err = map_file(t, core_path, "a core file", &core, &core_len)))
		goto out;
	if ((err = memdbg_elf_check_ident(core, core_len, core_path, "an ELF core file")))
		goto out;
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)core, core_len);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is not an ELF core file (%s)", core_path,
					  elf_errmsg(-1));
		goto out;
	}
	if (eh.e_type != ET_CORE) {
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is not an ELF core file (ELF type %u%s)", core_path,
					  eh.e_type, eh.e_type == ET_EXEC || eh.e_type == ET_DYN ? ", an executable" : "");
		goto out;
	}
	if (eh.e_machine != EM_X86_64) {
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: only x86-64 cores are supported (machine %u)",
					  core_path, eh.e_machine);
		goto out;
	}
	size_t phnum;
	if ((err = core_program_headers(core_path, core_len, elf, &eh, &phnum)) ||
	    (err = parse_core_notes(core_path, core, core_len, elf, phnum, &notes)))
		goto out;
	const char *recorded_exe = core_exe_path(&notes);
	if (!exe_path && !recorded_exe) {
		err = memdbg_error_format(MEMDBG_ERROR_LOOKUP,
					  "core %s names no executable (no NT_FILE note); pass --exe", core_path);
		goto out;
	}
	if (!(t->exe_path = strdup(exe_path ? exe_path : recorded_exe))) {
		err = memdbg_enomem;
		goto out;
	}
	if ((err = target_load_exe(t)))
		goto out;
	if (!notes.at_entry && memdbg_elf_is_pie(t->exe)) {
		err = memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					  "core %s has no AT_ENTRY (its NT_AUXV note is missing or damaged): where the "
					  "position-independent executable %s was loaded is unknown",
					  core_path, t->exe_path);
		goto out;
	}
	t->bias = exe_bias(t, notes.at_entry);
	if (!notes.files && (err = exe_as_mapped_files(t, &notes)))
		goto out;
	t->pid = notes.pid;
	t->threads = notes.threads;
	t->nthreads = notes.nthreads;
	t->threads_read = true;
	notes.threads = NULL;

	size_t cap = 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			err = memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
						  "core %s: program header %zu is damaged: segment 0x%" PRIx64 " has %" PRIu64
						  " bytes in the file but only %" PRIu64 " in memory",
						  core_path, i, ph.p_vaddr, ph.p_filesz, ph.p_memsz);
			goto out;
		}
		if (ph.p_offset > core_len || ph.p_filesz > core_len - ph.p_offset) {
			char what[80];
			snprintf(what, sizeof(what), "its segment 0x%" PRIx64 " (program header %zu) ends", ph.p_vaddr, i);
			err = memdbg_error_truncated(core_path, what, ph.p_offset + ph.p_filesz, core_len);
			goto out;
		}
		uint64_t dumped_end = ph.p_vaddr + ph.p_filesz;
		if ((err = add_segment(t, &cap, ph.p_vaddr, dumped_end, core + ph.p_offset, false)) ||
		    (err = add_file_backed(t, &cap, &notes, recorded_exe, dumped_end, ph.p_vaddr + ph.p_memsz)))
			goto out;
	}
	if (!t->nsegs) {
		err = memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					  "core %s has no memory: none of its %zu program headers is a PT_LOAD segment",
					  core_path, phnum);
		goto out;
	}
	qsort(t->segs, t->nsegs, sizeof(*t->segs), segment_cmp);
	if ((err = add_unloaded_files(t, &cap, &notes, recorded_exe)) || (err = keep_mappings(t, &notes)))
		goto out;
	if ((err = check_exe_matches(t, &notes)))
		goto out;
	*ret = t;
	t = NULL;
out:
	if (elf)
		elf_end(elf);
	free(notes.files);
	free(notes.threads);
	memdbg_target_destroy(t);
	return err;
}

/* ---- live processes ---- */

static struct memdbg_error *read_auxv_entry(int pid, uint64_t *at_entry)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return memdbg_error_os("cannot open", path);
	uint64_t pair[2];
	*at_entry = 0;
	while (read(fd, pair, sizeof(pair)) == (ssize_t)sizeof(pair) && pair[0] != AT_NULL)
		if (pair[0] == AT_ENTRY)
			*at_entry = pair[1];
	close(fd);
	return NULL;
}

/* Wait (bounded, about a second) for a seized thread to report its interrupt stop. */
static void wait_stopped(pid_t tid)
{
	long ns = 10 * 1000;
	for (long waited = 0; waited < 1000L * 1000 * 1000; waited += ns, ns = ns < 5 * 1000 * 1000 ? 2 * ns : ns) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid || (r < 0 && errno != EINTR))
			return;
		struct timespec ts = { 0, ns };
		nanosleep(&ts, NULL);
	}
}

/* 'T' in /proc/PID/stat: the process is in a job-control stop. */
static bool process_stopped(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] == 'T';
}

/* Hold every thread stopped while we read: a Go heap moves under a running process. */
static struct memdbg_error *stop_threads(struct memdbg_target *t)
{
	t->was_stopped = process_stopped(t->pid);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	/* Threads may be created while we seize; a few passes catch them. */
	for (int pass = 0; pass < 3; pass++) {
		DIR *dir = opendir(path);
		if (!dir)
			return errno == ENOENT ? memdbg_error_format(MEMDBG_ERROR_OS, "process %d has exited", t->pid)
					       : memdbg_error_os("cannot list threads in", path);
		size_t before = t->nstopped;
		struct dirent *de;
		while ((de = readdir(dir))) {
			pid_t tid = (pid_t)atoi(de->d_name);
			if (tid <= 0)
				continue;
			bool known = false;
			for (size_t i = 0; i < t->nstopped && !known; i++)
				known = t->stopped[i] == tid;
			if (known)
				continue;
			if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
				if (errno == ESRCH)
					continue;
				struct memdbg_error *err = memdbg_error_format(
					MEMDBG_ERROR_OS, "cannot stop thread %d of process %d: %s", tid, t->pid,
					strerror(errno));
				closedir(dir);
				return err;
			}
			pid_t *s = realloc(t->stopped, (t->nstopped + 1) * sizeof(*s));
			if (!s) {
				ptrace(PTRACE_DETACH, tid, 0, 0);
				closedir(dir);
				return memdbg_enomem;
			}
			t->stopped = s;
			t->stopped[t->nstopped++] = tid;
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		}
		closedir(dir);
		/* Interrupted all at once, they stop in parallel. */
		for (size_t i = before; i < t->nstopped; i++)
			wait_stopped(t->stopped[i]);
		if (t->nstopped == before)
			break;
	}
	return NULL;
}

/* Let the threads we stopped go; a process that was stopped before we came stays stopped, as gdb leaves it. */
static void release_threads(struct memdbg_target *t)
{
	for (size_t i = 0; i < t->nstopped; i++)
		ptrace(PTRACE_DETACH, t->stopped[i], 0,
		       (void *)(uintptr_t)(t->was_stopped && t->stopped[i] == t->pid ? SIGSTOP : 0));
	t->nstopped = 0;
}

static void forget_pages(struct memdbg_target *t)
{
	for (size_t i = 0; i < PAGE_CACHE_SLOTS; i++)
		t->pages[i].addr = 0;
}

struct memdbg_error *memdbg_target_pause(struct memdbg_target *t)
{
	if (!t->live || t->nstopped)
		return NULL;
	forget_pages(t);
	struct memdbg_error *err = stop_threads(t);
	if (err)
		release_threads(t);
	return err;
}

void memdbg_target_resume(struct memdbg_target *t)
{
	if (t->live)
		release_threads(t);
}

struct memdbg_error *memdbg_target_open_pid(int pid, const char *exe_path, bool stop, struct memdbg_target **ret)
{
	struct memdbg_error *err;
	struct memdbg_target *t = calloc(1, sizeof(*t));
	if (!t)
		return memdbg_enomem;
	t->live = true;
	t->pid = pid;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (kill(pid, 0) != 0 && errno == ESRCH) {
		err = memdbg_error_format(MEMDBG_ERROR_OS, "no process %d", pid);
		goto fail;
	}
	if (!(t->exe_path = strdup(exe_path ? exe_path : path)) || !(t->pages = calloc(PAGE_CACHE_SLOTS, sizeof(*t->pages)))) {
		err = memdbg_enomem;
		goto fail;
	}
	if ((err = target_load_exe(t)))
		goto fail;
	uint64_t at_entry = 0;
	if ((err = read_auxv_entry(pid, &at_entry)))
		goto fail;
	t->bias = exe_bias(t, at_entry);
	if (exe_path && memdbg_elf_entry(t->exe) + t->bias != at_entry) {
		err = memdbg_error_format(MEMDBG_ERROR_MISMATCH, "%s is not the executable of process %d", exe_path, pid);
		goto fail;
	}
	if (stop && (err = stop_threads(t)))
		goto fail;
	*ret = t;
	return NULL;
fail:
	memdbg_target_destroy(t);
	return err;
}

struct memdbg_error *memdbg_target_threads(struct memdbg_target *t, const struct memdbg_thread_ptr **ret, size_t *n)
{
	if (!t->threads_read && t->nstopped) {
		if (!(t->threads = calloc(t->nstopped, sizeof(*t->threads))))
			return memdbg_enomem;
		for (size_t i = 0; i < t->nstopped; i++) {
			struct user_regs_struct regs;
			if (ptrace(PTRACE_GETREGS, t->stopped[i], 0, &regs) != 0)
				continue;  /* exited since */
			t->threads[t->nthreads++] = (struct memdbg_thread_ptr){ t->stopped[i], regs.fs_base };
		}
	}
	t->threads_read = true;
	*ret = t->threads;
	*n = t->nthreads;
	return NULL;
}

struct memdbg_error *memdbg_target_set_threads(struct memdbg_target *t, const int *tids, const uint64_t *fs_bases,
					       size_t n)
{
	struct memdbg_thread_ptr *v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return memdbg_enomem;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct memdbg_thread_ptr){ tids[i], fs_bases[i] };
	free(t->threads);
	t->threads = v;
	t->nthreads = n;
	t->threads_read = true;
	return NULL;
}

/* Replaces (and destroys) the cached state of that id. */
static void cache_set(struct memdbg_target *t, enum memdbg_cache_id id, void *state, void (*destroy)(void *state))
{
	struct memdbg_cache *c = &t->caches[id];
	if (c->state && c->state != state)
		c->destroy(c->state);
	*c = (struct memdbg_cache){ state, destroy };
}

struct memdbg_error *memdbg_target_cache_build(struct memdbg_target *t, enum memdbg_cache_id id, size_t size,
					       memdbg_cache_build_fn build, void *arg, void (*destroy)(void *state),
					       void **ret)
{
	void *state = t->caches[id].state;
	if (state) {
		*ret = state;
		return NULL;
	}
	if (!(state = calloc(1, size)))
		return memdbg_enomem;
	struct memdbg_error *err = build(t, state, arg);
	if (err) {
		destroy(state);
		return err;
	}
	cache_set(t, id, state, destroy);
	*ret = state;
	return NULL;
}

static void drop_caches(struct memdbg_target *t)
{
	for (int i = 0; i < MEMDBG_CACHE_COUNT; i++)
		cache_set(t, (enum memdbg_cache_id)i, NULL, NULL);
}

void memdbg_target_destroy(struct memdbg_target *t)
{
	if (!t)
		return;
	release_threads(t);
	free(t->stopped);
	free(t->threads);
	drop_caches(t);
	memdbg_go_destroy(t->go);
	memdbg_dwarf_destroy(t->dwarf);
	memdbg_elf_close(t->exe);
	for (size_t i = 0; i < t->nmaps; i++)
		if (t->maps[i])
			munmap(t->maps[i], t->map_lens[i]);
	free(t->maps);
	free(t->map_lens);
	free(t->segs);
	free_mappings(t);
	free(t->pages);
	free(t->exe_path);
	free(t->core_path);
	free(t);
}

void memdbg_target_invalidate(struct memdbg_target *t)
{
	if (!t || !t->live)
		return;
	forget_pages(t);
	memdbg_go_destroy(t->go);
	t->go = NULL;
	drop_caches(t);
}

/* ---- reads ---- */

static const struct memdbg_page *live_page(struct memdbg_target *t, uint64_t page)
{
	struct memdbg_page *p = &t->pages[(page / PAGE_SIZE_LIVE) % PAGE_CACHE_SLOTS];
	if (p->addr == page + 1)
		return p;
	struct iovec local = { p->data, PAGE_SIZE_LIVE }, remote = { (void *)(uintptr_t)page, PAGE_SIZE_LIVE };
	p->ok = process_vm_readv(t->pid, &local, 1, &remote, 1, 0) == PAGE_SIZE_LIVE;
	p->addr = page + 1;
	return p;
}

static struct memdbg_error *read_live(struct memdbg_target *t, uint64_t addr, uint8_t *buf, size_t n)
{
	uint64_t cur = addr;
	while (n) {
		uint64_t page = cur & ~(uint64_t)(PAGE_SIZE_LIVE - 1);
		size_t off = (size_t)(cur - page), chunk = PAGE_SIZE_LIVE - off;
		if (chunk > n)
			chunk = n;
		const struct memdbg_page *p = live_page(t, page);
		if (!p->ok)
			return memdbg_error_fault(cur, n);
		memcpy(buf, p->data + off, chunk);
		buf += chunk;
		cur += chunk;
		n -= chunk;
	}
	return NULL;
}

struct memdbg_error *memdbg_read(struct memdbg_target *t, uint64_t addr, void *buf, size_t n)
{
	if (addr + n < addr)
		return memdbg_error_fault(addr, n);
	if (t->live)
		return read_live(t, addr, buf, n);
	uint8_t *out = buf;
	uint64_t cur = addr;
	while (n) {
		const struct memdbg_segment *s = find_segment(t, cur);
		if (!s || !s->data)
			return memdbg_error_fault(cur, n);
		size_t chunk = s->end - cur < n ? (size_t)(s->end - cur) : n;
		memcpy(out, s->data + (cur - s->start), chunk);
		out += chunk;
		cur += chunk;
		n -= chunk;
	}
	return NULL;
}

const void *memdbg_peek(struct memdbg_target *t, uint64_t addr, size_t n)
{
	if (t->live)
		return NULL;
	const struct memdbg_segment *s = find_segment(t, addr);
	if (!s || !s->data || s->end - addr < n)
		return NULL;
	return s->data + (addr - s->start);
}

void memdbg_release(struct memdbg_target *t, uint64_t lo, uint64_t hi)
{
	if (t->live)
		return;
	for (size_t i = 0; i < t->nsegs; i++) {
		const struct memdbg_segment *s = &t->segs[i];
		if (!s->data || s->end <= lo || s->start >= hi)
			continue;
		uintptr_t a = (uintptr_t)(s->data + ((lo > s->start ? lo : s->start) - s->start));
		uintptr_t b = (uintptr_t)(s->data + ((hi < s->end ? hi : s->end) - s->start));
		a = (a + 4095) & ~(uintptr_t)4095;
		b &= ~(uintptr_t)4095;
		if (b > a)
			madvise((void *)a, b - a, MADV_DONTNEED);
	}
}

bool memdbg_readable(struct memdbg_target *t, uint64_t addr, size_t n)
{
	if (t->live) {
		for (uint64_t p = addr & ~(uint64_t)(PAGE_SIZE_LIVE - 1); p < addr + n; p += PAGE_SIZE_LIVE)
			if (!live_page(t, p)->ok)
				return false;
		return true;
	}
	uint64_t cur = addr;
	while (cur < addr + n) {
		const struct memdbg_segment *s = find_segment(t, cur);
		if (!s || !s->data)
			return false;
		cur = s->end;
	}
	return true;
}

struct memdbg_error *memdbg_read_u64(struct memdbg_target *t, uint64_t addr, uint64_t *ret)
{
	return memdbg_read(t, addr, ret, sizeof(*ret));
}

struct memdbg_error *memdbg_read_u32(struct memdbg_target *t, uint64_t addr, uint32_t *ret)
{
	return memdbg_read(t, addr, ret, sizeof(*ret));
}

bool memdbg_target_symbol(struct memdbg_target *t, const char *name, uint64_t *addr, uint64_t *size)
{
	uint64_t a;
	if (size)
		*size = 0;
	if (memdbg_elf_symbol(t->exe, name, &a, size) || memdbg_dwarf_variable(t->dwarf, name, &a, size)) {
		*addr = a + t->bias;
		return true;
	}
	return false;
}

const char *memdbg_target_symbol_at(struct memdbg_target *t, uint64_t addr, uint64_t *offset, char *buf, size_t len)
{
	const char *name = t->exe ? memdbg_elf_symbol_at(t->exe, addr - t->bias, offset) : NULL;
	return name ? name : memdbg_dwarf_name_at(t->dwarf, addr - t->bias, offset, buf, len);
}
