/*
 * gen.c - print the rows of native/src/go/layout_table.h for one unstripped
 * Go executable, as memdbg's own DWARF code reads them (so the table answers
 * exactly what DWARF would): every member of the runtime structures memdbg
 * reads (nested structs flattened into "a.b" paths), their sizes, the
 * runtime's constants, and for each runtime global the function whose code
 * references it, which reference and at what offset in the global (from the
 * symbol table), found with the same x86-64 walker memdbg uses.
 *
 * A second executable of the same toolchain and build mode, if given, supplies
 * the structures the first one's DWARF lacks (a program's DWARF has only the
 * types its linked code uses: setup/golayout/timers makes package time's
 * timers); constants and globals come from the first alone.
 *
 * Output: one row per line, "kind<TAB>name<TAB>path<TAB>value<TAB>size";
 * the first line is "version<TAB>runtime.buildVersion<TAB>build mode".
 * setup/go-layout.sh merges the rows of every toolchain into the header.
 * Linked against build/libmemdbg.a (make build/go-layout-gen).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The structures whose members memdbg reads (and their neighbours, for later lookups). */
static const char *const types[] = {
	"internal/abi.ArrayType", "internal/abi.ChanType", "internal/abi.FuncType", "internal/abi.ITab",
	"internal/abi.Imethod", "internal/abi.InterfaceType", "internal/abi.MapType", "internal/abi.Name",
	"internal/abi.OldMapType", "internal/abi.PtrType", "internal/abi.SliceType", "internal/abi.StructField",
	"internal/abi.StructType", "internal/abi.SwissMapType", "internal/abi.Type", "internal/abi.UncommonType",
	"internal/runtime/maps.Map", "internal/runtime/maps.groupsReference", "internal/runtime/maps.table",
	"runtime._defer", "runtime._func", "runtime._panic", "runtime.bitvector", "runtime.finblock", "runtime.finalizer",
	"runtime.funcval", "runtime.functab", "runtime.timeTimer", "runtime.timer", "time.Ticker", "time.Timer",
	"runtime.g", "runtime.gcControllerState", "runtime.gobuf", "runtime.hchan", "runtime.heapArena",
	"runtime.heapStatsDelta", "runtime.hmap", "runtime.itab", "runtime.m", "runtime.mcache", "runtime.mcentral",
	"runtime.mheap", "runtime.moduledata", "runtime.mspan", "runtime.mstats", "runtime.p", "runtime.pcHeader",
	"runtime.schedt", "runtime.semaRoot", "runtime.special", "runtime.specialCleanup", "runtime.specialWeakHandle",
	"runtime.specialfinalizer", "runtime.spanInlineMarkBits", "runtime.spanSet", "runtime.spanSetBlock",
	"runtime.stack", "runtime.stackObjectRecord", "runtime.stackmap", "runtime.sudog", "runtime.textsect",
	"runtime.waitq", "sync.Pool", "sync.eface", "sync.poolChain", "sync.poolChainElt", "sync.poolDequeue",
	"sync.poolLocal", "sync.poolLocalInternal",
};

/* Constants of these packages (prefixes of their names). */
static const char *const const_prefixes[] = { "runtime.", "internal/abi.", "internal/runtime/gc.", "sync." };

/* Each global memdbg needs, and runtime functions whose code references it (a row for each that does:
 * the linker drops what a program does not call, readmemstats_m unless it reads MemStats). */
static const struct {
	const char *global;
	const char *funcs[4];
} globals[] = {
	{ "runtime.mheap_", { "runtime.gcSweep", "runtime.gcResetMarkState", "runtime.freeStackSpans" } },
	{ "runtime.allgs", { "runtime.allgadd", "runtime.forEachG" } },
	{ "runtime.allglen", { "runtime.allgadd", "runtime.forEachGRace" } },
	{ "runtime.allp", { "runtime.procresize" } },
	{ "runtime.gomaxprocs", { "runtime.procresize" } },
	{ "runtime.gcphase", { "runtime.gcStart", "runtime.gcMarkTermination" } },
	{ "runtime.memstats", { "runtime.readmemstats_m", "runtime.gcMarkTermination" } },
	{ "runtime.gcController", { "runtime.readmemstats_m", "runtime.gcStart" } },
	{ "runtime.sched", { "runtime.checkdead", "runtime.schedtrace" } },
	{ "runtime.emptymspan", { "runtime.allocmcache", "runtime.(*mcache).releaseAll" } },
	{ "runtime.class_to_size", { "runtime.readmemstats_m", "runtime.mallocinit", "runtime.growslice" } },
	{ "internal/runtime/gc.SizeClassToSize", { "runtime.readmemstats_m", "runtime.mallocinit", "runtime.growslice" } },
	{ "runtime.waitReasonStrings", { "runtime.waitReason.String", "runtime.goroutineheader" } },
	{ "runtime.allm", { "runtime.mcommoninit" } },
	{ "runtime.persistentChunks", { "runtime.persistentalloc1" } },
	{ "runtime.iscgo", { "runtime.mcommoninit", "runtime.newm1" } },
	{ "runtime.fingStatus", { "runtime.createfing" } },
	{ "runtime.semtable", { "runtime.semrelease1", "runtime.semacquire1" } },
	{ "sync.allPools", { "sync.poolCleanup" } },
	{ "sync.oldPools", { "sync.poolCleanup" } },
};

#define MAX_DEPTH 6
#define MAX_REFS 4096

static struct memdbg_dwarf *dw;

static void peel(Dwarf_Die *die)
{
	for (int i = 0; i < 16; i++) {
		Dwarf_Attribute at;
		if (dwarf_tag(die) != DW_TAG_typedef || !dwarf_attr(die, DW_AT_type, &at) || !dwarf_formref_die(&at, die))
			return;
	}
}

/* Every member path under st, each printed with its offset and size as memdbg_dwarf_member reads them. */
static void flatten(const char *type, Dwarf_Die *st, const char *prefix, int depth)
{
	Dwarf_Die child;
	if (depth > MAX_DEPTH || dwarf_child(st, &child) != 0)
		return;
	do {
		const char *name = dwarf_diename(&child);
		Dwarf_Attribute at;
		Dwarf_Die t;
		char path[512];
		uint64_t off, size;
		if (dwarf_tag(&child) != DW_TAG_member || !name)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		if (memdbg_dwarf_member(dw, type, path, &off, &size))
			printf("m\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\n", type, path, off, size);
		else if (memdbg_dwarf_member(dw, type, path, &off, NULL))
			printf("m\t%s\t%s\t%" PRIu64 "\tUINT64_MAX\n", type, path, off);  /* a size DWARF does not give */
		if (!dwarf_attr(&child, DW_AT_type, &at) || !dwarf_formref_die(&at, &t))
			continue;
		peel(&t);
		if (dwarf_tag(&t) == DW_TAG_structure_type || dwarf_tag(&t) == DW_TAG_union_type)
			flatten(type, &t, path, depth + 1);
	} while (dwarf_siblingof(&child, &child) == 0);
}

/* The wanted types printed so far (from the first executable that has each). */
static bool done[MEMDBG_ARRAY_SIZE(types)];

/* The DIE of each wanted type not yet printed (and, if asked, every top-level constant of the wanted
 * packages), in one pass. */
static void walk_units(Dwarf *d, bool constants)
{
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(d, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		if (dwarf_offdie(d, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				const char *name = dwarf_diename(&child);
				int tag = dwarf_tag(&child);
				if (!name)
					continue;
				if (tag == DW_TAG_constant && constants) {
					int64_t v;
					for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(const_prefixes); i++)
						if (strncmp(name, const_prefixes[i], strlen(const_prefixes[i])) == 0 &&
						    memdbg_dwarf_const(dw, name, &v))
							printf("c\t%s\t\t%" PRId64 "\t0\n", name, v);
					continue;
				}
				if (tag != DW_TAG_structure_type || dwarf_hasattr(&child, DW_AT_declaration))
					continue;
				for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(types); i++) {
					uint64_t size;
					if (done[i] || strcmp(name, types[i]) != 0)
						continue;
					done[i] = true;
					if (memdbg_dwarf_type_size(dw, name, &size))
						printf("s\t%s\t\t0\t%" PRIu64 "\n", name, size);
					flatten(name, &child, "", 0);
				}
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
}

/* The first RIP-relative reference into [addr, addr+size) in the code of each of the functions. */
static int code_refs(struct memdbg_elf *elf, const char *global)
{
	static uint64_t refs[MAX_REFS];
	uint64_t addr, size;
	size_t gi;
	for (gi = 0; gi < MEMDBG_ARRAY_SIZE(globals) && strcmp(globals[gi].global, global); gi++)
		;
	if (!memdbg_elf_symbol(elf, global, &addr, &size))
		return 0;  /* this version has none */
	if (!size)
		size = 8;
	printf("v\t%s\t\t0\t%" PRIu64 "\n", global, size);
	bool found = false;
	for (size_t f = 0; f < 4 && globals[gi].funcs[f]; f++) {
		const char *fn = globals[gi].funcs[f];
		uint64_t entry, len, avail;
		if (!memdbg_elf_symbol(elf, fn, &entry, &len) || !len)
			continue;
		const uint8_t *code = memdbg_elf_file_bytes(elf, entry, &avail);
		if (!code || avail < len)
			continue;
		size_t decoded, n = memdbg_x86_rip_refs(code, len, entry, refs, MAX_REFS, &decoded);
		/* The walk must reach the end of the function (or its padding), or references could be missed. */
		while (decoded < len && code[decoded] == 0xcc)
			decoded++;
		if (decoded != len) {
			fprintf(stderr, "gen: %s: the x86 walk stops at +0x%zx of %" PRIu64 " bytes (byte %02x)\n", fn,
				decoded, len, code[decoded]);
			return 1;
		}
		for (size_t k = 0; k < n && k < MAX_REFS; k++)
			if (refs[k] >= addr && refs[k] < addr + size) {
				printf("r\t%s\t%s\t%zu\t%" PRIu64 "\n", global, fn, k, refs[k] - addr);
				found = true;
				break;
			}
	}
	if (found)
		return 0;
	fprintf(stderr, "gen: no listed function references %s\n", global);
	return 1;
}

/* runtime.buildVersion, a Go string in the executable, and its build mode: "go1.26.8\texe". */
static bool build_version(struct memdbg_elf *elf, char out[80])
{
	uint64_t addr, size, avail, hdr[2];
	const uint8_t *p;
	if (!memdbg_elf_symbol(elf, "runtime.buildVersion", &addr, &size) ||
	    !(p = memdbg_elf_file_bytes(elf, addr, &avail)) || avail < 16)
		return false;
	memcpy(hdr, p, 16);
	if (!(p = memdbg_elf_file_bytes(elf, hdr[0], &avail)) || avail < hdr[1] || hdr[1] > 64)
		return false;
	snprintf(out, 80, "%.*s\t%s", (int)hdr[1], (const char *)p, memdbg_elf_is_pie(elf) ? "pie" : "exe");
	return true;
}

/* Open path, its DWARF (into dw) and its version (into version); 1 on error, printed. */
static int open_dwarf(const char *path, struct memdbg_elf **elf, char version[80])
{
	struct memdbg_error *err = memdbg_elf_open(path, elf);
	bool opened = !err;
	const char *why = NULL;
	if (err)
		why = memdbg_error_message(err);
	else if (!memdbg_elf_dwarf(*elf))
		why = "no DWARF";
	else if (!build_version(*elf, version))
		why = "no runtime.buildVersion";
	else if ((err = memdbg_dwarf_create(memdbg_elf_dwarf(*elf), &dw)))
		why = memdbg_error_message(err);
	if (!why)
		return 0;
	fprintf(stderr, "gen: %s: %s\n", path, why);
	if (err)
		memdbg_error_destroy(err);
	if (opened)
		memdbg_elf_close(*elf);
	return 1;
}

/* The wanted types the first executable's DWARF lacks, from path: a build of the same toolchain and mode. */
static int more_types(const char *version, const char *path)
{
	struct memdbg_elf *elf;
	char other[80];
	if (open_dwarf(path, &elf, other))
		return 1;
	int rc = strcmp(version, other) != 0;
	if (rc)
		fprintf(stderr, "gen: %s: %s, not %s as the first executable\n", path, other, version);
	else
		walk_units(memdbg_elf_dwarf(elf), false);
	memdbg_dwarf_destroy(dw);
	memdbg_elf_close(elf);
	return rc;
}

int main(int argc, char **argv)
{
	struct memdbg_elf *elf;
	char version[80];
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s GO-EXECUTABLE [MORE-TYPES-EXECUTABLE] (unstripped, one toolchain)\n", argv[0]);
		return 2;
	}
	if (open_dwarf(argv[1], &elf, version))
		return 1;
	printf("version\t%s\n", version);
	int rc = 0;
	walk_units(memdbg_elf_dwarf(elf), true);
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(globals); i++)
		rc |= code_refs(elf, globals[i].global);
	memdbg_dwarf_destroy(dw);
	if (argc == 3)
		rc |= more_types(version, argv[2]);
	memdbg_elf_close(elf);
	return rc;
}
