/* elf.c - symbols, notes and file-backed bytes of the target's executable. */
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct elf_symbol {
	const char *name;
	uint64_t addr, size;
};

struct elf_note {
	uint64_t addr;
	const uint8_t *data;
	size_t len;
};

struct elf_load {
	uint64_t vaddr, filesz, offset, memsz;
	uint32_t flags;
};

struct memdbg_elf {
	int fd;
	const uint8_t *map;
	size_t map_len;
	Elf *elf;
	Dwarf *dwarf;
	GElf_Ehdr ehdr;
	struct elf_symbol *by_name, *by_addr;
	size_t nsyms;
	struct elf_note *notes;
	size_t nnotes;
	struct elf_load *loads;
	size_t nloads;
	const uint8_t *build_id;
	size_t build_id_len;
};

static int symbol_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct elf_symbol *)a)->name, ((const struct elf_symbol *)b)->name);
}

static int symbol_addr_cmp(const void *a, const void *b)
{
	const struct elf_symbol *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static struct memdbg_error *elf_read_symtab(struct memdbg_elf *e)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = sh.sh_size / sh.sh_entsize;
		e->by_name = calloc(n ? n : 1, sizeof(*e->by_name));
		if (!e->by_name)
			return memdbg_enomem;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
				continue;
			const char *name = elf_strptr(e->elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			e->by_name[e->nsyms++] = (struct elf_symbol){ name, sym.st_value, sym.st_size };
		}
		break;
	}
	if (!e->nsyms)
		return NULL;
	e->by_addr = malloc(e->nsyms * sizeof(*e->by_addr));
	if (!e->by_addr)
		return memdbg_enomem;
	memcpy(e->by_addr, e->by_name, e->nsyms * sizeof(*e->by_addr));
	qsort(e->by_name, e->nsyms, sizeof(*e->by_name), symbol_name_cmp);
	qsort(e->by_addr, e->nsyms, sizeof(*e->by_addr), symbol_addr_cmp);
	return NULL;
}

static struct memdbg_error *elf_read_notes(struct memdbg_elf *e)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (sh.sh_offset > e->map_len || sh.sh_size > e->map_len - sh.sh_offset)
			continue;
		if (e->nnotes == cap) {
			cap = cap ? 2 * cap : 4;
			struct elf_note *n = realloc(e->notes, cap * sizeof(*n));
			if (!n)
				return memdbg_enomem;
			e->notes = n;
		}
		const uint8_t *data = e->map + sh.sh_offset;
		e->notes[e->nnotes++] = (struct elf_note){ sh.sh_addr, data, sh.sh_size };
		/* The GNU build-id, for messages: namesz 4 "GNU\0", type 3. */
		Elf_Data *d = elf_getdata(scn, NULL);
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((const char *)d->d_buf + name_off, "GNU", 4) == 0) {
				e->build_id = (const uint8_t *)d->d_buf + desc_off;
				e->build_id_len = nh.n_descsz;
			}
		}
	}
	/* Without section headers (sstrip), the PT_NOTE segments: the Go build id is there too. */
	size_t nph;
	if (e->nnotes || elf_getphdrnum(e->elf, &nph) != 0)
		return NULL;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_NOTE || ph.p_offset > e->map_len ||
		    ph.p_filesz > e->map_len - ph.p_offset)
			continue;
		struct elf_note *n = realloc(e->notes, (e->nnotes + 1) * sizeof(*n));
		if (!n)
			return memdbg_enomem;
		e->notes = n;
		e->notes[e->nnotes++] = (struct elf_note){ ph.p_vaddr, e->map + ph.p_offset, ph.p_filesz };
	}
	return NULL;
}

static struct memdbg_error *elf_read_loads(struct memdbg_elf *e)
{
	size_t n;
	if (elf_getphdrnum(e->elf, &n) != 0)
		return NULL;
	e->loads = calloc(n ? n : 1, sizeof(*e->loads));
	if (!e->loads)
		return memdbg_enomem;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > e->map_len || ph.p_filesz > e->map_len - ph.p_offset)
			continue;
		e->loads[e->nloads++] = (struct elf_load){ ph.p_vaddr, ph.p_filesz, ph.p_offset, ph.p_memsz, ph.p_flags };
	}
	return NULL;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO (named pipe)";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	default:
		return "not a regular file";
	}
}

struct memdbg_error *memdbg_open_regular(const char *path, const char *what, int *fd, uint64_t *size)
{
	struct stat st;
	/* The type first: opening a FIFO for reading blocks until a writer comes. */
	if (stat(path, &st) != 0)
		return memdbg_error_os("cannot open", path);
	if (!S_ISREG(st.st_mode))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is %s, not %s", path, file_type(st.st_mode),
					   what);
	/* O_NONBLOCK in case it was replaced by something else since. */
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f < 0)
		return memdbg_error_os("cannot open", path);
	struct stat fst;
	if (fstat(f, &fst) != 0) {
		struct memdbg_error *err = memdbg_error_os("cannot stat", path);
		close(f);
		return err;
	}
	if (!S_ISREG(fst.st_mode)) {
		close(f);
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is %s, not %s", path, file_type(fst.st_mode),
					   what);
	}
	if (fst.st_size == 0) {
		close(f);
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is empty (0 bytes), not %s", path, what);
	}
	*fd = f;
	*size = (uint64_t)fst.st_size;
	return NULL;
}

/*
 * Every byte the headers describe must be in the file: the header tables, the
 * sections' contents, and, without section headers, the loadable segments.
 * (A separate debug file keeps the executable's program headers but not
 * their bytes; its sections say what it holds.)
 */
static struct memdbg_error *elf_check_extent(struct memdbg_elf *e, const char *path)
{
	const GElf_Ehdr *h = &e->ehdr;
	uint64_t size = e->map_len;
	size_t phnum, shnum;
	if (h->e_phoff > size || (h->e_phnum && h->e_phnum != PN_XNUM && h->e_phentsize &&
				  (uint64_t)h->e_phnum * h->e_phentsize > size - h->e_phoff))
		return memdbg_error_truncated(path, "its program headers end", h->e_phoff + (uint64_t)h->e_phnum * h->e_phentsize,
				 size);
	if (h->e_shoff > size || (h->e_shnum && h->e_shentsize &&
				  (uint64_t)h->e_shnum * h->e_shentsize > size - h->e_shoff))
		return memdbg_error_truncated(path, "its section headers end", h->e_shoff + (uint64_t)h->e_shnum * h->e_shentsize,
				 size);
	if (elf_getshdrnum(e->elf, &shnum) != 0)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: its section header count is damaged (%s)", path,
					   elf_errmsg(-1));
	if (elf_getphdrnum(e->elf, &phnum) != 0)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "%s: its program header count is damaged (e_phnum 0x%x: %s)", path, h->e_phnum,
					   elf_errmsg(-1));
	if (phnum && h->e_phentsize != sizeof(Elf64_Phdr))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: program header size %u, not %zu: the ELF header is damaged",
					   path, h->e_phentsize, sizeof(Elf64_Phdr));
	if (shnum && h->e_shentsize != sizeof(Elf64_Shdr))
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: section header size %u, not %zu: the ELF header is damaged",
					   path, h->e_shentsize, sizeof(Elf64_Shdr));
	if (phnum > (size - h->e_phoff) / sizeof(Elf64_Phdr))
		return memdbg_error_truncated(path, "its program headers end", h->e_phoff + (uint64_t)phnum * sizeof(Elf64_Phdr), size);
	if (shnum > (size - h->e_shoff) / sizeof(Elf64_Shdr))
		return memdbg_error_truncated(path, "its section headers end", h->e_shoff + (uint64_t)shnum * sizeof(Elf64_Shdr), size);
	Elf_Scn *scn = NULL;
	bool sections = false;
	for (size_t i = 0; i < shnum && (scn = elf_nextscn(e->elf, scn)); i++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		sections = true;
		if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL)
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset) {
			char what[96];
			const char *name = elf_strptr(e->elf, h->e_shstrndx, sh.sh_name);
			snprintf(what, sizeof(what), "its section %zu%s%.40s%s ends", elf_ndxscn(scn), name ? " (" : "",
				 name ? name : "", name ? ")" : "");
			return memdbg_error_truncated(path, what, sh.sh_offset + sh.sh_size, size);
		}
	}
	for (size_t i = 0; i < phnum && !sections; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset) {
			char what[64];
			snprintf(what, sizeof(what), "its segment %zu (PT_LOAD at 0x%" PRIx64 ") ends", i, ph.p_vaddr);
			return memdbg_error_truncated(path, what, ph.p_offset + ph.p_filesz, size);
		}
	}
	return NULL;
}

/* The identification bytes say what kind of ELF file it is; say what is wrong in those terms. */
struct memdbg_error *memdbg_elf_check_ident(const uint8_t *m, size_t len, const char *path, const char *what)
{
	if (len < EI_NIDENT || memcmp(m, ELFMAG, SELFMAG) != 0)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is not %s", path, what);
	if (m[EI_CLASS] == ELFCLASS32)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "%s is a 32-bit ELF file (ELFCLASS32); memdbg reads 64-bit x86-64 files", path);
	if (m[EI_CLASS] != ELFCLASS64)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: its ELF header is damaged: class %u is not 1 or 2",
					   path, m[EI_CLASS]);
	if (m[EI_DATA] == ELFDATA2MSB)
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "%s is a big-endian ELF file; memdbg reads 64-bit x86-64 files", path);
	if (m[EI_DATA] != ELFDATA2LSB)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "%s: its ELF header is damaged: data encoding %u is not 1 or 2", path, m[EI_DATA]);
	if (len < sizeof(Elf64_Ehdr))
		return memdbg_error_truncated(path, "its ELF header ends", sizeof(Elf64_Ehdr), len);
	return NULL;
}

struct memdbg_error *memdbg_elf_open(const char *path, struct memdbg_elf **ret)
{
	struct memdbg_error *err;
	struct memdbg_elf *e = calloc(1, sizeof(*e));
	if (!e)
		return memdbg_enomem;
	uint64_t size;
	if ((err = memdbg_open_regular(path, "an executable", &e->fd, &size))) {
		free(e);
		return err;
	}
	e->map_len = (size_t)size;
	void *m = mmap(NULL, e->map_len, PROT_READ, MAP_PRIVATE, e->fd, 0);
	if (m == MAP_FAILED) {
		err = memdbg_error_os("cannot map", path);
		goto fail;
	}
	e->map = m;
	if ((err = memdbg_elf_check_ident(e->map, e->map_len, path, "an ELF file")))
		goto fail;
	elf_version(EV_CURRENT);
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &e->ehdr)) {
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s is not an ELF file (%s)", path, elf_errmsg(-1));
		goto fail;
	}
	if ((err = elf_check_extent(e, path)))
		goto fail;
	if ((err = elf_read_symtab(e)) || (err = elf_read_notes(e)) || (err = elf_read_loads(e)))
		goto fail;
	/* DWARF is optional here; the Go layer says what it needs. */
	e->dwarf = dwarf_begin_elf(e->elf, DWARF_C_READ, NULL);
	*ret = e;
	return NULL;
fail:
	memdbg_elf_close(e);
	return err;
}

void memdbg_elf_close(struct memdbg_elf *e)
{
	if (!e)
		return;
	if (e->dwarf)
		dwarf_end(e->dwarf);
	if (e->elf)
		elf_end(e->elf);
	if (e->map)
		munmap((void *)e->map, e->map_len);
	if (e->fd >= 0)
		close(e->fd);
	free(e->by_name);
	free(e->by_addr);
	free(e->notes);
	free(e->loads);
	free(e);
}

bool memdbg_elf_symbol(const struct memdbg_elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
	struct elf_symbol key = { .name = name };
	if (!e->nsyms)
		return false;
	const struct elf_symbol *s = bsearch(&key, e->by_name, e->nsyms, sizeof(key), symbol_name_cmp);
	if (!s)
		return false;
	*addr = s->addr;
	if (size)
		*size = s->size;
	return true;
}

const char *memdbg_elf_symbol_at(const struct memdbg_elf *e, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = e->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->by_addr[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct elf_symbol *s = &e->by_addr[lo - 1];
	if (addr >= s->addr + (s->size ? s->size : 1))
		return NULL;
	if (offset)
		*offset = addr - s->addr;
	return s->name;
}

uint64_t memdbg_elf_entry(const struct memdbg_elf *e)
{
	return e->ehdr.e_entry;
}

bool memdbg_elf_is_executable(const struct memdbg_elf *e)
{
	return e->ehdr.e_type == ET_EXEC || e->ehdr.e_type == ET_DYN;
}

int memdbg_elf_type(const struct memdbg_elf *e)
{
	return e->ehdr.e_type;
}

bool memdbg_elf_is_pie(const struct memdbg_elf *e)
{
	return e->ehdr.e_type == ET_DYN;
}

int memdbg_elf_machine(const struct memdbg_elf *e)
{
	return e->ehdr.e_machine;
}

bool memdbg_elf_has_symtab(const struct memdbg_elf *e)
{
	return e->nsyms > 0;
}

const uint8_t *memdbg_elf_build_id(const struct memdbg_elf *e, size_t *len)
{
	*len = e->build_id_len;
	return e->build_id;
}

size_t memdbg_elf_note_count(const struct memdbg_elf *e)
{
	return e->nnotes;
}

bool memdbg_elf_note_at(const struct memdbg_elf *e, size_t i, uint64_t *addr, const uint8_t **data, size_t *len)
{
	if (i >= e->nnotes)
		return false;
	*addr = e->notes[i].addr;
	*data = e->notes[i].data;
	*len = e->notes[i].len;
	return true;
}

const uint8_t *memdbg_elf_file_bytes(const struct memdbg_elf *e, uint64_t addr, uint64_t *avail)
{
	for (size_t i = 0; i < e->nloads; i++) {
		const struct elf_load *l = &e->loads[i];
		if (addr >= l->vaddr && addr - l->vaddr < l->filesz) {
			*avail = l->filesz - (addr - l->vaddr);
			return e->map + l->offset + (addr - l->vaddr);
		}
	}
	return NULL;
}

size_t memdbg_elf_load_count(const struct memdbg_elf *e)
{
	return e->nloads;
}

bool memdbg_elf_load_at(const struct memdbg_elf *e, size_t i, uint64_t *addr, uint64_t *memsz, bool *writable)
{
	if (i >= e->nloads)
		return false;
	*addr = e->loads[i].vaddr;
	*memsz = e->loads[i].memsz;
	*writable = (e->loads[i].flags & PF_W) != 0;
	return true;
}

bool memdbg_elf_load_file(const struct memdbg_elf *e, size_t i, uint64_t *addr, uint64_t *offset, uint64_t *filesz)
{
	if (i >= e->nloads)
		return false;
	*addr = e->loads[i].vaddr;
	*offset = e->loads[i].offset;
	*filesz = e->loads[i].filesz;
	return true;
}

bool memdbg_elf_section(const struct memdbg_elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e->elf, &shstrndx) != 0)
		return false;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e->elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) && (n = elf_strptr(e->elf, shstrndx, sh.sh_name)) &&
		    strcmp(n, name) == 0) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			return true;
		}
	}
	return false;
}

/* The first program header of type `type`, as an unrelocated range; false when there is none. */
bool memdbg_elf_segment(const struct memdbg_elf *e, unsigned type, uint64_t *addr, uint64_t *size)
{
	size_t n;
	if (elf_getphdrnum(e->elf, &n) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e->elf, (int)i, &ph) && ph.p_type == type) {
			*addr = ph.p_vaddr;
			*size = ph.p_memsz;
			return true;
		}
	}
	return false;
}

struct Dwarf *memdbg_elf_dwarf(const struct memdbg_elf *e)
{
	return e->dwarf;
}
