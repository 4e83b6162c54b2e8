/* cache.c - library lookup and helpers shared by the allocator decoders. */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc/alloc.h"

void alloc_hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

bool alloc_read(struct memdbg_target *t, uint64_t addr, void *buf, size_t n)
{
	struct memdbg_error *err = memdbg_read(t, addr, buf, n);
	memdbg_error_destroy(err);
	return !err;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/*
 * The debug file of a build-id, where Debian's -dbgsym packages and
 * debuginfod clients put it: DIR/.build-id/xx/yyyy.debug, for each DIR of
 * $MEMDBG_DEBUG_FILE_DIRECTORY (colon-separated; default /usr/lib/debug).
 */
static void open_debug_file(struct alloc_lib *lib)
{
	const char *dirs = getenv("MEMDBG_DEBUG_FILE_DIRECTORY");
	if (!dirs || !*dirs)
		dirs = "/usr/lib/debug";
	if (strlen(lib->build_id) < 4)
		return;
	for (const char *d = dirs; *d && !lib->debug;) {
		size_t len = strcspn(d, ":");
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%.*s/.build-id/%.2s/%s.debug", (int)len, d, lib->build_id,
			 lib->build_id + 2);
		if (len && access(path, R_OK) == 0) {
			struct memdbg_error *err = memdbg_elf_open(path, &lib->debug);
			if (err) {
				memdbg_error_destroy(err);
				lib->debug = NULL;
			}
		}
		d += len + (d[len] == ':');
	}
}

struct memdbg_error *alloc_lib_open(struct memdbg_target *t, const char *name, struct alloc_lib *lib, bool *found)
{
	const struct memdbg_mapping *maps;
	size_t n;
	memset(lib, 0, sizeof(*lib));
	*found = false;
	struct memdbg_error *err = memdbg_target_mappings(t, &maps, &n);
	if (err)
		return err;
	/* The mapping of file offset 0 is the load base (first PT_LOAD at vaddr 0). */
	for (size_t i = 0; i < n; i++) {
		if (!strstr(base_name(maps[i].path), name) || maps[i].offset != 0)
			continue;
		snprintf(lib->path, sizeof(lib->path), "%s", maps[i].path);
		lib->base = maps[i].start;
		*found = true;
		break;
	}
	if (!*found)
		return NULL;
	if ((err = memdbg_elf_open(lib->path, &lib->elf)))
		return memdbg_error_prefix(err, "allocator library");
	size_t idlen;
	const uint8_t *id = memdbg_elf_build_id(lib->elf, &idlen);
	if (id && idlen <= 40)
		alloc_hex(lib->build_id, id, idlen);
	/* The file on disk must be the one the target mapped: compare the build-id note in memory. */
	for (size_t i = 0; i < memdbg_elf_note_count(lib->elf); i++) {
		uint64_t addr;
		const uint8_t *data;
		size_t len;
		uint8_t buf[256];
		if (!memdbg_elf_note_at(lib->elf, i, &addr, &data, &len) || len > sizeof(buf))
			continue;
		if (!alloc_read(t, lib->base + addr, buf, len))
			continue;  /* not in the core: nothing to compare */
		if (memcmp(buf, data, len) != 0) {
			err = memdbg_error_format(MEMDBG_ERROR_MISMATCH,
						  "%s on disk is not the library the target mapped (build-id %s differs)",
						  lib->path, lib->build_id[0] ? lib->build_id : "?");
			alloc_lib_close(lib);
			return err;
		}
	}
	open_debug_file(lib);
	return NULL;
}

void alloc_lib_close(struct alloc_lib *lib)
{
	memdbg_elf_close(lib->debug);
	memdbg_elf_close(lib->elf);
	lib->debug = lib->elf = NULL;
}

/* memdbg_elf_symbol, but never on a file without .symtab (it has no table to search). */
bool alloc_elf_symbol(const struct memdbg_elf *elf, const char *name, uint64_t *addr)
{
	return elf && memdbg_elf_has_symtab(elf) && memdbg_elf_symbol(elf, name, addr, NULL);
}

bool alloc_exe_symbol(struct memdbg_target *t, const char *name, uint64_t *addr)
{
	if (memdbg_elf_has_symtab(t->exe))
		return memdbg_target_symbol(t, name, addr, NULL);
	if (t->dwarf && memdbg_dwarf_variable(t->dwarf, name, addr, NULL)) {
		*addr += t->bias;
		return true;
	}
	return false;
}

bool alloc_lib_symbol(const struct alloc_lib *lib, const char *name, uint64_t *addr)
{
	uint64_t a;
	if (alloc_elf_symbol(lib->debug, name, &a) || alloc_elf_symbol(lib->elf, name, &a)) {
		*addr = lib->base + a;
		return true;
	}
	return false;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "-g" + 40 hex digits, preceded by D.D.D-N: the version string starts at *start. */
static bool version_at(const char *m, size_t len, size_t g, size_t *start)
{
	if (g + 2 + 40 > len)
		return false;
	for (size_t i = 0; i < 40; i++)
		if (!is_hex(m[g + 2 + i]))
			return false;
	size_t i = g, dots = 0;
	while (i > 0 && g - i < 32 && (is_digit(m[i - 1]) || m[i - 1] == '.' || m[i - 1] == '-')) {
		dots += m[i - 1] == '.';
		i--;
	}
	if (dots != 2 || !is_digit(m[i]))
		return false;
	*start = i;
	return true;
}

bool alloc_find_version(const char *path, char *out, size_t outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool found = false;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		size_t len = (size_t)st.st_size;
		const char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			const char *p = m;
			while (!found && (p = memmem(p, len - (size_t)(p - m), "-g", 2))) {
				size_t start, g = (size_t)(p - m);
				if (version_at(m, len, g, &start)) {
					snprintf(out, outlen, "%.*s", (int)(g + 42 - start), m + start);
					found = true;
				}
				p += 2;
			}
			munmap((void *)m, len);
		}
	}
	close(fd);
	return found;
}

/* The first NUL-terminated string in the file at path that starts with prefix ("gperftools 2."). */
bool alloc_find_string(const char *path, const char *prefix, char *out, size_t outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	bool found = false;
	size_t plen = strlen(prefix);
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		size_t len = (size_t)st.st_size;
		const char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			const char *p = memmem(m, len, prefix, plen);
			if (p) {
				size_t n = 0, max = len - (size_t)(p - m);
				while (n < max && n + 1 < outlen && p[n] >= ' ' && p[n] < 127)
					n++;
				snprintf(out, outlen, "%.*s", (int)n, p);
				found = true;
			}
			munmap((void *)m, len);
		}
	}
	close(fd);
	return found;
}

/* A symbol of the file's .dynsym (exported), unrelocated; memdbg_elf reads .symtab only. */
bool alloc_dynsym(const char *path, const char *name, uint64_t *value)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	bool found = false;
	while (elf && !found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize || !(data = elf_getdata(scn, NULL)))
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n && !found; i++) {
			GElf_Sym sym;
			const char *s;
			if (gelf_getsym(data, (int)i, &sym) && sym.st_shndx != SHN_UNDEF &&
			    (s = elf_strptr(elf, sh.sh_link, sym.st_name)) && strcmp(s, name) == 0) {
				*value = sym.st_value;
				found = true;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

/* The PT_TLS segment's memory size and alignment of the file at path. */
bool alloc_tls_segment(const char *path, uint64_t *memsz, uint64_t *align)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t n = 0;
	bool found = false;
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		for (size_t i = 0; i < n && !found; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_TLS) {
				*memsz = ph.p_memsz;
				*align = ph.p_align ? ph.p_align : 1;
				found = true;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}
