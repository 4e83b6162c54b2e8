package main

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
)

// stackobjects: each input line is a function's entry PC (hex, as the heap
// dump records it); each output line is {"entry", "objects": [{"off",
// "size", "ptrs"}]}: the function's stack objects (FUNCDATA_StackObjects:
// variables whose address is taken, which the GC scans only when a live
// pointer reaches them), off from varp when negative, else from argp, and
// the byte offsets of their pointer words; or {"entry", "error"}.
//
// Read from the pclntab as the runtime reads it (runtime/symtab.go, the
// go1.20 layout every supported version keeps): the functab maps entry
// offsets from runtime.text to _func records, whose funcdata offsets are
// from go:func.*, and a record's pointer mask is at runtime.rodata+gcdataoff.

const funcdataStackObjects = 2

type image struct {
	f *elf.File
}

func (im image) read(addr uint64, n int) ([]byte, error) {
	for _, p := range im.f.Progs {
		if p.Type == elf.PT_LOAD && p.Vaddr <= addr && addr+uint64(n) <= p.Vaddr+p.Filesz {
			b := make([]byte, n)
			_, err := p.ReadAt(b, int64(addr-p.Vaddr))
			return b, err
		}
	}
	return nil, fmt.Errorf("address %#x (%d bytes) is not in the file", addr, n)
}

type stackObject struct {
	Off  int32   `json:"off"`
	Size int32   `json:"size"`
	Ptrs []int64 `json:"ptrs"`
}

type frameObjects struct {
	Entry   string        `json:"entry"`
	Objects []stackObject `json:"objects"`
}

type frameFailure struct {
	Entry string `json:"entry"`
	Error string `json:"error"`
}

type pcln struct {
	im             image
	table          uint64 // the functab and _func records: pcHeader + pclnOffset
	text, gofunc   uint64
	rodata         uint64
	funcoffByEntry map[uint64]uint32
}

func symbols(f *elf.File, names ...string) (map[string]uint64, error) {
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]uint64{}
	for _, s := range syms {
		if want[s.Name] {
			out[s.Name] = s.Value
		}
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("no symbol %s", n)
		}
	}
	return out, nil
}

func openPcln(exe string) (*pcln, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	sym, err := symbols(f, "runtime.pclntab", "runtime.text", "go:func.*", "runtime.rodata")
	if err != nil {
		return nil, err
	}
	im := image{f} // runtime.pclntab: .gopclntab, or .data.rel.ro.gopclntab in a PIE
	hdr, err := im.read(sym["runtime.pclntab"], 8+8*8)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if le.Uint32(hdr) != 0xfffffff1 || hdr[7] != 8 {
		return nil, fmt.Errorf("pclntab magic %#x, pointer size %d: not the go1.20+ amd64 layout", le.Uint32(hdr), hdr[7])
	}
	nfunc := le.Uint64(hdr[8:])
	p := &pcln{im: im, table: sym["runtime.pclntab"] + le.Uint64(hdr[8+7*8:]), text: sym["runtime.text"],
		gofunc: sym["go:func.*"], rodata: sym["runtime.rodata"], funcoffByEntry: map[uint64]uint32{}}
	ft, err := im.read(p.table, int(nfunc)*8)
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < nfunc; i++ {
		p.funcoffByEntry[p.text+uint64(le.Uint32(ft[i*8:]))] = le.Uint32(ft[i*8+4:])
	}
	return p, nil
}

// objects returns the stack object records of the function entered at entry.
func (p *pcln) objects(entry uint64) ([]stackObject, error) {
	le := binary.LittleEndian
	funcoff, ok := p.funcoffByEntry[entry]
	if !ok {
		return nil, fmt.Errorf("no function enters at %#x", entry)
	}
	fn := p.table + uint64(funcoff)
	hdr, err := p.im.read(fn, 44) // _func up to nfuncdata
	if err != nil {
		return nil, err
	}
	npcdata, nfuncdata := le.Uint32(hdr[28:]), uint32(hdr[43])
	if nfuncdata <= funcdataStackObjects {
		return nil, nil
	}
	b, err := p.im.read(fn+44+uint64(npcdata)*4+funcdataStackObjects*4, 4)
	if err != nil {
		return nil, err
	}
	off := le.Uint32(b)
	if off == ^uint32(0) {
		return nil, nil
	}
	at := p.gofunc + uint64(off)
	b, err = p.im.read(at, 8)
	if err != nil {
		return nil, err
	}
	n := le.Uint64(b)
	if n > 1<<16 {
		return nil, fmt.Errorf("%d stack objects", n)
	}
	recs, err := p.im.read(at+8, int(n)*16)
	if err != nil {
		return nil, err
	}
	var out []stackObject
	for i := uint64(0); i < n; i++ {
		r := recs[i*16:]
		o := stackObject{Off: int32(le.Uint32(r)), Size: int32(le.Uint32(r[4:])), Ptrs: []int64{}}
		ptrBytes, gcdataoff := int32(le.Uint32(r[8:])), le.Uint32(r[12:])
		if ptrBytes < 0 {
			return nil, fmt.Errorf("stack object %d of %#x has a GC program", i, entry)
		}
		words := (ptrBytes + 7) / 8
		mask, err := p.im.read(p.rodata+uint64(gcdataoff), int((words+7)/8))
		if err != nil {
			return nil, err
		}
		for w := int32(0); w < words; w++ {
			if mask[w/8]&(1<<(w%8)) != 0 {
				o.Ptrs = append(o.Ptrs, int64(w)*8)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func stackObjects(exe string, in *bufio.Scanner, out *json.Encoder) error {
	p, err := openPcln(exe)
	if err != nil {
		return err
	}
	for in.Scan() {
		s := in.Text()
		entry, err := strconv.ParseUint(s, 0, 64)
		var objs []stackObject
		if err == nil {
			objs, err = p.objects(entry)
		}
		if err != nil {
			out.Encode(frameFailure{s, err.Error()})
			continue
		}
		out.Encode(frameObjects{s, append([]stackObject{}, objs...)})
	}
	return nil
}
