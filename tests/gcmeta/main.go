// gcmeta reads what the garbage collector knows about a Go executable, with
// the standard library only (debug/elf, debug/dwarf): the tests' independent
// account, to hold memdbg's answers against the runtime's heap dump.
//
//	gcmeta types EXE < names > json-lines
//	gcmeta stackobjects EXE < entry-pcs > json-lines
//	gcmeta fields EXE < struct-names > json-lines
//
// fields: each input line is a struct's DWARF name ("runtime._defer"); each
// output line is {"name", "fields": {field name: byte offset}} or {"name", "error"}.
//
// types: each input line is a type name as memdbg prints it; each output
// line is {"name", "size", "ptrs": [byte offsets of pointer words]} or
// {"name", "error"}.  The runtime prints package names where DWARF has
// import paths, so a name is looked up with each path cut to a guess of its
// package name ("[]*github.com/hashicorp/raft-boltdb/v2.BoltStore" is
// "[]*raftboltdb.BoltStore"), then with no qualifiers at all; a name two
// types with different layouts share is an error ("ambiguous").  Pointer
// words are what the garbage collector scans: pointers (but not to types
// allocated outside the heap, which embed sys.NotInHeap), maps, channels,
// funcs, unsafe.Pointer, and the data word of strings, slices and interfaces
// (the compiler's GC masks leave out an interface's itab or type word).
package main

import (
	"bufio"
	"debug/dwarf"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// qualifier matches a package path and its dot in front of an identifier.
var qualifier = regexp.MustCompile(`([\w\-%./]*)\.([A-Za-z_])`)

// short cuts every package qualifier ("noalg." and "map." included).
func short(name string) string {
	return qualifier.ReplaceAllString(name, "$2")
}

var majorVersion = regexp.MustCompile(`[/.]v\d+$`)

// pkgName guesses a package's name from its import path, as the runtime
// prints it: the last element without a major version ("/v2", ".v3"), "go-" prefix, ".go"
// suffix, dots and dashes ("github.com/hashicorp/raft-boltdb/v2" is
// raftboltdb, "github.com/nats-io/nats.go" is nats).
func pkgName(path string) string {
	path = strings.ReplaceAll(majorVersion.ReplaceAllString(path, ""), "%2e", ".")
	if i := strings.LastIndex(path, "/"); i >= 0 {
		path = path[i+1:]
	}
	path = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(path, ".go"), "go-"), "-go")
	return strings.NewReplacer(".", "", "-", "").Replace(path)
}

// named puts every qualifier in the runtime's form (package name, not path).
func named(name string) string {
	return qualifier.ReplaceAllStringFunc(name, func(m string) string {
		g := qualifier.FindStringSubmatch(m)
		return pkgName(g[1]) + "." + g[2]
	})
}

type layout struct {
	size int64
	ptrs []int64
}

type index struct {
	d       *dwarf.Data
	byName  map[string][]dwarf.Offset // by named(name): package names as the runtime prints them
	byShort map[string][]dwarf.Offset // by short(name): no qualifiers at all
	cache   map[dwarf.Offset]*layout
	nih     map[dwarf.Type]bool
}

func load(path string) (*index, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	d, err := f.DWARF()
	if err != nil {
		return nil, err
	}
	ix := &index{d: d, byName: map[string][]dwarf.Offset{}, byShort: map[string][]dwarf.Offset{},
		cache: map[dwarf.Offset]*layout{}, nih: map[dwarf.Type]bool{}}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		switch e.Tag {
		case dwarf.TagStructType, dwarf.TagTypedef, dwarf.TagBaseType, dwarf.TagArrayType,
			dwarf.TagPointerType, dwarf.TagSubroutineType:
			if name, ok := e.Val(dwarf.AttrName).(string); ok {
				ix.byName[named(name)] = append(ix.byName[named(name)], e.Offset)
				ix.byShort[short(name)] = append(ix.byShort[short(name)], e.Offset)
			}
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
		}
	}
	return ix, nil
}

// notInHeap says whether t is a type the runtime allocates outside the
// heap (it embeds sys.NotInHeap): pointers to it are not scanned.
func (ix *index) notInHeap(t dwarf.Type, depth int) bool {
	if v, ok := ix.nih[t]; ok || depth > 50 {
		return v
	}
	v := false
	switch u := t.(type) {
	case *dwarf.TypedefType:
		v = ix.notInHeap(u.Type, depth+1)
	case *dwarf.StructType:
		if strings.HasSuffix(u.StructName, "sys.NotInHeap") || strings.HasSuffix(u.StructName, "sys.nih") {
			v = true
		}
		for _, f := range u.Field {
			v = v || ix.notInHeap(f.Type, depth+1)
		}
	case *dwarf.ArrayType:
		v = ix.notInHeap(u.Type, depth+1)
	}
	ix.nih[t] = v
	return v
}

// walk appends the pointer offsets of t, placed at off, to ptrs.
func (ix *index) walk(t dwarf.Type, off int64, ptrs *[]int64, depth int) error {
	if depth > 100 {
		return fmt.Errorf("type nesting too deep")
	}
	switch t := t.(type) {
	case *dwarf.TypedefType:
		return ix.walk(t.Type, off, ptrs, depth+1)
	case *dwarf.QualType:
		return ix.walk(t.Type, off, ptrs, depth+1)
	case *dwarf.PtrType:
		if !ix.notInHeap(t.Type, 0) {
			*ptrs = append(*ptrs, off)
		}
	case *dwarf.FuncType, *dwarf.UnspecifiedType:
		*ptrs = append(*ptrs, off)
	case *dwarf.StructType:
		if t.StructName == "runtime.iface" || t.StructName == "runtime.eface" {
			// Interfaces: only the data word; the itab or type word points
			// outside the heap (or to a type reflect keeps alive).
			*ptrs = append(*ptrs, off+8)
			return nil
		}
		if t.Incomplete {
			return fmt.Errorf("incomplete struct %s", t.StructName)
		}
		for _, f := range t.Field {
			if err := ix.walk(f.Type, off+f.ByteOffset, ptrs, depth+1); err != nil {
				return err
			}
		}
	case *dwarf.ArrayType:
		var elem []int64
		if err := ix.walk(t.Type, 0, &elem, depth+1); err != nil {
			return err
		}
		es := t.Type.Size()
		if len(elem) > 0 && t.Count > 0 {
			for i := int64(0); i < t.Count; i++ {
				for _, p := range elem {
					*ptrs = append(*ptrs, off+i*es+p)
				}
			}
		}
	case *dwarf.BoolType, *dwarf.CharType, *dwarf.UcharType, *dwarf.IntType, *dwarf.UintType,
		*dwarf.FloatType, *dwarf.ComplexType, *dwarf.EnumType, *dwarf.VoidType:
	default:
		return fmt.Errorf("unhandled DWARF type %T (%s)", t, t)
	}
	return nil
}

func (ix *index) layoutAt(o dwarf.Offset) (*layout, error) {
	if l, ok := ix.cache[o]; ok {
		return l, nil
	}
	t, err := ix.d.Type(o)
	if err != nil {
		return nil, err
	}
	l := &layout{size: t.Size()}
	if err := ix.walk(t, 0, &l.ptrs, 0); err != nil {
		return nil, err
	}
	ix.cache[o] = l
	return l, nil
}

func same(a, b *layout) bool {
	if a.size != b.size || len(a.ptrs) != len(b.ptrs) {
		return false
	}
	for i := range a.ptrs {
		if a.ptrs[i] != b.ptrs[i] {
			return false
		}
	}
	return true
}

var arrayPrefix = regexp.MustCompile(`^\[(\d+)\](.+)$`)

func (ix *index) resolve(name string) (*layout, error) {
	if m := arrayPrefix.FindStringSubmatch(name); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		e, err := ix.resolve(m[2])
		if err != nil {
			return nil, err
		}
		l := &layout{size: n * e.size}
		for i := int64(0); i < n && len(e.ptrs) > 0; i++ {
			for _, p := range e.ptrs {
				l.ptrs = append(l.ptrs, i*e.size+p)
			}
		}
		return l, nil
	}
	for _, by := range []struct {
		m   map[string][]dwarf.Offset
		key string
	}{{ix.byName, named(name)}, {ix.byShort, short(name)}} {
		offs := by.m[by.key]
		var found *layout
		for _, o := range offs {
			l, err := ix.layoutAt(o)
			if err != nil {
				return nil, err
			}
			if found != nil && !same(found, l) {
				return nil, fmt.Errorf("ambiguous: %d DWARF types are named %q, with different layouts", len(offs), by.key)
			}
			found = l
		}
		if found != nil {
			return found, nil
		}
	}
	// Shapes every Go type of that kind has, whether or not DWARF names this one.
	switch {
	case strings.HasPrefix(name, "*"), strings.HasPrefix(name, "map["), strings.HasPrefix(name, "chan "),
		strings.HasPrefix(name, "<-chan "), strings.HasPrefix(name, "chan<- "), strings.HasPrefix(name, "func("):
		return &layout{size: 8, ptrs: []int64{0}}, nil
	case strings.HasPrefix(name, "[]"):
		return &layout{size: 24, ptrs: []int64{0}}, nil
	}
	return nil, fmt.Errorf("no DWARF type named %q", short(name))
}

type answer struct {
	Name string  `json:"name"`
	Size int64   `json:"size"`
	Ptrs []int64 `json:"ptrs"`
}

type failure struct {
	Name  string `json:"name"`
	Error string `json:"error"`
}

func types(exe string, in *bufio.Scanner, out *json.Encoder) error {
	ix, err := load(exe)
	if err != nil {
		return err
	}
	for in.Scan() {
		name := in.Text()
		if l, err := ix.resolve(name); err != nil {
			out.Encode(failure{name, err.Error()})
		} else {
			out.Encode(answer{name, l.size, append([]int64{}, l.ptrs...)})
		}
	}
	return nil
}

type structFields struct {
	Name   string           `json:"name"`
	Fields map[string]int64 `json:"fields"`
}

func fields(exe string, in *bufio.Scanner, out *json.Encoder) error {
	f, err := elf.Open(exe)
	if err != nil {
		return err
	}
	d, err := f.DWARF()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	var names []string
	for in.Scan() {
		want[in.Text()] = true
		names = append(names, in.Text())
	}
	found := map[string]map[string]int64{}
	r := d.Reader()
	for len(found) < len(want) {
		e, err := r.Next()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		if name, ok := e.Val(dwarf.AttrName).(string); ok && e.Tag == dwarf.TagStructType && want[name] && found[name] == nil {
			t, err := d.Type(e.Offset)
			if err != nil {
				return err
			}
			m := map[string]int64{}
			for _, f := range t.(*dwarf.StructType).Field {
				m[f.Name] = f.ByteOffset
			}
			found[name] = m
		}
		if e.Tag != dwarf.TagCompileUnit {
			r.SkipChildren()
		}
	}
	for _, name := range names {
		if m, ok := found[name]; ok {
			out.Encode(structFields{name, m})
		} else {
			out.Encode(failure{name, "no DWARF struct of that name"})
		}
	}
	return nil
}

func main() {
	modes := map[string]func(string, *bufio.Scanner, *json.Encoder) error{
		"types": types, "stackobjects": stackObjects, "fields": fields,
	}
	run, ok := modes[os.Args[min(1, len(os.Args)-1)]]
	if len(os.Args) != 3 || !ok {
		fmt.Fprintln(os.Stderr, "usage: gcmeta types|stackobjects|fields EXE < names|entry-pcs|struct-names")
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	w := bufio.NewWriter(os.Stdout)
	out := json.NewEncoder(w)
	if err := run(os.Args[2], in, out); err != nil {
		fmt.Fprintln(os.Stderr, "gcmeta:", err)
		os.Exit(1)
	}
	w.Flush()
}
