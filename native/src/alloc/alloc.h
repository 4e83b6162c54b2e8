/* alloc.h - what the allocator decoders share: library lookup, blocks. */
#ifndef MEMDBG_ALLOC_H
#define MEMDBG_ALLOC_H

#include <limits.h>

#include "internal.h"

/* A mapped library whose file name contains `name`: its path and load base. */
struct alloc_lib {
	char path[PATH_MAX];
	uint64_t base;
	struct memdbg_elf *elf;
	struct memdbg_elf *debug;  /* separate debug file from /usr/lib/debug/.build-id, or NULL */
	char build_id[84];
};

/* Finds the library and opens it (and its debug file when installed); false when not mapped. */
struct memdbg_error *alloc_lib_open(struct memdbg_target *t, const char *name, struct alloc_lib *lib, bool *found);
void alloc_lib_close(struct alloc_lib *lib);
bool alloc_elf_symbol(const struct memdbg_elf *elf, const char *name, uint64_t *addr);
/* A symbol of the executable (.symtab, else DWARF), relocated. */
bool alloc_exe_symbol(struct memdbg_target *t, const char *name, uint64_t *addr);
/* A symbol of the library (its debug file first), relocated; false when absent. */
bool alloc_lib_symbol(const struct alloc_lib *lib, const char *name, uint64_t *addr);
/* The first string in the file at path of the form D.D.D-N-gHEX (jemalloc's version). */
bool alloc_find_version(const char *path, char *out, size_t outlen);
bool alloc_dynsym(const char *path, const char *name, uint64_t *value);
bool alloc_find_string(const char *path, const char *prefix, char *out, size_t outlen);
/* The PT_TLS segment's memory size and alignment of the file at path; false when it has none. */
bool alloc_tls_segment(const char *path, uint64_t *memsz, uint64_t *align);
/* Read exactly n bytes; false (the error dropped) when any is missing: for walks that count what they skip. */
bool alloc_read(struct memdbg_target *t, uint64_t addr, void *buf, size_t n);
void alloc_hex(char *out, const uint8_t *b, size_t n);

/* ---- blocks of any heap (heap-block, find-refs) ---- */
enum alloc_block_state { ALLOC_ALLOCATED, ALLOC_FREE, ALLOC_CACHED };

struct alloc_block {
	uint64_t start, size;
	enum alloc_block_state state;
	const char *heap;  /* "jemalloc", "tcmalloc", "glibc", "go" */
	char detail[256];  /* one line: extent/span, size class, which cache */
};

/* Calls fn for every allocated block of a heap, in any order; stops on error. */
typedef struct memdbg_error *(*alloc_block_fn)(void *arg, uint64_t start, uint64_t size);

#endif /* MEMDBG_ALLOC_H */
