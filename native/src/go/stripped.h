/*
 * stripped.h - the Go runtime of an executable without symbols and DWARF
 * (-ldflags='-s -w', strip, PIE builds): layout tables generated from the
 * DWARF of each supported toolchain (layout_table.h, setup/go-layout.sh),
 * and what the runtime itself carries (build info, pclntab, module data,
 * type descriptors, its own code) standing in for symbols.
 */
#ifndef MEMDBG_GO_STRIPPED_H
#define MEMDBG_GO_STRIPPED_H

#include "go/go.h"

/* One toolchain configuration of the table: runtime.buildVersion and the build mode its code is from. */
struct go_table_config {
	const char *version;    /* "go1.26.8", "go1.25.14 X:greenteagc" */
	const char *buildmode;  /* "exe" or "pie" (their code differs) */
};

enum go_row_kind {
	GO_ROW_CONST = 'c',   /* name = constant; value */
	GO_ROW_MEMBER = 'm',  /* name = type, path = member path "a.b"; value = offset, size */
	GO_ROW_REF = 'r',     /* name = global, path = a function referencing it; value = which of its
			       * RIP-relative references (0-based), size = the global's offset in that reference */
	GO_ROW_SIZE = 's',    /* name = type; size */
	GO_ROW_VAR = 'v',     /* name = global; size */
};

struct go_table_row {
	char kind;
	const char *name, *path;
	int64_t value;
	uint64_t size;
	uint32_t configs;  /* bit i: go_table_configs[i] */
};

/*
 * For an executable without symbols and DWARF: read its build info, find
 * its pclntab, module data and runtime globals, and install the stand-in
 * for DWARF in t->dwarf.  version receives runtime.buildVersion.  Fails
 * with one line naming the piece that cannot be found.
 */
struct memdbg_error *go_stripped_open(struct memdbg_target *t, char *version, size_t len);

/* The stand-in's state when t->dwarf is one, else NULL. */
struct go_stripped *go_stripped_of(const struct memdbg_target *t);

/*
 * With DWARF: the stand-in read for the program's code alone (build info,
 * pclntab, module data, the table's layouts), never installed as t->dwarf,
 * for what only the code tells (go_stripped_closure_types); NULL when any
 * of it is missing.  go_stripped_close frees it.
 */
struct go_stripped *go_stripped_code_open(struct memdbg_target *t);
void go_stripped_close(struct go_stripped *st);

/* Where a global, function or section was found, for go-info; NULL when the stand-in does not know it. */
const char *go_stripped_found_by(const struct go_stripped *st, const char *name);
/* How the pclntab, module data, build info and layouts were found ("section .gopclntab", ...). */
struct go_stripped_sources {
	const char *pclntab, *moduledata, *build_info, *layouts;
};
void go_stripped_sources(const struct go_stripped *st, struct go_stripped_sources *s);

/* [moduledata.types, etypes): where the type descriptors are. */
void go_stripped_types(const struct go_stripped *st, uint64_t *lo, uint64_t *hi);

/*
 * The pointer words of the data and bss that the program's code types: every
 * store into one writes nil or what one kind of allocation returned
 * (new(T): NEW of T; make or append of []T: SLICE of T, the capacity two
 * words on; make of a map or channel: VALUE of its type; the word at field
 * of a new(T), a closure's context among them: FIELD of T).  Target
 * addresses; computed once.
 */
enum go_gstore_shape { GO_GSTORE_NEW, GO_GSTORE_SLICE, GO_GSTORE_VALUE, GO_GSTORE_FIELD };
struct go_global_store {
	uint64_t addr, type;  /* the word; the type descriptor */
	enum go_gstore_shape shape;
	uint32_t field;       /* FIELD: the value read at this offset of a new(T) (a closure's captured variable) */
	bool after_pointer;   /* the word before is a pointer word too: it may be an interface's type word */
};
size_t go_stripped_global_types(struct go_stripped *st, const struct go_global_store **ret);

/*
 * The stack slots the program's code types, likewise: a word of a function's
 * frame (off from the frame's fp, the caller's sp) that every write in the
 * function's code writes nil or what one kind of allocation returned, in a
 * function whose code never lets the frame be written another way (its
 * address taken below the word, SP or BP copied, code not walked).  Only
 * what the stack maps say is a live local may be read through one.  Sorted
 * by entry and off; computed once (s: the pclntab's frame sizes).
 */
struct go_stack;
struct go_local_store {
	uint64_t entry;  /* the function's, a target address */
	int64_t off;
	uint64_t type;
	enum go_gstore_shape shape;
	uint32_t field;
};
size_t go_stripped_local_types(struct go_stripped *st, struct go_stack *s, const struct go_local_store **ret);
/* Their order: by entry, then off. */
int go_local_store_cmp(const void *a, const void *b);

/*
 * The heap closures the program's code makes: a closure is new(struct { F
 * uintptr; captured variables... }) with its function's entry stored in word
 * 0 (LEAQ type(SB), AX; CALL runtime.newobject(SB); LEAQ pkg.f.func1(SB),
 * CX; MOVQ CX, (AX)).  One row per function whose every such store the walk
 * sees is into an allocation of the same type; sorted by entry; target
 * addresses; computed with the globals' types.
 */
struct go_closure_type {
	uint64_t entry, type;  /* the closure's function; its context's type descriptor */
};
size_t go_stripped_closure_types(struct go_stripped *st, const struct go_closure_type **ret);
/* The one of closures[n] (sorted by entry) for the function at entry, or NULL. */
const struct go_closure_type *go_closure_type_of(const struct go_closure_type *closures, size_t n, uint64_t entry);

/*
 * The receiver of a method on a pointer, fn being "a/b.(*T).M": its word's
 * offset from the frame's argp (FUNCDATA_ArgInfo) and T's type descriptor
 * (a target address).  False for any other function, or when either is
 * unknown.  Cached per function.
 */
struct go_func;
bool go_stripped_receiver(struct go_stripped *st, struct go_stack *s, const struct go_func *fn, int64_t *off,
			  uint64_t *type);

#endif /* MEMDBG_GO_STRIPPED_H */
