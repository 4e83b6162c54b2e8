/*
 * pclntab.c - the runtime's function table: pc -> function, name, file:line,
 * frame size (pcsp), pcdata and funcdata, and stack maps.
 *
 * The modules come from runtime.firstmoduledata and its next links; every
 * field offset (moduledata, _func) comes from DWARF.  The 1.22-1.26 layout of
 * _func and its trailing pcdata/funcdata arrays is the same; go1.26 moved the
 * funcdata into .gopclntab, which is transparent here because funcdata is
 * always moduledata.gofunc + offset.
 */
#include <stdlib.h>
#include <string.h>

#include "go/stack.h"

#define MAX_MODULES 64
#define MAX_FTAB (1u << 24)    /* functions per module */
#define MAX_TEXTSECTS 1024
#define MAX_NAME 4096          /* bytes of a function or file name */
#define MAX_PCVALUE_STEPS (1u << 20)
#define MAX_STACKMAP_BITS (1u << 24)

bool go_grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return true;
	size_t c = *cap ? 2 * *cap : 64;
	void *nv = realloc(*v, c * size);
	if (!nv)
		return false;
	*v = nv;
	*cap = c;
	return true;
}

/* ---- uint64 -> pointer map ---- */

static size_t map_slot(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

void *go_map_get(const struct go_map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = map_slot(key, m->cap), k = 0; k < m->cap; i = (i + 1) & (m->cap - 1), k++) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
	return NULL;
}

static bool map_grow(struct go_map *m)
{
	size_t cap = m->cap ? 2 * m->cap : 256;
	struct go_map nm = { calloc(cap, sizeof(uint64_t)), calloc(cap, sizeof(void *)), cap, 0 };
	if (!nm.keys || !nm.vals) {
		free(nm.keys);
		free(nm.vals);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			go_map_put(&nm, m->keys[i], m->vals[i]);
	go_map_free(m);
	*m = nm;
	return true;
}

bool go_map_put(struct go_map *m, uint64_t key, void *val)
{
	if (!key)
		return false;
	if ((m->n + 1) * 2 > m->cap && !map_grow(m))
		return false;
	size_t i = map_slot(key, m->cap);
	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return true;
}

void go_map_free(struct go_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ---- layouts ---- */

struct member_spec {
	const char *type, *path;
	size_t offset_at;
};

#define MD(path, field) { "runtime.moduledata", path, offsetof(struct module_layout, field) }

struct module_layout {
	uint64_t pcheader, funcnametab, cutab, filetab, pctab, pclntable, ftab, minpc, maxpc, text, etext, gofunc,
		rodata, epclntab, textsectmap, next;
};

static const struct member_spec module_members[] = {
	MD("funcnametab", funcnametab), MD("cutab", cutab), MD("filetab", filetab), MD("pctab", pctab),
	MD("pclntable", pclntable), MD("ftab", ftab), MD("minpc", minpc), MD("maxpc", maxpc),
	MD("text", text), MD("etext", etext), MD("gofunc", gofunc), MD("rodata", rodata),
	MD("textsectmap", textsectmap), MD("next", next),
};

#define FN(path, field) { "runtime._func", path, offsetof(struct go_func_layout, field) }

static const struct member_spec func_members[] = {
	FN("entryOff", entry_off), FN("nameOff", name_off), FN("args", args), FN("deferreturn", deferreturn), FN("pcsp", pcsp),
	FN("pcfile", pcfile), FN("pcln", pcln), FN("npcdata", npcdata), FN("cuOffset", cu_offset),
	FN("startLine", start_line), FN("funcID", funcid), FN("flag", flag), FN("nfuncdata", nfuncdata),
};

static struct memdbg_error *resolve(struct go_stack *s, const struct member_spec *specs, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t *at = (uint64_t *)((char *)out + specs[i].offset_at);
		if (!memdbg_dwarf_member(s->t->dwarf, specs[i].type, specs[i].path, at, NULL))
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: cannot find %s.%s in the DWARF of this binary",
						   s->go->version, specs[i].type, specs[i].path);
	}
	return NULL;
}

/* ---- modules ---- */

struct reader {
	struct memdbg_target *t;
	struct memdbg_error *err;
};

static uint64_t rd64(struct reader *r, uint64_t addr)
{
	uint64_t v = 0;
	if (!r->err)
		r->err = memdbg_read(r->t, addr, &v, 8);
	return v;
}

static struct memdbg_error *load_textsects(struct go_stack *s, struct go_module *m, uint64_t at)
{
	uint64_t array, len;
	struct memdbg_error *err = go_read_slice(s->t, at, &array, &len);
	if (err)
		return err;
	if (len <= 1)
		return NULL;  /* one section: pc - text is the offset */
	if (len > MAX_TEXTSECTS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "moduledata lists %" PRIu64 " text sections", len);
	m->sects = calloc(len, sizeof(*m->sects));
	if (!m->sects)
		return memdbg_enomem;
	m->nsects = len;
	return memdbg_read(s->t, array, m->sects, len * sizeof(*m->sects));
}

static struct memdbg_error *load_module(struct go_stack *s, const struct module_layout *ml, uint64_t md,
					struct go_module *m)
{
	struct reader r = { s->t };
	m->addr = md;
	m->text = rd64(&r, md + ml->text);
	m->etext = rd64(&r, md + ml->etext);
	m->minpc = rd64(&r, md + ml->minpc);
	m->maxpc = rd64(&r, md + ml->maxpc);
	m->gofunc = rd64(&r, md + ml->gofunc);
	m->rodata = rd64(&r, md + ml->rodata);
	m->epclntab = ml->epclntab ? rd64(&r, md + ml->epclntab) : 0;
	if (r.err)
		return r.err;
	struct { uint64_t at, *addr, *len; } slices[] = {
		{ ml->funcnametab, &m->funcnametab, &m->funcnametab_len },
		{ ml->cutab, &m->cutab, &m->cutab_len },
		{ ml->filetab, &m->filetab, &m->filetab_len },
		{ ml->pctab, &m->pctab, &m->pctab_len },
		{ ml->pclntable, &m->pclntable, &m->pclntable_len },
	};
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(slices); i++) {
		struct memdbg_error *err = go_read_slice(s->t, md + slices[i].at, slices[i].addr, slices[i].len);
		if (err)
			return err;
	}
	uint64_t ftab, nftab;
	struct memdbg_error *err = go_read_slice(s->t, md + ml->ftab, &ftab, &nftab);
	if (err)
		return err;
	/* The last ftab entry is a sentinel at etext. */
	if (nftab < 2 || nftab > MAX_FTAB)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "moduledata at 0x%" PRIx64 " has %" PRIu64 " ftab entries",
					   md, nftab);
	m->ftab = malloc(nftab * 8);
	if (!m->ftab)
		return memdbg_enomem;
	m->nftab = nftab - 1;
	if ((err = memdbg_read(s->t, ftab, m->ftab, nftab * 8)))
		return memdbg_error_prefix(err, "reading the function table");
	/* entryoff must not decrease: binary search depends on it. */
	for (size_t i = 1; i < nftab; i++)
		if (m->ftab[2 * i] < m->ftab[2 * (i - 1)])
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "function table of module 0x%" PRIx64
						   " is not sorted at entry %zu", md, i);
	return load_textsects(s, m, md + ml->textsectmap);
}

struct memdbg_error *go_pcln_load(struct go_stack *s)
{
	struct module_layout ml;
	struct memdbg_error *err;
	if ((err = resolve(s, module_members, MEMDBG_ARRAY_SIZE(module_members), &ml)) ||
	    (err = resolve(s, func_members, MEMDBG_ARRAY_SIZE(func_members), &s->fl)))
		return err;
	s->fl.tail = s->fl.nfuncdata + 1;
	/* epclntab exists since go1.23; without it funcdata is bounded by the module end. */
	if (!memdbg_dwarf_member(s->t->dwarf, "runtime.moduledata", "epclntab", &ml.epclntab, NULL))
		ml.epclntab = 0;
	uint64_t md;
	if (!memdbg_target_symbol(s->t, "runtime.firstmoduledata", &md, NULL))
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s: symbol runtime.firstmoduledata not found",
					   s->go->version);
	s->mods = calloc(MAX_MODULES, sizeof(*s->mods));
	if (!s->mods)
		return memdbg_enomem;
	for (size_t i = 0; md && i < MAX_MODULES; i++) {
		struct go_module *m = &s->mods[s->nmods++];
		if ((err = load_module(s, &ml, md, m)))
			return memdbg_error_prefix(err, "module at 0x%" PRIx64, md);
		if ((err = memdbg_read_u64(s->t, md + ml.next, &md)))
			return memdbg_error_prefix(err, "module at 0x%" PRIx64, m->addr);
	}
	return NULL;
}

void go_pcln_free(struct go_stack *s)
{
	for (size_t i = 0; i < s->nmods; i++) {
		free(s->mods[i].ftab);
		free(s->mods[i].sects);
	}
	free(s->mods);
	for (size_t i = 0; i < s->funcs.cap; i++) {
		struct go_func *f = s->funcs.vals[i];
		if (s->funcs.keys[i] && f) {
			free((char *)f->name);
			free(f);
		}
	}
	go_map_free(&s->funcs);
	for (size_t i = 0; i < s->files.cap; i++)
		if (s->files.keys[i])
			free(s->files.vals[i]);
	go_map_free(&s->files);
}

/* ---- lookups ---- */

/* A NUL-terminated string of the target at addr, within [addr, limit). */
static char *read_cstring(struct memdbg_target *t, uint64_t addr, uint64_t limit)
{
	char buf[MAX_NAME];
	size_t n = 0;
	while (n < sizeof(buf) - 1 && addr + n < limit) {
		size_t chunk = 64;
		if (chunk > limit - (addr + n))
			chunk = (size_t)(limit - (addr + n));
		if (chunk > sizeof(buf) - 1 - n)
			chunk = sizeof(buf) - 1 - n;
		struct memdbg_error *err = memdbg_read(t, addr + n, buf + n, chunk);
		if (err) {
			memdbg_error_destroy(err);
			return NULL;
		}
		void *nul = memchr(buf + n, 0, chunk);
		if (nul)
			return strdup(buf);
		n += chunk;
	}
	return NULL;
}

/* textOff: pc as an offset from the module's text, across text sections. */
static bool text_off(const struct go_module *m, uint64_t pc, uint32_t *off)
{
	if (m->nsects <= 1) {
		*off = (uint32_t)(pc - m->text);
		return true;
	}
	for (size_t i = 0; i < m->nsects; i++) {
		const struct go_textsect *ts = &m->sects[i];
		if (ts->baseaddr > pc)
			return false;
		uint64_t end = ts->baseaddr + (ts->end - ts->vaddr) + (i == m->nsects - 1);
		if (pc < end) {
			*off = (uint32_t)(pc - ts->baseaddr + ts->vaddr);
			return true;
		}
	}
	return false;
}

/* textAddr: the inverse of text_off. */
static uint64_t text_addr(const struct go_module *m, uint32_t off)
{
	for (size_t i = 0; m->nsects > 1 && i < m->nsects; i++) {
		const struct go_textsect *ts = &m->sects[i];
		if ((off >= ts->vaddr && off < ts->end) || (i == m->nsects - 1 && off == ts->end))
			return ts->baseaddr + off - ts->vaddr;
	}
	return m->text + off;
}

static const struct go_module *module_at(const struct go_stack *s, uint64_t pc)
{
	for (size_t i = 0; i < s->nmods; i++)
		if (pc >= s->mods[i].minpc && pc < s->mods[i].maxpc)
			return &s->mods[i];
	return NULL;
}

static uint32_t rd32(const uint8_t *p, uint64_t off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}

static struct go_func *decode_func(struct go_stack *s, const struct go_module *m, size_t idx, uint64_t record)
{
	const struct go_func_layout *fl = &s->fl;
	uint8_t buf[64];
	if (fl->tail > sizeof(buf) || record + fl->tail > m->pclntable + m->pclntable_len)
		return NULL;
	struct memdbg_error *err = memdbg_read(s->t, record, buf, fl->tail);
	if (err) {
		memdbg_error_destroy(err);
		return NULL;
	}
	struct go_func *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->record = record;
	f->module = m;
	f->entry = text_addr(m, rd32(buf, fl->entry_off));
	f->end = text_addr(m, m->ftab[2 * (idx + 1)]);
	f->args = (int32_t)rd32(buf, fl->args);
	f->deferreturn = rd32(buf, fl->deferreturn);
	f->pcsp = rd32(buf, fl->pcsp);
	f->pcfile = rd32(buf, fl->pcfile);
	f->pcln = rd32(buf, fl->pcln);
	f->npcdata = rd32(buf, fl->npcdata);
	f->cu_offset = rd32(buf, fl->cu_offset);
	f->start_line = (int32_t)rd32(buf, fl->start_line);
	f->funcid = buf[fl->funcid];
	f->flag = buf[fl->flag];
	f->nfuncdata = buf[fl->nfuncdata];
	int32_t name_off = (int32_t)rd32(buf, fl->name_off);
	char *name = NULL;
	if (name_off > 0 && (uint64_t)name_off < m->funcnametab_len)
		name = read_cstring(s->t, m->funcnametab + name_off, m->funcnametab + m->funcnametab_len);
	f->name = name ? name : strdup("?");
	if (!f->name || f->npcdata > 1024) {
		free((char *)f->name);
		free(f);
		return NULL;
	}
	return f;
}

const struct go_func *go_func_at(struct go_stack *s, uint64_t pc)
{
	const struct go_module *m = module_at(s, pc);
	uint32_t off;
	if (!m || !text_off(m, pc, &off))
		return NULL;
	/* The last entry whose entryoff <= off. */
	size_t lo = 0, hi = m->nftab;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->ftab[2 * mid] <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	size_t idx = lo - 1;
	uint64_t record = m->pclntable + m->ftab[2 * idx + 1];
	if (m->ftab[2 * idx + 1] >= m->pclntable_len)
		return NULL;
	struct go_func *f = go_map_get(&s->funcs, record);
	if (f)
		return f;
	f = decode_func(s, m, idx, record);
	if (!f) {
		s->bad_funcs++;
		return NULL;
	}
	if (!go_map_put(&s->funcs, record, f)) {
		free((char *)f->name);
		free(f);
		return NULL;
	}
	return f;
}

/* A sequential reader of pctab bytes, in chunks. */
struct byte_reader {
	struct memdbg_target *t;
	uint64_t addr, end;
	uint8_t buf[256];
	size_t pos, len;
};

static bool next_byte(struct byte_reader *br, uint8_t *b)
{
	if (br->pos == br->len) {
		if (br->addr >= br->end)
			return false;
		size_t n = br->end - br->addr < sizeof(br->buf) ? (size_t)(br->end - br->addr) : sizeof(br->buf);
		struct memdbg_error *err = memdbg_read(br->t, br->addr, br->buf, n);
		if (err) {
			memdbg_error_destroy(err);
			return false;
		}
		br->addr += n;
		br->pos = 0;
		br->len = n;
	}
	*b = br->buf[br->pos++];
	return true;
}

static bool read_uvarint(struct byte_reader *br, uint32_t *v)
{
	uint32_t val = 0;
	for (unsigned shift = 0; shift < 35; shift += 7) {
		uint8_t b;
		if (!next_byte(br, &b))
			return false;
		val |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = val;
			return true;
		}
	}
	return false;
}

/*
 * pcvalue: the table at pctab+off is a sequence of (value delta, pc delta)
 * varint pairs starting at the entry with value -1; the value for targetpc
 * is the one whose pc range contains it.
 */
static bool pcvalue(struct go_stack *s, const struct go_func *f, uint32_t off, uint64_t targetpc, int32_t *ret)
{
	const struct go_module *m = f->module;
	if (off == 0 || off >= m->pctab_len)
		return false;
	struct byte_reader br = { .t = s->t, .addr = m->pctab + off, .end = m->pctab + m->pctab_len };
	uint64_t pc = f->entry;
	int32_t val = -1;
	for (uint32_t step = 0; step < MAX_PCVALUE_STEPS; step++) {
		uint32_t uvdelta, pcdelta;
		if (!read_uvarint(&br, &uvdelta))
			return false;
		if (uvdelta == 0 && step > 0)
			return false;  /* end of table before targetpc */
		val += (int32_t)(-(uvdelta & 1) ^ (uvdelta >> 1));
		if (!read_uvarint(&br, &pcdelta))
			return false;
		pc += pcdelta;  /* PCQuantum is 1 on amd64 */
		if (targetpc < pc) {
			*ret = val;
			return true;
		}
	}
	return false;
}

static const char *file_name(struct go_stack *s, const struct go_module *m, uint32_t cu_offset, int32_t fileno)
{
	if (fileno < 0 || (uint64_t)cu_offset + (uint64_t)fileno >= m->cutab_len)  /* cutab_len counts uint32s */
		return NULL;
	uint32_t fileoff;
	struct memdbg_error *err = memdbg_read_u32(s->t, m->cutab + 4 * ((uint64_t)cu_offset + fileno), &fileoff);
	if (err) {
		memdbg_error_destroy(err);
		return NULL;
	}
	if (fileoff == UINT32_MAX || fileoff >= m->filetab_len)
		return NULL;
	uint64_t addr = m->filetab + fileoff;
	char *name = go_map_get(&s->files, addr);
	if (name)
		return name;
	name = read_cstring(s->t, addr, m->filetab + m->filetab_len);
	if (name && !go_map_put(&s->files, addr, name)) {
		free(name);
		return NULL;
	}
	return name;
}

bool go_func_line(struct go_stack *s, const struct go_func *f, uint64_t pc, const char **file, int32_t *line)
{
	int32_t fileno, ln;
	if (!pcvalue(s, f, f->pcfile, pc, &fileno) || !pcvalue(s, f, f->pcln, pc, &ln) || fileno < 0 || ln < 0)
		return false;
	const char *name = file_name(s, f->module, f->cu_offset, fileno);
	if (!name)
		return false;
	*file = name;
	*line = ln;
	return true;
}

bool go_func_spdelta(struct go_stack *s, const struct go_func *f, uint64_t pc, int32_t *delta)
{
	int32_t d;
	if (!pcvalue(s, f, f->pcsp, pc, &d) || d < 0 || (d & 7))
		return false;
	*delta = d;
	return true;
}

int32_t go_func_pcdata(struct go_stack *s, const struct go_func *f, uint32_t table, uint64_t pc)
{
	if (table >= f->npcdata)
		return -1;
	uint32_t off;
	struct memdbg_error *err = memdbg_read_u32(s->t, f->record + s->fl.tail + 4 * (uint64_t)table, &off);
	int32_t v;
	if (err) {
		memdbg_error_destroy(err);
		return -1;
	}
	return pcvalue(s, f, off, pc, &v) ? v : -1;
}

uint64_t go_func_funcdata(struct go_stack *s, const struct go_func *f, uint8_t i)
{
	if (i >= f->nfuncdata)
		return 0;
	const struct go_module *m = f->module;
	uint32_t off;
	struct memdbg_error *err =
		memdbg_read_u32(s->t, f->record + s->fl.tail + 4 * ((uint64_t)f->npcdata + i), &off);
	if (err) {
		memdbg_error_destroy(err);
		return 0;
	}
	return off == UINT32_MAX ? 0 : m->gofunc + off;
}

struct memdbg_error *go_stackmap_bits(struct go_stack *s, uint64_t addr, int32_t index, uint8_t *bits,
				      uint32_t maxbits, uint32_t *nbit)
{
	int32_t hdr[2];  /* runtime.stackmap{n, nbit int32; bytedata} */
	struct memdbg_error *err = memdbg_read(s->t, addr, hdr, sizeof(hdr));
	if (err)
		return err;
	if (hdr[1] == 0) {
		*nbit = 0;  /* no pointers: the runtime does not look at the index either */
		return NULL;
	}
	if (hdr[0] <= 0 || hdr[1] < 0 || (uint32_t)hdr[1] > MAX_STACKMAP_BITS || index < 0 || index >= hdr[0])
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA,
					   "stack map at 0x%" PRIx64 ": index %d of n=%d nbit=%d", addr, index, hdr[0], hdr[1]);
	if ((uint32_t)hdr[1] > maxbits)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "stack map at 0x%" PRIx64 " has %d bits", addr, hdr[1]);
	uint64_t bytes = ((uint64_t)hdr[1] + 7) / 8;
	*nbit = (uint32_t)hdr[1];
	return bytes ? memdbg_read(s->t, addr + 8 + (uint64_t)index * bytes, bits, bytes) : NULL;
}

/* ---- inlining ---- */

#define FUNCDATA_INL_TREE 3
#define PCDATA_INL_TREE_INDEX 2
#define INLINED_CALL_SIZE 16  /* runtime.inlinedCall{funcID, _ [3]byte, nameOff, parentPc, startLine} */

/* A function name of the module's funcnametab, cached like file names. */
static const char *name_at(struct go_stack *s, const struct go_module *m, int32_t off)
{
	if (off <= 0 || (uint64_t)off >= m->funcnametab_len)
		return NULL;
	uint64_t addr = m->funcnametab + (uint64_t)off;
	char *name = go_map_get(&s->files, addr);
	if (name)
		return name;
	name = read_cstring(s->t, addr, m->funcnametab + m->funcnametab_len);
	if (name && !go_map_put(&s->files, addr, name)) {
		free(name);
		return NULL;
	}
	return name;
}

size_t go_func_inlined(struct go_stack *s, const struct go_func *f, uint64_t pc, struct go_inline *out, size_t max)
{
	uint64_t tree = go_func_funcdata(s, f, FUNCDATA_INL_TREE);
	int32_t ix = tree ? go_func_pcdata(s, f, PCDATA_INL_TREE_INDEX, pc) : -1;
	size_t n = 0;
	while (n < max) {
		struct go_inline *in = &out[n++];
		if (!go_func_line(s, f, pc, &in->file, &in->line)) {
			in->file = "?";
			in->line = 0;
		}
		in->inlined = ix >= 0;
		if (ix < 0) {
			in->name = f->name;
			break;
		}
		uint8_t call[INLINED_CALL_SIZE];
		struct memdbg_error *err = memdbg_read(s->t, tree + (uint64_t)ix * INLINED_CALL_SIZE, call, sizeof(call));
		if (err) {
			memdbg_error_destroy(err);
			in->name = "?";
			break;
		}
		int32_t name_off = (int32_t)rd32(call, 4), parent_pc = (int32_t)rd32(call, 8);
		in->name = name_at(s, f->module, name_off);
		if (!in->name)
			in->name = "?";
		if (parent_pc < 0 || f->entry + (uint64_t)parent_pc >= f->end)
			break;
		pc = f->entry + (uint64_t)parent_pc;
		ix = go_func_pcdata(s, f, PCDATA_INL_TREE_INDEX, pc);
	}
	return n;
}
