/* types.h - Go runtime type descriptors (internal/abi.Type and its kinds), decoded from the target. */
#ifndef MEMDBG_GO_TYPES_H
#define MEMDBG_GO_TYPES_H

#include "go/go.h"

/* reflect.Kind numbers: part of Go's ABI, unchanged since Go 1. */
enum go_kind {
	GO_KIND_ARRAY = 17,
	GO_KIND_CHAN = 18,
	GO_KIND_FUNC = 19,
	GO_KIND_INTERFACE = 20,
	GO_KIND_MAP = 21,
	GO_KIND_POINTER = 22,
	GO_KIND_SLICE = 23,
	GO_KIND_STRING = 24,
	GO_KIND_STRUCT = 25,
	GO_KIND_UNSAFE_POINTER = 26,
};

struct go_field {
	uint64_t offset, type;
	char *name;
};

struct go_type {
	uint64_t addr, size, ptrbytes;
	uint8_t kind, tflag;
	bool direct_iface;   /* the interface data word holds the value itself */
	char *name;          /* as the runtime prints it: "*main.T", "map[string]int" */
	uint64_t elem;       /* Pointer, Slice, Array, Chan: element; Map: value */
	uint64_t key;        /* Map */
	uint64_t group;      /* Map: bucket type (go1.22-1.23) or slot group type (swiss maps) */
	uint64_t len;        /* Array */
	bool iface_empty;    /* Interface without methods: an eface */
	struct go_field *fields;
	size_t nfields;
	uint8_t *mask;       /* one bit per word of size; NULL when pointer-free */
	bool mask_done;
	bool mask_rebuilt;   /* built from the type's structure (GC program or on-demand mask missing) */
};

/* The decoded type at addr (cached per target); NULL with *err set when unreadable. */
const struct go_type *go_type_at(struct memdbg_target *t, struct memdbg_go *go, uint64_t addr,
				 struct memdbg_error **err);
/* One bit per word of ty->ptrbytes, set for a pointer word; NULL when none.  Built on first use. */
const uint8_t *go_type_mask(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty);
/* Is word w (0-based) of a value of type ty a pointer?  Builds the mask on first use. */
bool go_type_word_is_ptr(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty, uint64_t w);
/* The first 64 words of ty's pointer mask as bits (bit i: word i). */
uint64_t go_type_mask64(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty);
/* The abi.Type of a named runtime type (via DWARF), or 0. */
uint64_t go_type_by_name(struct memdbg_target *t, struct memdbg_go *go, const char *name);
/* The dynamic type of an interface's first word: an itab (iface) or a type (eface). */
uint64_t go_iface_type(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *iface, uint64_t word0);
/* True when the binary uses swiss-table maps (go1.24+). */
bool go_swiss_maps(struct memdbg_target *t, struct memdbg_go *go);
void go_types_destroy(struct go_types *types);

/* Appends ".field[3].sub", the path to offset off inside a value of type ty, to the string in buf. */
void go_type_field_path(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty, uint64_t off,
			char *buf, size_t size);
/*
 * A Go string as text for people: quoted, escaped, at most max bytes of it
 * and then its length ("abc"... (1234 bytes)).  buf wants 4 * max + 40 bytes.
 * False when its bytes cannot be read.
 */
#define GO_QUOTE_MAX 256
bool go_quote_string(struct memdbg_target *t, uint64_t data, uint64_t len, size_t max, char *buf, size_t size);

#endif /* MEMDBG_GO_TYPES_H */
