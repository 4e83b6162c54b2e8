/*
 * x86.c - walking x86-64 machine code instruction by instruction to find the
 * RIP-relative memory operands (how compiled code names a global).  Only
 * instruction lengths are decoded: prefixes, REX, VEX/EVEX, the opcode maps,
 * ModRM/SIB/displacement and immediates.  A byte that starts no instruction
 * this walker knows ends the walk, so a reference is never read from the
 * middle of another instruction.
 */
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
};

/* The instruction at code[0..n); false when it is not one this walker knows or runs past n. */
static bool decode(const uint8_t *code, size_t n, struct insn *in)
{
	size_t i = 0;
	bool opsize = false, addrsize = false, rex_w = false;
	uint8_t flags;
	memset(in, 0, sizeof(*in));
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
	if (i < n && (code[i] & 0xf0) == 0x40)
		rex_w = (code[i++] & 8) != 0;
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
		i += plen + 1;  /* the prefix bytes and the opcode */
		flags = HAS_MODRM | (map == 3 ? IMM_B : 0);
	} else if (op == 0x0f) {
		if (i >= n)
			return false;
		uint8_t op2 = code[i++];
		flags = two_byte(op2);
		if (op2 == 0x38 || op2 == 0x3a) {
			if (i >= n)
				return false;
			i++;
		}
	} else {
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
		if (mod != 3 && rm == 4) {
			if (i >= n)
				return false;
			uint8_t sib = code[i++];
			if (mod == 0 && (sib & 7) == 5)
				i += 4;
		}
		if (mod == 0 && rm == 5) {
			if (i + 4 > n)
				return false;
			in->rip = !addrsize;
			memcpy(&in->disp, code + i, 4);
			i += 4;
		} else if (mod == 1) {
			i += 1;
		} else if (mod == 2) {
			i += 4;
		}
	}
	switch (flags & IMM_MASK) {
	case IMM_B: i += 1; break;
	case IMM_W: i += 2; break;
	case IMM_Z: i += opsize ? 2 : 4; break;
	case IMM_V: i += rex_w ? 8 : opsize ? 2 : 4; break;
	case IMM_WB: i += 3; break;
	case IMM_MOFFS: i += addrsize ? 4 : 8; break;
	case IMM_GRP3: i += reg < 2 ? (op == 0xf6 ? 1 : opsize ? 2 : 4) : 0; break;
	}
	if (i > n)
		return false;
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
