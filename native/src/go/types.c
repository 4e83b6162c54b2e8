/*
 * types.c - decoding the target's runtime type descriptors.
 *
 * Every heap object whose span records a type (malloc headers, largeType)
 * points at an internal/abi.Type; names, kinds, element types, struct fields
 * and pointer masks all come from those descriptors, laid out as this
 * binary's DWARF says.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "go/types.h"

#define TYPE_TABLE_MIN 1024
#define MAX_NAME 4096
#define MAX_FIELDS 65536
#define MAX_MASK_WORDS (1ull << 31)
#define MAX_DEPTH 32

struct abi_layout {
	uint64_t size, ptrbytes, tflag, kind, gcdata, str;
	uint64_t ptr_elem, slice_elem, array_elem, array_len, chan_elem;
	uint64_t struct_fields, field_size, field_name, field_typ, field_offset;
	uint64_t iface_methods, itab_type;
	uint64_t map_key, map_elem, map_group;
	uint64_t tflag_ondemand, tflag_direct_iface, kind_direct_iface, kind_gcprog, tflag_extra_star;
	bool has_ondemand, has_tflag_direct, has_gcprog, swiss;
	uint64_t types_base;  /* firstmoduledata.types: base of NameOffs */
};

/*
 * Types are decoded on first use, possibly from several threads of a
 * parallel pass (pool.c): a lookup reads the table without a lock; a
 * decode, an insertion and a mask are made under `lock` (recursive: a mask
 * decodes its fields' types) and published with release stores.  A table
 * that grows is replaced and the old one kept until the end, since a
 * reader may still be probing it.
 */
struct type_table {
	size_t cap;
	struct type_table *retired;  /* the table this one replaced */
	struct go_type *slot[];      /* open addressing by type address */
};

struct go_types {
	struct abi_layout l;
	struct type_table *table;
	size_t n;
};

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* ---- layout ---- */

static bool member(struct memdbg_dwarf *d, const char *type, const char *path, uint64_t *off)
{
	return memdbg_dwarf_member(d, type, path, off, NULL);
}

static struct memdbg_error *abi_layout_load(struct memdbg_target *t, struct memdbg_go *go, struct abi_layout *l)
{
	struct memdbg_dwarf *d = t->dwarf;
	const char *T = "internal/abi.Type";
	if (!member(d, T, "Size_", &l->size) || !member(d, T, "PtrBytes", &l->ptrbytes) ||
	    !member(d, T, "TFlag", &l->tflag) || !member(d, T, "Kind_", &l->kind) || !member(d, T, "GCData", &l->gcdata) ||
	    !member(d, T, "Str", &l->str) || !member(d, "internal/abi.PtrType", "Elem", &l->ptr_elem) ||
	    !member(d, "internal/abi.SliceType", "Elem", &l->slice_elem) ||
	    !member(d, "internal/abi.ArrayType", "Elem", &l->array_elem) ||
	    !member(d, "internal/abi.ArrayType", "Len", &l->array_len) ||
	    !member(d, "internal/abi.ChanType", "Elem", &l->chan_elem) ||
	    !member(d, "internal/abi.StructType", "Fields", &l->struct_fields) ||
	    !member(d, "internal/abi.StructField", "Name", &l->field_name) ||
	    !member(d, "internal/abi.StructField", "Typ", &l->field_typ) ||
	    !member(d, "internal/abi.StructField", "Offset", &l->field_offset) ||
	    !memdbg_dwarf_type_size(d, "internal/abi.StructField", &l->field_size) ||
	    !member(d, "internal/abi.InterfaceType", "Methods", &l->iface_methods))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: internal/abi type layouts missing from DWARF",
					   go->version);
	/* go1.22 still names the itab runtime.itab; its Type is called _type there. */
	if (!member(d, "internal/abi.ITab", "Type", &l->itab_type) && !member(d, "runtime.itab", "_type", &l->itab_type))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: itab layout missing from DWARF", go->version);
	/* Maps: swiss tables (go1.24+: SwissMapType, go1.26: MapType with Group) or buckets (MapType.Bucket). */
	const char *swiss_type = memdbg_dwarf_member(d, "internal/abi.SwissMapType", "Group", &l->map_group, NULL)
					 ? "internal/abi.SwissMapType"
				 : member(d, "internal/abi.MapType", "Group", &l->map_group) ? "internal/abi.MapType"
											: NULL;
	l->swiss = swiss_type != NULL;
	if ((l->swiss && (!member(d, swiss_type, "Key", &l->map_key) || !member(d, swiss_type, "Elem", &l->map_elem))) ||
	    (!l->swiss && (!member(d, "internal/abi.MapType", "Key", &l->map_key) ||
			   !member(d, "internal/abi.MapType", "Elem", &l->map_elem) ||
			   !member(d, "internal/abi.MapType", "Bucket", &l->map_group))))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: map type layout missing from DWARF", go->version);
	int64_t v;
	/* go1.24 dropped GC programs and made big masks on-demand, reusing the same TFlag bit. */
	l->has_ondemand = memdbg_dwarf_const(d, "internal/abi.TFlagGCMaskOnDemand", &v);
	l->tflag_ondemand = l->has_ondemand ? (uint64_t)v : 0;
	l->has_gcprog = memdbg_dwarf_const(d, "internal/abi.KindGCProg", &v);
	l->kind_gcprog = l->has_gcprog ? (uint64_t)v : 0;
	/* go1.26 moved "direct interface" from Kind_ to TFlag. */
	l->has_tflag_direct = memdbg_dwarf_const(d, "internal/abi.TFlagDirectIface", &v);
	if (l->has_tflag_direct)
		l->tflag_direct_iface = (uint64_t)v;
	else if (memdbg_dwarf_const(d, "internal/abi.KindDirectIface", &v))
		l->kind_direct_iface = (uint64_t)v;
	else
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: no direct-interface flag in DWARF", go->version);
	l->tflag_extra_star = memdbg_dwarf_const(d, "internal/abi.TFlagExtraStar", &v) ? (uint64_t)v : 2;
	uint64_t firstmod, types_off;
	if (!memdbg_target_symbol(t, "runtime.firstmoduledata", &firstmod, NULL) ||
	    !member(d, "runtime.moduledata", "types", &types_off))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: runtime.firstmoduledata not found", go->version);
	return memdbg_error_prefix(memdbg_read_u64(t, firstmod + types_off, &l->types_base),
				   "reading runtime.firstmoduledata.types");
}

static struct memdbg_error *types_get(struct memdbg_target *t, struct memdbg_go *go, struct go_types **ret)
{
	if (!go->types) {
		struct go_types *ty = calloc(1, sizeof(*ty));
		if (!ty)
			return memdbg_enomem;
		struct memdbg_error *err = abi_layout_load(t, go, &ty->l);
		if (err) {
			free(ty);
			return err;
		}
		go->types = ty;
	}
	*ret = go->types;
	return NULL;
}

/* ---- names ---- */

/* An abi.Name: a flag byte, a varint length, the bytes. */
static char *read_name(struct memdbg_target *t, uint64_t addr)
{
	uint8_t hdr[11];
	struct memdbg_error *first = addr ? memdbg_read(t, addr, hdr, 1) : NULL;
	if (!addr || first) {
		memdbg_error_destroy(first);
		return NULL;
	}
	uint64_t len = 0;
	size_t i = 1;
	for (int shift = 0; i < sizeof(hdr); i++, shift += 7) {
		struct memdbg_error *err = memdbg_read(t, addr + i, &hdr[i], 1);
		if (err) {
			memdbg_error_destroy(err);
			return NULL;
		}
		len |= (uint64_t)(hdr[i] & 0x7f) << shift;
		if (!(hdr[i] & 0x80))
			break;
	}
	if (len > MAX_NAME)
		return NULL;
	char *name = malloc(len + 1);
	if (!name)
		return NULL;
	struct memdbg_error *err = memdbg_read(t, addr + i + 1, name, len);
	if (err) {
		memdbg_error_destroy(err);
		free(name);
		return NULL;
	}
	name[len] = '\0';
	return name;
}

/* ---- descriptors ---- */

static uint64_t hash_addr(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdull;
	return a ^ (a >> 33);
}

/* Under lock. */
static struct memdbg_error *table_insert(struct go_types *ty, struct go_type *type)
{
	struct type_table *tab = ty->table;
	if (!tab || (ty->n + 1) * 2 > tab->cap) {
		size_t cap = tab ? tab->cap * 2 : TYPE_TABLE_MIN;
		struct type_table *grown = calloc(1, sizeof(*grown) + cap * sizeof(grown->slot[0]));
		if (!grown)
			return memdbg_enomem;
		grown->cap = cap;
		grown->retired = tab;
		for (size_t i = 0; tab && i < tab->cap; i++) {
			if (!tab->slot[i])
				continue;
			size_t k = hash_addr(tab->slot[i]->addr) & (cap - 1);
			while (grown->slot[k])
				k = (k + 1) & (cap - 1);
			grown->slot[k] = tab->slot[i];
		}
		__atomic_store_n(&ty->table, grown, __ATOMIC_RELEASE);
		tab = grown;
	}
	size_t k = hash_addr(type->addr) & (tab->cap - 1);
	while (tab->slot[k])
		k = (k + 1) & (tab->cap - 1);
	__atomic_store_n(&tab->slot[k], type, __ATOMIC_RELEASE);
	ty->n++;
	return NULL;
}

static struct go_type *table_find(const struct go_types *ty, uint64_t addr)
{
	struct type_table *tab = __atomic_load_n(&ty->table, __ATOMIC_ACQUIRE);
	if (!tab)
		return NULL;
	struct go_type *type;
	for (size_t k = hash_addr(addr) & (tab->cap - 1); (type = __atomic_load_n(&tab->slot[k], __ATOMIC_ACQUIRE));
	     k = (k + 1) & (tab->cap - 1))
		if (type->addr == addr)
			return type;
	return NULL;
}

static void type_free(struct go_type *type)
{
	if (!type)
		return;
	for (size_t i = 0; i < type->nfields; i++)
		free(type->fields[i].name);
	free(type->fields);
	free(type->name);
	free(type->mask);
	free(type);
}

void go_types_destroy(struct go_types *ty)
{
	if (!ty)
		return;
	for (size_t i = 0; ty->table && i < ty->table->cap; i++)
		type_free(ty->table->slot[i]);
	for (struct type_table *tab = ty->table, *next; tab; tab = next) {
		next = tab->retired;
		free(tab);
	}
	free(ty);
}

static struct memdbg_error *read_fields(struct memdbg_target *t, const struct abi_layout *l, uint64_t addr,
					struct go_type *type)
{
	uint64_t array, len;
	struct memdbg_error *err = go_read_slice(t, addr + l->struct_fields, &array, &len);
	if (err)
		return err;
	if (len > MAX_FIELDS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "type at 0x%" PRIx64 " claims %" PRIu64 " fields", addr,
					   len);
	type->fields = calloc(len ? len : 1, sizeof(*type->fields));
	if (!type->fields)
		return memdbg_enomem;
	for (uint64_t i = 0; i < len; i++) {
		uint64_t f = array + i * l->field_size, name_ptr;
		struct go_field *fd = &type->fields[i];
		if ((err = memdbg_read_u64(t, f + l->field_typ, &fd->type)) ||
		    (err = memdbg_read_u64(t, f + l->field_offset, &fd->offset)) ||
		    (err = memdbg_read_u64(t, f + l->field_name, &name_ptr)))
			return err;
		fd->name = read_name(t, name_ptr);
		type->nfields++;
	}
	return NULL;
}

static struct memdbg_error *decode_type(struct memdbg_target *t, const struct abi_layout *l, uint64_t addr,
					struct go_type *type)
{
	struct memdbg_error *err;
	uint8_t kind, tflag;
	int32_t str;
	type->addr = addr;
	if ((err = memdbg_read_u64(t, addr + l->size, &type->size)) ||
	    (err = memdbg_read_u64(t, addr + l->ptrbytes, &type->ptrbytes)) ||
	    (err = memdbg_read(t, addr + l->kind, &kind, 1)) || (err = memdbg_read(t, addr + l->tflag, &tflag, 1)) ||
	    (err = memdbg_read(t, addr + l->str, &str, 4)))
		return err;
	if (type->ptrbytes > type->size)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "type at 0x%" PRIx64 " has PtrBytes > Size", addr);
	type->kind = kind & 31;
	type->tflag = tflag;
	type->direct_iface = l->has_tflag_direct ? (tflag & l->tflag_direct_iface) != 0 : (kind & l->kind_direct_iface) != 0;
	char *name = read_name(t, l->types_base + (uint64_t)(int64_t)str);
	if (name && (tflag & l->tflag_extra_star) && name[0] == '*')
		memmove(name, name + 1, strlen(name));
	type->name = name;
	switch (type->kind) {
	case GO_KIND_POINTER:
		return memdbg_read_u64(t, addr + l->ptr_elem, &type->elem);
	case GO_KIND_SLICE:
		return memdbg_read_u64(t, addr + l->slice_elem, &type->elem);
	case GO_KIND_CHAN:
		return memdbg_read_u64(t, addr + l->chan_elem, &type->elem);
	case GO_KIND_ARRAY:
		if ((err = memdbg_read_u64(t, addr + l->array_elem, &type->elem)))
			return err;
		return memdbg_read_u64(t, addr + l->array_len, &type->len);
	case GO_KIND_MAP:
		if ((err = memdbg_read_u64(t, addr + l->map_key, &type->key)) ||
		    (err = memdbg_read_u64(t, addr + l->map_elem, &type->elem)))
			return err;
		return memdbg_read_u64(t, addr + l->map_group, &type->group);
	case GO_KIND_INTERFACE: {
		uint64_t methods, n;
		if ((err = go_read_slice(t, addr + l->iface_methods, &methods, &n)))
			return err;
		type->iface_empty = n == 0;
		return NULL;
	}
	case GO_KIND_STRUCT:
		return read_fields(t, l, addr, type);
	default:
		return NULL;
	}
}

const struct go_type *go_type_at(struct memdbg_target *t, struct memdbg_go *go, uint64_t addr,
				 struct memdbg_error **errp)
{
	struct go_types *ty = NULL;
	struct memdbg_error *err = types_get(t, go, &ty);
	if (!err) {
		struct go_type *type = table_find(ty, addr);
		if (type)
			return type;
		pthread_mutex_lock(&lock);
		if (!(type = table_find(ty, addr))) {  /* another thread may have decoded it meanwhile */
			if (!(type = calloc(1, sizeof(*type)))) {
				err = memdbg_enomem;
			} else if ((err = decode_type(t, &ty->l, addr, type)) || (err = table_insert(ty, type))) {
				type_free(type);
				type = NULL;
			}
		}
		pthread_mutex_unlock(&lock);
		if (type)
			return type;
	}
	if (errp)
		*errp = memdbg_error_prefix(err, "type descriptor at 0x%" PRIx64, addr);
	else
		memdbg_error_destroy(err);
	return NULL;
}

/* ---- pointer masks ---- */

/* The runtime's own construction of a mask from a type's structure (as buildGCMask does). */
static void mask_from_structure(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty,
				uint64_t word, uint8_t *mask, uint64_t nwords, int depth)
{
	if (!ty || ty->ptrbytes == 0 || depth > MAX_DEPTH || word >= nwords)
		return;
	switch (ty->kind) {
	case GO_KIND_POINTER:
	case GO_KIND_CHAN:
	case GO_KIND_MAP:
	case GO_KIND_FUNC:
	case GO_KIND_UNSAFE_POINTER:
	case GO_KIND_STRING:
	case GO_KIND_SLICE:
		go_set_bit(mask, word);
		return;
	case GO_KIND_INTERFACE:
		go_set_bit(mask, word);
		if (word + 1 < nwords)
			go_set_bit(mask, word + 1);
		return;
	case GO_KIND_ARRAY: {
		const struct go_type *elem = go_type_at(t, go, ty->elem, NULL);
		if (!elem || elem->size % 8 || elem->ptrbytes == 0)
			return;
		for (uint64_t i = 0; i < ty->len && word + i * (elem->size / 8) < nwords; i++)
			mask_from_structure(t, go, elem, word + i * (elem->size / 8), mask, nwords, depth + 1);
		return;
	}
	case GO_KIND_STRUCT:
		for (size_t i = 0; i < ty->nfields; i++) {
			if (ty->fields[i].offset % 8)
				continue;
			const struct go_type *f = go_type_at(t, go, ty->fields[i].type, NULL);
			mask_from_structure(t, go, f, word + ty->fields[i].offset / 8, mask, nwords, depth + 1);
		}
		return;
	default:
		return;
	}
}

/* Under lock; publishes ty->mask, then mask_done. */
static void build_mask(struct memdbg_target *t, struct memdbg_go *go, struct go_type *ty)
{
	struct go_types *types = go->types;
	uint64_t nwords = ty->ptrbytes / 8;
	uint8_t *mask = nwords && nwords <= MAX_MASK_WORDS ? calloc((nwords + 7) / 8, 1) : NULL;
	if (!mask) {
		__atomic_store_n(&ty->mask_done, true, __ATOMIC_RELEASE);
		return;
	}
	const struct abi_layout *l = &types->l;
	uint64_t gcdata = 0;
	bool from_structure = false;
	struct memdbg_error *err = memdbg_read_u64(t, ty->addr + l->gcdata, &gcdata);
	if (!err && l->has_ondemand && (ty->tflag & l->tflag_ondemand)) {
		/* go1.24+: GCData points at a slot the runtime fills on first use; nil means never built. */
		err = memdbg_read_u64(t, gcdata, &gcdata);
		from_structure = !err && gcdata == 0;
	}
	if (!err && l->has_gcprog && ty->kind != 0) {
		uint8_t kind;
		err = memdbg_read(t, ty->addr + l->kind, &kind, 1);
		/* go1.22-1.23: a GC program, which we do not run; the structure gives the same mask. */
		from_structure = from_structure || (!err && (kind & l->kind_gcprog));
	}
	if (!err && !from_structure)
		err = memdbg_read(t, gcdata, mask, (nwords + 7) / 8);
	if (err || from_structure) {
		memdbg_error_destroy(err);
		memset(mask, 0, (nwords + 7) / 8);
		mask_from_structure(t, go, ty, 0, mask, nwords, 0);
		ty->mask_rebuilt = true;
	}
	ty->mask = mask;
	__atomic_store_n(&ty->mask_done, true, __ATOMIC_RELEASE);
}

const uint8_t *go_type_mask(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *cty)
{
	struct go_type *ty = (struct go_type *)cty;  /* the mask is a cache inside the descriptor */
	if (!__atomic_load_n(&ty->mask_done, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&lock);
		if (!ty->mask_done)
			build_mask(t, go, ty);
		pthread_mutex_unlock(&lock);
	}
	return ty->mask;
}

bool go_type_word_is_ptr(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty, uint64_t w)
{
	const uint8_t *mask = go_type_mask(t, go, ty);
	return mask && w < ty->ptrbytes / 8 && (mask[w / 8] >> (w % 8)) & 1;
}

uint64_t go_type_mask64(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty)
{
	const uint8_t *mask = go_type_mask(t, go, ty);
	uint64_t m = 0, nwords = ty->ptrbytes / 8;
	if (mask)
		memcpy(&m, mask, nwords >= 64 ? 8 : (size_t)(nwords + 7) / 8);
	return m;
}

uint64_t go_type_by_name(struct memdbg_target *t, struct memdbg_go *go, const char *name)
{
	struct go_types *ty;
	uint64_t off;
	struct memdbg_error *err = types_get(t, go, &ty);
	if (err) {
		memdbg_error_destroy(err);
		return 0;
	}
	return memdbg_dwarf_runtime_type(t->dwarf, name, &off) ? ty->l.types_base + off : 0;
}

uint64_t go_iface_type(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *iface, uint64_t word0)
{
	if (!word0 || iface->iface_empty)
		return word0;
	uint64_t type = 0;
	struct memdbg_error *err = memdbg_read_u64(t, word0 + go->types->l.itab_type, &type);
	memdbg_error_destroy(err);
	return err ? 0 : type;
}

bool go_swiss_maps(struct memdbg_target *t, struct memdbg_go *go)
{
	struct go_types *ty;
	struct memdbg_error *err = types_get(t, go, &ty);
	memdbg_error_destroy(err);
	return !err && ty->l.swiss;
}

/* ---- names for people ---- */

void go_type_field_path(struct memdbg_target *t, struct memdbg_go *go, const struct go_type *ty, uint64_t off,
			char *buf, size_t size)
{
	size_t len = strlen(buf);
	for (int depth = 0; ty && depth < MAX_DEPTH && len + 1 < size; depth++) {
		const struct go_type *next = NULL;
		int n = 0;
		if (ty->kind == GO_KIND_ARRAY) {
			next = go_type_at(t, go, ty->elem, NULL);
			if (!next || !next->size)
				return;
			n = snprintf(buf + len, size - len, "[%" PRIu64 "]", off / next->size);
			off %= next->size;
		} else if (ty->kind == GO_KIND_STRUCT) {
			for (size_t i = 0; i < ty->nfields && !next; i++) {
				const struct go_field *f = &ty->fields[i];
				const struct go_type *ft = go_type_at(t, go, f->type, NULL);
				if (!ft || off < f->offset || off >= f->offset + ft->size)
					continue;
				n = snprintf(buf + len, size - len, ".%s", f->name ? f->name : "?");
				off -= f->offset;
				next = ft;
			}
		}
		if (!next || n < 0)
			return;
		len = (size_t)n < size - len ? len + (size_t)n : size - 1;
		ty = next;
	}
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 when it is not one. */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	size_t k = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (!k || k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* No overlong forms, surrogates or code points past U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return k;
}

static void quote_bytes(const uint8_t *s, size_t n, uint64_t total, char *buf, size_t size)
{
	size_t len = 0, i = 0;
	buf[len++] = '"';
	while (i < n && len + 8 < size) {
		uint8_t c = s[i];
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t"
				: c == '\r' ? "\\r" : NULL;
		size_t k = c >= 0x80 ? utf8_len(s + i, n - i) : 1;
		if (esc)
			len += (size_t)snprintf(buf + len, size - len, "%s", esc);
		else if (c < 0x20 || c == 0x7f || !k)
			len += (size_t)snprintf(buf + len, size - len, "\\x%02x", c);
		else
			for (size_t j = 0; j < k; j++)
				buf[len++] = (char)s[i + j];
		i += k ? k : 1;
	}
	buf[len] = '\0';
	if (total > i)
		snprintf(buf + len, size - len, "\"... (%" PRIu64 " bytes)", total);
	else
		snprintf(buf + len, size - len, "\"");
}

bool go_quote_string(struct memdbg_target *t, uint64_t data, uint64_t len, size_t max, char *buf, size_t size)
{
	uint8_t s[GO_QUOTE_MAX];
	size_t n = len < max ? (size_t)len : max;
	if (n > sizeof(s))
		n = sizeof(s);
	struct memdbg_error *err = n ? memdbg_read(t, data, s, n) : NULL;
	if (err) {
		memdbg_error_destroy(err);
		return false;
	}
	quote_bytes(s, n, len, buf, size);
	return true;
}
