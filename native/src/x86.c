/*
 * x86.c - walking x86-64 machine code instruction by instruction to find the
 * RIP-relative memory operands (how compiled code names a global).  Only
 * instruction lengths are decoded: prefixes, REX, VEX/EVEX, the opcode maps,
 * ModRM/SIB/displacement and immediates.  A byte that starts no instruction
 * this walker knows ends the walk, so a reference is never read from the
 * middle of another instruction.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One-byte opcodes: bit 0 has ModRM; bits 1-3 the immediate (see IMM_*). */
enum { HAS_MODRM = 1, IMM_B = 2, IMM_W = 4, IMM_Z = 6, IMM_V = 8, IMM_WB = 10, IMM_MOFFS = 12, IMM_GRP3 = 14,
       INVALID = 16 };
#define IMM_MASK 14

static uint8_t one_byte(uint8_t op)
{
	if (op < 0x40) {
		if ((op & 7) < 4)
			return HAS_MODRM;
		if ((op & 7) == 4)
			return IMM_B;
		if ((op & 7) == 5)
			return IMM_Z;
		return INVALID;  /* push/pop segment, daa, ... (and 26/2e/36/3e, handled as prefixes) */
	}
	if (op >= 0x50 && op <= 0x5f)
		return 0;
	if (op >= 0x70 && op <= 0x7f)
		return IMM_B;
	if (op >= 0x84 && op <= 0x8f)
		return HAS_MODRM;
	if (op >= 0x90 && op <= 0x99)
		return 0;
	if (op >= 0xb0 && op <= 0xb7)
		return IMM_B;
	if (op >= 0xb8 && op <= 0xbf)
		return IMM_V;
	if (op >= 0xd8 && op <= 0xdf)
		return HAS_MODRM;  /* x87 */
	switch (op) {
	case 0x63: return HAS_MODRM;
	case 0x68: return IMM_Z;
	case 0x69: return HAS_MODRM | IMM_Z;
	case 0x6a: return IMM_B;
	case 0x6b: return HAS_MODRM | IMM_B;
	case 0x6c: case 0x6d: case 0x6e: case 0x6f: return 0;
	case 0x80: case 0x83: return HAS_MODRM | IMM_B;
	case 0x81: return HAS_MODRM | IMM_Z;
	case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f: return 0;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: return IMM_MOFFS;
	case 0xa4: case 0xa5: case 0xa6: case 0xa7: return 0;
	case 0xa8: return IMM_B;
	case 0xa9: return IMM_Z;
	case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf: return 0;
	case 0xc0: case 0xc1: return HAS_MODRM | IMM_B;
	case 0xc2: return IMM_W;
	case 0xc3: return 0;
	case 0xc6: return HAS_MODRM | IMM_B;
	case 0xc7: return HAS_MODRM | IMM_Z;
	case 0xc8: return IMM_WB;
	case 0xc9: case 0xcb: case 0xcc: case 0xce: case 0xcf: return 0;
	case 0xca: return IMM_W;
	case 0xcd: return IMM_B;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: return HAS_MODRM;
	case 0xd7: return 0;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe4: case 0xe5: case 0xe6: case 0xe7: return IMM_B;
	case 0xe8: case 0xe9: return IMM_Z;
	case 0xeb: return IMM_B;
	case 0xec: case 0xed: case 0xee: case 0xef: return 0;
	case 0xf1: case 0xf4: case 0xf5: return 0;
	case 0xf6: case 0xf7: return HAS_MODRM | IMM_GRP3;
	case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd: return 0;
	case 0xfe: case 0xff: return HAS_MODRM;
	default: return INVALID;
	}
}

/* Two-byte opcodes (0f xx). */
static uint8_t two_byte(uint8_t op)
{
	if (op >= 0x80 && op <= 0x8f)
		return IMM_Z;  /* jcc rel32 */
	if (op >= 0xc8 && op <= 0xcf)
		return 0;  /* bswap */
	if (op >= 0x30 && op <= 0x37)
		return 0;  /* wrmsr, rdtsc, rdmsr, rdpmc, sysenter, sysexit, getsec */
	switch (op) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e: case 0x77:
	case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
		return 0;
	case 0x04: case 0x0a: case 0x0c: case 0x24: case 0x25: case 0x26: case 0x27: case 0x36:
	case 0x39: case 0x3b: case 0x3c: case 0x3d: case 0x3e: case 0x3f: case 0x7a: case 0x7b:
	case 0xff:
		return INVALID;
	case 0x0f: case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac: case 0xba: case 0xc2:
	case 0xc4: case 0xc5: case 0xc6:
		return HAS_MODRM | IMM_B;
	case 0x38:
		return HAS_MODRM;  /* the three-byte map: handled by the caller */
	case 0x3a:
		return HAS_MODRM | IMM_B;
	default:
		return HAS_MODRM;
	}
}

struct insn {
	size_t len;
	bool rip;        /* a [rip+disp32] operand */
	int32_t disp;
	/* What the data-flow walk needs: the opcode (0x0fxx: the two-byte map, 0x0f38xx/0x0f3axx: the
	 * three-byte maps, VEX_OP|op: a VEX or EVEX opcode), prefixes, ModRM fields and the immediate. */
	uint32_t op;
	uint8_t rex, mod, reg, rm;     /* reg and rm with REX.R and REX.B */
	bool has_modrm, opsize, rep, vex_l, evex;
	int64_t imm;                   /* sign-extended; a branch's rel */
	int8_t base, index;            /* a memory operand's registers (-1: none) */
	uint8_t scale;
	int32_t mdisp;                 /* and its displacement (not RIP-relative) */
};

#define VEX_OP 0x100000u

/* The instruction at code[0..n); false when it is not one this walker knows or runs past n. */
static bool decode(const uint8_t *code, size_t n, struct insn *in)
{
	size_t i = 0;
	bool opsize = false, addrsize = false, rex_w = false;
	uint8_t flags;
	memset(in, 0, sizeof(*in));
	in->base = in->index = -1;
	for (; i < n && i < 14; i++) {
		uint8_t b = code[i];
		if (b == 0x66)
			opsize = true;
		else if (b == 0x67)
			addrsize = true;
		else if (!(b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 ||
			   b == 0x64 || b == 0x65))
			break;
	}
	for (size_t k = 0; k < i; k++)
		in->rep |= code[k] == 0xf3 || code[k] == 0xf2;
	in->opsize = opsize;
	if (i < n && (code[i] & 0xf0) == 0x40) {
		in->rex = code[i];
		rex_w = (code[i++] & 8) != 0;
	}
	if (i >= n)
		return false;
	uint8_t op = code[i++];
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		/* VEX (3 or 2 bytes) and EVEX (4 bytes): the map says whether an imm8 follows. */
		size_t plen = op == 0xc5 ? 1 : op == 0xc4 ? 2 : 3;
		if (i + plen + 1 > n)
			return false;
		unsigned map = op == 0xc5 ? 1 : code[i] & (op == 0x62 ? 0x7 : 0x1f);
		if (map < 1 || map > 3)
			return false;
		in->op = VEX_OP | (map << 8) | code[i + plen];
		in->vex_l = op == 0xc5 ? (code[i] & 4) != 0 : op == 0xc4 ? (code[i + 1] & 4) != 0 : false;
		in->evex = op == 0x62;
		i += plen + 1;  /* the prefix bytes and the opcode */
		flags = HAS_MODRM | (map == 3 ? IMM_B : 0);
	} else if (op == 0x0f) {
		if (i >= n)
			return false;
		uint8_t op2 = code[i++];
		flags = two_byte(op2);
		in->op = 0x0f00u | op2;
		if (op2 == 0x38 || op2 == 0x3a) {
			if (i >= n)
				return false;
			in->op = (0x0f0000u | (uint32_t)op2 << 8) | code[i];
			i++;
		}
	} else {
		in->op = op;
		flags = one_byte(op);
		if (op >= 0xa0 && op <= 0xa3)
			flags = IMM_MOFFS;
	}
	if (flags & INVALID)
		return false;
	uint8_t reg = 0;
	if (flags & HAS_MODRM) {
		if (i >= n)
			return false;
		uint8_t modrm = code[i++], mod = modrm >> 6, rm = modrm & 7;
		reg = (modrm >> 3) & 7;
		in->has_modrm = true;
		in->mod = mod;
		in->reg = (uint8_t)(reg | (in->rex & 4 ? 8 : 0));
		in->rm = (uint8_t)(rm | (in->rex & 1 ? 8 : 0));
		in->base = mod != 3 ? in->rm : -1;
		in->index = -1;
		if (mod != 3 && rm == 4) {
			if (i >= n)
				return false;
			uint8_t sib = code[i++];
			in->base = (int8_t)((sib & 7) | (in->rex & 1 ? 8 : 0));
			in->index = (int8_t)(((sib >> 3) & 7) | (in->rex & 2 ? 8 : 0));
			in->scale = (uint8_t)(1u << (sib >> 6));
			if (in->index == 4)
				in->index = -1;  /* no index */
			if (mod == 0 && (sib & 7) == 5) {
				if (i + 4 > n)
					return false;
				in->base = -1;
				memcpy(&in->mdisp, code + i, 4);
				i += 4;
			}
		}
		if (mod == 0 && rm == 5) {
			if (i + 4 > n)
				return false;
			in->rip = !addrsize;
			in->base = -1;
			memcpy(&in->disp, code + i, 4);
			i += 4;
		} else if (mod == 1) {
			if (i >= n)
				return false;
			in->mdisp = (int8_t)code[i];
			i += 1;
		} else if (mod == 2) {
			if (i + 4 > n)
				return false;
			memcpy(&in->mdisp, code + i, 4);
			i += 4;
		}
	}
	size_t imm = 0;
	switch (flags & IMM_MASK) {
	case IMM_B: imm = 1; break;
	case IMM_W: imm = 2; break;
	case IMM_Z: imm = opsize ? 2 : 4; break;
	case IMM_V: imm = rex_w ? 8 : opsize ? 2 : 4; break;
	case IMM_WB: imm = 3; break;
	case IMM_MOFFS: imm = addrsize ? 4 : 8; break;
	case IMM_GRP3: imm = reg < 2 ? (op == 0xf6 ? 1 : opsize ? 2 : 4) : 0; break;
	}
	if (i + imm > n)
		return false;
	if (imm == 1)
		in->imm = (int8_t)code[i];
	else if (imm == 2)
		in->imm = (int16_t)(code[i] | code[i + 1] << 8);
	else if (imm == 4 || imm == 8) {
		int32_t v32;
		memcpy(&v32, code + i, 4);
		in->imm = v32;
		if (imm == 8)
			memcpy(&in->imm, code + i, 8);
	}
	i += imm;
	in->len = i;
	return true;
}

size_t memdbg_x86_rip_refs(const uint8_t *code, size_t n, uint64_t addr, uint64_t *targets, size_t max,
			   size_t *decoded)
{
	size_t off = 0, count = 0;
	struct insn in;
	while (off < n && decode(code + off, n - off, &in)) {
		off += in.len;
		if (in.rip && count++ < max)
			targets[count - 1] = addr + off + (uint64_t)(int64_t)in.disp;
	}
	if (decoded)
		*decoded = off;
	return count;
}

/* ---- data flow: what the general-purpose registers hold, and what is stored into RIP-relative words ---- */

#define NREGS 16
#define MAX_TARGETS 4096
#define MAX_SLOTS 8

enum { REG_SP = 4, REG_BP = 5 };

/* A frame word at disp(SP) that a whole-register or immediate store wrote: what reloading it gives. */
struct slot {
	int64_t disp;
	struct memdbg_x86_value v;
};

struct regs {
	struct memdbg_x86_value r[NREGS];
	struct slot slot[MAX_SLOTS];
	unsigned nslots;
};

struct branch_target {
	uint64_t off;      /* from the start of the code */
	bool backward;     /* some branch after it comes back to it: its state is not known */
	bool lost;         /* a state for it could not be kept */
};

struct pending {
	uint64_t off;
	struct regs state;
};

struct flow {
	/* Slots are kept below the lowest frame address the code takes (what is above may be written unseen). */
	int64_t slot_limit;
	struct branch_target *targets;
	size_t ntargets;
	struct pending *pending;
	size_t npending, max_pending;
	struct regs *back;  /* per target: what its backward branches agreed on in the last pass */
	bool *has_back;
	struct regs *next_back;  /* and in this one */
	bool *has_next_back;
};

/* How a walk comes to an instruction from the one before it. */
enum arrival {
	FALL_THROUGH,  /* with that one's state */
	NOT_AFTER,     /* not (it branched away, returned or trapped) */
	NOT_YET,       /* not in this pass: that one is in a loop whose back edges are not known yet */
};

static void clobber_all(struct regs *s)
{
	memset(s, 0, sizeof(*s));
}

static void set_reg(struct regs *s, unsigned r, uint32_t kind, uint64_t a)
{
	s->r[r & 15] = (struct memdbg_x86_value){ kind, a };
}

/* Forget the slots that overlap [lo, hi). */
static void forget_slots(struct regs *s, int64_t lo, int64_t hi)
{
	unsigned k = 0;
	for (unsigned i = 0; i < s->nslots; i++)
		if (s->slot[i].disp + 8 <= lo || s->slot[i].disp >= hi)
			s->slot[k++] = s->slot[i];
	s->nslots = k;
}

/* A write of width bytes at disp(SP), val as ops->stack's. */
static void write_slots(const struct flow *f, struct regs *s, int64_t disp, uint64_t width, struct memdbg_x86_value val)
{
	if (width > 64 || disp > INT64_MAX - 64) {
		s->nslots = 0;
		return;
	}
	forget_slots(s, disp, disp + (int64_t)width);
	bool zeros = val.kind == MEMDBG_X86_ZERO && width % 8 == 0;
	if ((width != 8 && !zeros) || val.kind == MEMDBG_X86_UNKNOWN)
		return;
	for (int64_t d = disp; d < disp + (int64_t)width && d + 8 <= f->slot_limit; d += 8) {
		if (s->nslots == MAX_SLOTS)  /* the oldest goes */
			memmove(s->slot, s->slot + 1, --s->nslots * sizeof(*s->slot));
		s->slot[s->nslots++] = (struct slot){ d, val };
	}
}

static struct memdbg_x86_value slot_at(const struct regs *s, int64_t disp)
{
	for (unsigned i = 0; i < s->nslots; i++)
		if (s->slot[i].disp == disp)
			return s->slot[i].v;
	return (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
}

/* A direct branch: jcc rel8/rel32, jmp rel8/rel32 (not call). */
static bool branch_of(const struct insn *in, bool *unconditional)
{
	*unconditional = in->op == 0xeb || in->op == 0xe9;
	return *unconditional || (in->op >= 0x70 && in->op <= 0x7f) || (in->op >= 0x0f80 && in->op <= 0x0f8f) ||
	       (in->op >= 0xe0 && in->op <= 0xe3);
}

static struct branch_target *target_at(struct flow *f, uint64_t off)
{
	size_t lo = 0, hi = f->ntargets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->targets[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->ntargets && f->targets[lo].off == off ? &f->targets[lo] : NULL;
}

static int target_cmp(const void *a, const void *b)
{
	const struct branch_target *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off ? 1 : (int)y->backward - (int)x->backward;
}

/* Does the instruction, whose RIP-relative operand is its r/m, write that memory?  Anything not known to only read does. */
static bool writes_rm(const struct insn *in, uint64_t *width)
{
	uint32_t op = in->op;
	*width = 8;
	if (op & VEX_OP) {
		uint8_t o = op & 0xff;
		*width = in->evex ? 64 : in->vex_l ? 32 : 16;
		return o == 0x11 || o == 0x13 || o == 0x17 || o == 0x29 || o == 0x2b || o == 0x7e || o == 0x7f ||
		       o == 0xd6 || o == 0xe7;
	}
	if (op >= 0x0f0000u)
		return false;  /* the three-byte maps: SSSE3/SSE4 operations read their memory operand */
	if (op >= 0x0f00) {
		uint8_t o = op & 0xff;
		if (o == 0x11 || o == 0x29 || o == 0x2b || o == 0x7f || o == 0xe7)
			*width = 16;
		return o == 0x11 || o == 0x13 || o == 0x17 || o == 0x29 || o == 0x2b || (o == 0x7e && in->opsize && !in->rep) ||
		       o == 0x7f || o == 0xd6 || o == 0xe7 || o == 0xc3 || (o >= 0x90 && o <= 0x9f) || o == 0xab ||
		       o == 0xb3 || o == 0xbb || (o == 0xba && in->reg >= 4) || o == 0xb0 || o == 0xb1 || o == 0xc0 ||
		       o == 0xc1 || o == 0xae || o == 0xc7 || o == 0x00 || o == 0x01;
	}
	switch (op) {
	case 0x8a: case 0x8b: case 0x8d: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x84: case 0x85: case 0x63:
	case 0x02: case 0x03: case 0x0a: case 0x0b: case 0x12: case 0x13: case 0x1a: case 0x1b: case 0x22: case 0x23:
	case 0x2a: case 0x2b: case 0x32: case 0x33: case 0x69: case 0x6b:
		return false;
	case 0x80: case 0x81: case 0x83:
		return (in->reg & 7) != 7;
	case 0xf6: case 0xf7:
		return (in->reg & 7) == 2 || (in->reg & 7) == 3;
	case 0xfe: case 0xff:
		return (in->reg & 7) < 2;
	default:
		return true;
	}
}

/* A two-byte opcode that writes only vector registers, flags or memory (no general-purpose register). */
static bool sse_only(uint8_t o)
{
	return (o >= 0x10 && o <= 0x17) || (o >= 0x28 && o <= 0x2b) || o == 0x2e || o == 0x2f || (o >= 0x51 && o <= 0x7d) ||
	       o == 0x7f || o == 0xc2 || o == 0xc4 || o == 0xc6 || (o >= 0xd0 && o <= 0xd6) || o >= 0xd8 || o == 0x18 ||
	       o == 0x1f;
}

/* The registers an instruction this walk does not model may write: its ModRM registers and the implicit ones. */
static void clobber_insn(struct regs *s, const struct insn *in)
{
	uint32_t op = in->op;
	if (op & VEX_OP) {
		/* VEX instructions write vector registers, but the BMI ones (map 2, f5-f7) write a general one. */
		if (in->has_modrm)
			set_reg(s, in->reg, MEMDBG_X86_UNKNOWN, 0);
		return;
	}
	if (in->has_modrm) {
		bool reads_only = op == 0x38 || op == 0x39 || op == 0x3a || op == 0x3b || op == 0x84 || op == 0x85 ||
				  ((op == 0x80 || op == 0x81 || op == 0x83) && (in->reg & 7) == 7) ||
				  ((op == 0xf6 || op == 0xf7) && (in->reg & 7) < 2) || op == 0x0f1f || op == 0x0f18;
		bool mem_dest = in->mod != 3 && (op == 0x88 || op == 0x89 || op == 0xc6 || op == 0xc7);
		/* Groups whose ModRM reg field extends the opcode: r/m is their one register operand. */
		bool group = (op >= 0x80 && op <= 0x83) || op == 0x8f || op == 0xc0 || op == 0xc1 || op == 0xc6 ||
			     op == 0xc7 || (op >= 0xd0 && op <= 0xd3) || op == 0xf6 || op == 0xf7 || op == 0xfe ||
			     op == 0xff || op == 0x0fba;
		if (!reads_only && !mem_dest && !(op >= 0x0f00 && op < 0x0f0000u && sse_only(op & 0xff))) {
			if (!group)
				set_reg(s, in->reg, MEMDBG_X86_UNKNOWN, 0);
			if (in->mod == 3)
				set_reg(s, in->rm, MEMDBG_X86_UNKNOWN, 0);
		}
	} else if (op == 0x90 && !(in->rex & 1)) {
		/* nop (and xchg ax, ax: a two-byte nop) */
	} else if ((op >= 0x50 && op <= 0x5f) || (op >= 0x90 && op <= 0x97) || (op >= 0xb0 && op <= 0xbf) ||
		   (op >= 0x0fc8 && op <= 0x0fcf)) {
		set_reg(s, (op & 7) | (in->rex & 1 ? 8 : 0), MEMDBG_X86_UNKNOWN, 0);
	}
	/* mul, imul, div, idiv of one operand: the accumulator and data registers, no other. */
	if ((op == 0xf6 || op == 0xf7) && (in->reg & 7) >= 4) {
		set_reg(s, 0, MEMDBG_X86_UNKNOWN, 0);
		set_reg(s, 2, MEMDBG_X86_UNKNOWN, 0);
		return;
	}
	/* Other implicit operands (cwd, cmpxchg, cpuid, rdtsc, string ops, syscall): some of these. */
	bool implicit = op == 0x98 || op == 0x99 ||
			(op >= 0xa4 && op <= 0xaf) || op == 0x0fa2 || op == 0x0f31 || op == 0x0fb0 || op == 0x0fb1 ||
			op == 0x0f05 || op == 0x0fc7 || op == 0xc8 || op == 0xc9 || (op >= 0x3c && op <= 0x3d) ||
			op == 0x0fb8 || op == 0xd7 || in->rep;
	if (implicit) {
		static const unsigned regs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 11 };
		for (size_t k = 0; k < MEMDBG_ARRAY_SIZE(regs); k++)
			set_reg(s, regs[k], MEMDBG_X86_UNKNOWN, 0);
	}
}

static void merge(struct regs *into, const struct regs *from)
{
	for (int r = 0; r < NREGS; r++)
		if (into->r[r].kind != from->r[r].kind || into->r[r].a != from->r[r].a)
			into->r[r] = (struct memdbg_x86_value){ MEMDBG_X86_UNKNOWN, 0 };
	unsigned k = 0;
	for (unsigned i = 0; i < into->nslots; i++) {
		struct memdbg_x86_value v = slot_at(from, into->slot[i].disp);
		if (v.kind == into->slot[i].v.kind && v.a == into->slot[i].v.a && v.kind != MEMDBG_X86_UNKNOWN)
			into->slot[k++] = into->slot[i];
	}
	into->nslots = k;
}

/* MOVUPS/MOVAPS X15 to memory: Go's ABIInternal keeps X15 zero, so this stores zeros (16 bytes). */
static bool stores_x15(const struct insn *in)
{
	return (in->op == 0x0f11 || in->op == 0x0f29) && in->reg == 15 && !in->opsize && !in->rep;
}

/*
 * What an instruction does to its function's frame: a write of *width bytes
 * at *disp(SP), the 8 bytes it writes in *val as for ops->stack; or, *width
 * MEMDBG_X86_ESCAPES or MEMDBG_X86_ADDRESS, a way for writes to reach the
 * frame that this walk does not follow.  Reading SP or BP to compare them,
 * and the prologue's and epilogue's moves between the two, are not.  False
 * when it does neither.
 */
static bool frame_effect(const struct insn *in, const struct regs *s, int64_t *disp, uint64_t *width,
			 struct memdbg_x86_value *val)
{
	const struct memdbg_x86_value unknown = { MEMDBG_X86_UNKNOWN, 0 }, zero = { MEMDBG_X86_ZERO, 0 };
	uint32_t op = in->op;
	bool w = (in->rex & 8) != 0, mem = in->has_modrm && in->mod != 3 && !in->rip;
	*disp = in->mdisp;
	*val = unknown;
	if (!in->has_modrm || (op & VEX_OP && !mem))
		return false;
	if (mem && in->base == REG_SP) {
		if (op == 0x8d) {
			*width = MEMDBG_X86_ADDRESS;
			return true;
		}
		if (in->index >= 0) {
			bool writes = writes_rm(in, width);
			*width = MEMDBG_X86_ESCAPES;
			return writes;
		}
		if (op == 0x89 && w) {
			*width = 8;
			*val = s->r[in->reg];
		} else if (op == 0xc7 && w) {
			*width = 8;
			*val = in->imm ? unknown : zero;
		} else if (stores_x15(in)) {
			*width = 16;
			*val = zero;  /* X15 is zero in Go code */
		} else if (op == 0x88 || op == 0xc6) {
			*width = 1;  /* MOVB: the defer bits' byte */
		} else if (op == 0x89 || op == 0xc7) {
			*width = in->opsize ? 2 : 4;
		} else {
			return writes_rm(in, width);
		}
		return true;
	}
	bool frame_move = in->mod == 3 && ((op == 0x89 && ((in->reg == REG_SP && in->rm == REG_BP) ||
							  (in->reg == REG_BP && in->rm == REG_SP))) ||
					   (op == 0x8b && ((in->rm == REG_SP && in->reg == REG_BP) ||
							  (in->rm == REG_BP && in->reg == REG_SP))));
	/* MOV and the arithmetic that can make an address of SP or BP (ADD, OR, ..., its reg to r/m or r/m to reg). */
	bool alu = op == 0x89 || op == 0x8b || (op < 0x40 && (op & 7) < 4 && (op & 0x38) != 0x38 && (op & 1));
	bool copies = (alu && !(op & 2) && (in->reg == REG_SP || in->reg == REG_BP)) ||
		      (alu && (op & 2) && in->mod == 3 && (in->rm == REG_SP || in->rm == REG_BP)) ||
		      (mem && in->base == REG_BP && (op == 0x8d || writes_rm(in, width)));
	*disp = MEMDBG_X86_WHOLE_FRAME;
	*width = MEMDBG_X86_ESCAPES;
	return copies && !frame_move;
}

/* Does the instruction move SP (push, pop, leave, or SP the register it writes)?  disp(SP) then means another word. */
static bool moves_sp(const struct insn *in)
{
	uint32_t op = in->op;
	if ((op >= 0x50 && op <= 0x5f) || op == 0x68 || op == 0x6a || op == 0x8f || op == 0x9c || op == 0x9d ||
	    op == 0xc9 || (op == 0xff && (in->reg & 7) == 6))
		return true;
	return in->has_modrm && op < 0x100 &&
	       ((in->mod == 3 && in->rm == REG_SP) || (in->reg == REG_SP && (op == 0x8b || op == 0x8d || (op < 0x40 && (op & 2)))));
}

/* Every direct branch target inside [0, n) of the first max_insns instructions; false when there are too many. */
static bool collect_targets(const uint8_t *code, size_t n, size_t max_insns, struct flow *f, size_t *end,
			    size_t *branches)
{
	size_t off = 0, count = 0;
	struct insn in;
	bool unconditional;
	const struct regs none = { 0 };
	f->slot_limit = INT64_MAX;
	for (; off < n && count < max_insns && decode(code + off, n - off, &in); off += in.len, count++) {
		int64_t disp;
		uint64_t width;
		struct memdbg_x86_value val;
		/* An address below SP is the prologue's stack-bound check (LEAQ -n(SP), R12), not frame memory. */
		if (frame_effect(&in, &none, &disp, &width, &val) && width >= MEMDBG_X86_ADDRESS &&
		    (disp == MEMDBG_X86_WHOLE_FRAME || disp >= 0) && disp < f->slot_limit)
			f->slot_limit = disp;
		if (!branch_of(&in, &unconditional))
			continue;
		int64_t to = (int64_t)(off + in.len) + in.imm;
		if (to <= 0 || (uint64_t)to >= n)
			continue;  /* outside, or the entry: the morestack path's restart, not a loop */
		if (f->ntargets == MAX_TARGETS)
			return false;
		f->targets[f->ntargets++] = (struct branch_target){ (uint64_t)to, (uint64_t)to <= off, false };
	}
	*end = off;
	*branches = f->ntargets;
	qsort(f->targets, f->ntargets, sizeof(*f->targets), target_cmp);
	/* One entry per target, backward if any branch to it is. */
	size_t k = 0;
	for (size_t i = 0; i < f->ntargets; i++)
		if (!k || f->targets[k - 1].off != f->targets[i].off)
			f->targets[k++] = f->targets[i];
	f->ntargets = k;
	return true;
}

/*
 * The state at an instruction: at a branch target, what every branch to it
 * (and the fall-through, if any) agrees on; a loop's head also takes what its
 * backward branches agreed on in the last pass (none in the first: what the
 * ways in agree on is assumed to hold there, and the passes go on until the
 * back edges agree with what their heads assumed, so each claim holds on
 * every path).  Returns the arrival of the code that follows: NOT_YET where
 * nothing has come yet (a loop's body entered only through its back edges).
 */
static enum arrival join(struct flow *f, struct regs *s, struct branch_target *t, uint64_t off, enum arrival arrival,
			 bool last)
{
	if (!t) {
		if (arrival == NOT_AFTER)
			clobber_all(s);  /* reached only in ways this walk does not see (a jump table) */
		return arrival == NOT_YET ? NOT_YET : FALL_THROUGH;
	}
	bool any = arrival == FALL_THROUGH;
	for (size_t i = 0; i < f->npending;) {
		if (f->pending[i].off != off) {
			i++;
			continue;
		}
		if (any)
			merge(s, &f->pending[i].state);
		else
			*s = f->pending[i].state;
		any = true;
		f->pending[i] = f->pending[--f->npending];
	}
	size_t k = (size_t)(t - f->targets);
	if (t->backward && f->has_back[k]) {
		if (any)
			merge(s, &f->back[k]);
		else
			*s = f->back[k];
		any = true;
	}
	if (!any && !t->lost && !last)
		return NOT_YET;
	if (!any || t->lost)
		clobber_all(s);  /* in the last pass, code nothing known reaches is walked knowing nothing */
	return FALL_THROUGH;
}

/* What a memory operand's base register holds: an address the code took (LEAQ sym(SB), reg), or 0. */
static uint64_t base_addr(const struct regs *s, const struct insn *in)
{
	if (in->base < 0 || in->rip || s->r[in->base].kind != MEMDBG_X86_ADDR)
		return 0;
	return s->r[in->base].a + (uint64_t)(int64_t)in->mdisp;
}

static size_t walk(struct flow *f, const uint8_t *code, size_t end, uint64_t addr,
		   const struct memdbg_x86_flow_ops *ops, void *arg, bool report)
{
	struct regs s;
	struct insn in;
	enum arrival arrival = FALL_THROUGH;
	bool unconditional;
	size_t count = 0;
	const struct memdbg_x86_value unknown = { MEMDBG_X86_UNKNOWN, 0 }, zero = { MEMDBG_X86_ZERO, 0 };
	clobber_all(&s);
	if (ops->entry)
		ops->entry(arg, addr, s.r);
	f->npending = 0;
	size_t next = 0;  /* the first target at or after off: the walk goes forward */
	for (size_t off = 0; off < end && decode(code + off, end - off, &in); off += in.len, count++) {
		while (next < f->ntargets && f->targets[next].off < off)
			next++;
		struct branch_target *here = next < f->ntargets && f->targets[next].off == off ? &f->targets[next] : NULL;
		if ((arrival = join(f, &s, here, off, arrival, report)) == NOT_YET)
			continue;  /* not reached yet: decoded for its length only */
		uint32_t op = in.op;
		bool w = (in.rex & 8) != 0;
		uint64_t next = addr + off + in.len, target = next + (uint64_t)(int64_t)in.disp, width, at = base_addr(&s, &in);
		if (in.rip && report && ops->ref)
			ops->ref(arg, target);
		int64_t fdisp;
		uint64_t fwidth;
		struct memdbg_x86_value fval;
		if (frame_effect(&in, &s, &fdisp, &fwidth, &fval)) {
			if (report && ops->stack)
				ops->stack(arg, addr + off, fdisp, fwidth, fval);
			if (fwidth < MEMDBG_X86_ADDRESS)
				write_slots(f, &s, fdisp, fwidth, fval);
		}
		if (moves_sp(&in))
			s.nslots = 0;
		if (!in.rip && at && report && writes_rm(&in, &width)) {
			/* A write through an address the code took: [sym+disp], or sym's array [sym+disp+index*8]. */
			bool indexed = in.index >= 0, whole = op == 0x89 && w && (!indexed || in.scale == 8),
			     zeroes = stores_x15(&in);
			if (!indexed || in.scale == 8)
				ops->store(arg, at, whole ? 8 : width, whole ? s.r[in.reg] : zeroes ? zero : unknown, indexed);
		}
		if (report && ops->store_into && in.has_modrm && in.mod != 3 && !in.rip && in.base >= 0 && in.index < 0 &&
		    s.r[in.base].kind >= MEMDBG_X86_USER && writes_rm(&in, &width)) {
			/* A write into what an allocation returned: MOVQ CX, 8(AX) after CALL runtime.newobject. */
			bool whole = op == 0x89 && w;
			ops->store_into(arg, s.r[in.base], in.mdisp, whole ? 8 : width,
					whole ? s.r[in.reg] : stores_x15(&in) ? zero : unknown);
		}
		if (branch_of(&in, &unconditional)) {
			int64_t to = (int64_t)(off + in.len) + in.imm;
			struct branch_target *t = to >= 0 && (uint64_t)to < end ? target_at(f, (uint64_t)to) : NULL;
			if (!t && to != 0 && report && ops->ret)
				ops->ret(arg, NULL);  /* a jump out of the function: a tail call */
			if (t && to > (int64_t)off) {
				if (f->npending < f->max_pending)
					f->pending[f->npending++] = (struct pending){ (uint64_t)to, s };
				else
					t->lost = true;
			} else if (t) {
				size_t k = (size_t)(t - f->targets);
				if (f->has_next_back[k])
					merge(&f->next_back[k], &s);
				else
					f->next_back[k] = s;
				f->has_next_back[k] = true;
			}
			arrival = unconditional ? NOT_AFTER : FALL_THROUGH;
		} else if (op == 0xc3 || op == 0xc2 || op == 0xcc || op == 0x0f0b ||
			   (op == 0xff && ((in.reg & 7) == 4 || (in.reg & 7) == 5))) {
			if (report && ops->ret && op != 0xcc && op != 0x0f0b)
				ops->ret(arg, op == 0xff ? NULL : s.r);
			arrival = NOT_AFTER;  /* return, trap, indirect jump */
		} else if (op == 0xe8) {
			if (report && ops->call_site)
				ops->call_site(arg, next + (uint64_t)in.imm, s.r);
			if (ops->call) {
				/* The callee may write its arguments' and results' words at the bottom of the frame. */
				uint64_t writes = ops->call(arg, next + (uint64_t)in.imm, s.r, report);
				forget_slots(&s, INT64_MIN, writes > INT64_MAX ? INT64_MAX : (int64_t)writes);
			} else {
				clobber_all(&s);
			}
		} else if (op == 0xff && (in.reg & 7) == 2) {
			/*
			 * An indirect call: a closure's or a method's (ABIInternal), whose results come in
			 * registers, so the code reads back no word of the frame the callee writes (its
			 * arguments' spill words) but the results of one with more than nine, which the
			 * walk does not tell apart.  The slots stay.
			 */
			memset(s.r, 0, sizeof(s.r));
		} else if (in.rip && op == 0x8d && w) {
			set_reg(&s, in.reg, MEMDBG_X86_ADDR, target);
		} else if (op == 0x8b && w && in.mod != 3 && !in.rip && in.base == REG_SP && in.index < 0) {
			s.r[in.reg] = slot_at(&s, in.mdisp);  /* a reload of a spilled register */
		} else if (op == 0x8b && w && in.mod != 3 && !in.rip && in.base >= 0 && in.index < 0 &&
			   s.r[in.base].kind >= MEMDBG_X86_USER && ops->load) {
			s.r[in.reg] = ops->load(arg, s.r[in.base], in.mdisp);  /* a field of what an allocation returned */
		} else if (op == 0x8b && w && in.mod != 3 && (in.rip || (at && in.index < 0))) {
			set_reg(&s, in.reg, MEMDBG_X86_LOAD, in.rip ? target : at);
		} else if (in.rip && op == 0x89 && w) {
			if (report)
				ops->store(arg, target, 8, s.r[in.reg], false);
		} else if (in.rip && op == 0xc7 && w) {
			if (report)
				ops->store(arg, target, 8, in.imm ? unknown : zero, false);
		} else if (in.rip && stores_x15(&in)) {
			if (report)
				ops->store(arg, target, 16, zero, false);  /* X15 is zero in Go code */
		} else if (op == 0x89 && w && in.mod == 3) {
			s.r[in.rm] = s.r[in.reg];
		} else if (op == 0x8b && w && in.mod == 3) {
			s.r[in.reg] = s.r[in.rm];
		} else if ((op == 0x31 || op == 0x33) && in.mod == 3 && in.reg == in.rm) {
			set_reg(&s, in.reg, MEMDBG_X86_ZERO, 0);
		} else if (op >= 0xb8 && op <= 0xbf && !in.opsize) {
			set_reg(&s, (op & 7) | (in.rex & 1 ? 8 : 0), in.imm ? MEMDBG_X86_UNKNOWN : MEMDBG_X86_ZERO, 0);
		} else {
			if (in.rip && report && writes_rm(&in, &width))
				ops->store(arg, target, width, unknown, false);
			clobber_insn(&s, &in);
		}
	}
	return count;
}

static bool same_state(const struct regs *a, const struct regs *b)
{
	for (int r = 0; r < NREGS; r++)
		if (a->r[r].kind != b->r[r].kind || a->r[r].a != b->r[r].a)
			return false;
	for (unsigned i = 0; i < a->nslots; i++) {
		struct memdbg_x86_value v = slot_at(b, a->slot[i].disp);
		if (v.kind != a->slot[i].v.kind || v.a != a->slot[i].v.a)
			return false;
	}
	return a->nslots == b->nslots;
}

/*
 * The states at the loops' heads: walks without reporting until what each
 * head's back edges bring agrees with what the walk assumed there (at most
 * MAX_LOOP_PASSES; failing that, the heads know nothing).  What a loop leaves
 * alone keeps what it had before the loop.
 */
#define MAX_LOOP_PASSES 6
static void agree_on_loops(struct flow *f, const uint8_t *code, size_t end, uint64_t addr,
			   const struct memdbg_x86_flow_ops *ops, void *arg)
{
	bool loops = false, agreed = false;
	for (size_t k = 0; k < f->ntargets; k++)
		loops |= f->targets[k].backward;
	for (int pass = 0; loops && pass < MAX_LOOP_PASSES && !agreed; pass++) {
		memset(f->has_next_back, 0, f->ntargets * sizeof(*f->has_next_back));
		walk(f, code, end, addr, ops, arg, false);
		agreed = true;
		for (size_t k = 0; k < f->ntargets; k++) {
			agreed &= f->has_back[k] == f->has_next_back[k] &&
				  (!f->has_back[k] || same_state(&f->back[k], &f->next_back[k]));
			f->has_back[k] = f->has_next_back[k];
			if (f->has_back[k])
				f->back[k] = f->next_back[k];
		}
	}
	for (size_t k = 0; loops && !agreed && k < f->ntargets; k++)
		f->targets[k].lost |= f->targets[k].backward;
}

size_t memdbg_x86_flow(const uint8_t *code, size_t n, uint64_t addr, size_t max_insns,
		       const struct memdbg_x86_flow_ops *ops, void *arg)
{
	struct flow f = { .targets = malloc(MAX_TARGETS * sizeof(*f.targets)) };
	size_t end = 0, count = 0;
	/* One pending state per branch at most: as many as there were targets before they were merged. */
	bool ok = f.targets && collect_targets(code, n, max_insns, &f, &end, &f.max_pending);
	size_t nt = f.ntargets ? f.ntargets : 1;
	if (ok && (f.pending = malloc((f.max_pending ? f.max_pending : 1) * sizeof(*f.pending))) &&
	    (f.back = malloc(nt * sizeof(*f.back))) && (f.has_back = calloc(nt, sizeof(*f.has_back))) &&
	    (f.next_back = malloc(nt * sizeof(*f.next_back))) && (f.has_next_back = calloc(nt, sizeof(*f.has_next_back)))) {
		agree_on_loops(&f, code, end, addr, ops, arg);
		count = walk(&f, code, end, addr, ops, arg, true);
	}
	if (count == 0 || end < n) {  /* code not walked may write anywhere in the frame, and return anything */
		if (ops->stack)
			ops->stack(arg, addr, MEMDBG_X86_WHOLE_FRAME, MEMDBG_X86_ESCAPES, (struct memdbg_x86_value){ 0, 0 });
		if (ops->ret)
			ops->ret(arg, NULL);
	}
	free(f.targets);
	free(f.pending);
	free(f.back);
	free(f.has_back);
	free(f.next_back);
	free(f.has_next_back);
	return count;
}
