#!/bin/sh
# Regenerate native/src/glibc/gl_table.h from the DWARF of Debian's libc6-dbg.
# Debian ships libc.so.6 stripped, but its libc6-dbg package holds the detached
# debug file of that very build (same build-id), so nothing is rebuilt: the
# struct offsets come from its DWARF (gdb's offsetof on malloc_state,
# malloc_par, heap_info, tcache_perthread_struct), the hidden globals
# main_arena, mp_ and global_max_fast (and that one's size) from its .symtab,
# and the GOT slot holding the thread-pointer offset of the TLS variable tcache
# from the library's R_X86_64_TPOFF64 relocation whose addend is tcache's TLS
# offset.
#
# Each libc6 version named on the command line is unpacked into WORKDIR: the
# installed release's with apt-get download, other releases' (Debian 11's
# 2.31, Debian 13's 2.41) with glibc_debs.py, pinned by sha256.  The default
# is the installed version and every pinned one.  Each layout row covers a
# range of glibc versions; every version given must fall in a row, all the
# versions of one row must give the same layout, and every row needs one
# (its "checked" list names them; the rest of its range is inferred).
# Usage: setup/allocators/glibc-table.sh [WORKDIR [VERSION...]]   (default /tmp/memdbg-glibc)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${1:-/tmp/memdbg-glibc}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
	set -- "$(dpkg-query -W -f '${Version}' libc6)" \
		$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import glibc_debs; print(*glibc_debs.PINNED)' "$HERE")
fi
OUT=$ROOT/native/src/glibc/gl_table.h
mkdir -p "$WORK"

# Unpack libc6 and libc6-dbg of one version; prints the root directory.
unpack() {
	if python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import glibc_debs; sys.exit(sys.argv[2] not in glibc_debs.PINNED)' \
		"$HERE" "$1"; then
		python3 "$HERE/glibc_debs.py" "$WORK/debs" "$1"
		return
	fi
	d=$WORK/$1
	if [ ! -f "$d/done" ]; then
		rm -rf "$d" && mkdir -p "$d" && cd "$d"
		apt-get download "libc6=$1" "libc6-dbg=$1" >/dev/null
		for deb in *.deb; do dpkg-deb -x "$deb" root; done
		touch done
		cd - >/dev/null
	fi
	echo "$d/root"
}

# libc.so.6 under a root (lib/ before Debian's usrmerge, usr/lib/ after) and its debug file.
libc_of() {
	for l in "$1/lib/x86_64-linux-gnu/libc.so.6" "$1/usr/lib/x86_64-linux-gnu/libc.so.6"; do
		[ -e "$l" ] && { echo "$l"; return; }
	done
	echo "glibc-table.sh: no libc.so.6 under $1" >&2
	exit 1
}
build_id() { readelf -n "$1" | awk '/Build ID/ {print $3}'; }
debug_of() {
	id=$(build_id "$2")
	echo "$1/usr/lib/debug/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug"
}
symbol() { readelf -sW "$1" 2>/dev/null | awk -v s="$2" '$8 == s {print $'"$3"'; exit}'; }
sym() { symbol "$1" "$2" 2 | sed 's/^0*/0x/'; }

# The layout of one debug file, "NAME VALUE" per line: offsetof and sizeof through gdb, and
# global_max_fast's size (size_t before 2.37, uint8_t from it) from its symbol.
layout() {
	cmds=$WORK/layout.gdb
	: >"$cmds"
	ex() { printf 'printf "%s %%lu\\n", (unsigned long)(%s)\n' "$1" "$2" >>"$cmds"; }
	ex mstate_size "sizeof(struct malloc_state)"
	ex mp_size "sizeof(struct malloc_par)"
	ex heap_info_size "sizeof(heap_info)"
	ex tcache_size "sizeof(tcache_perthread_struct)"
	for f in flags have_fastchunks top last_remainder bins next next_free attached_threads system_mem \
		 max_system_mem; do
		ex "ar_$f" "&((struct malloc_state *)0)->$f"
	done
	ex ar_fastbins "&((struct malloc_state *)0)->fastbinsY"
	for f in trim_threshold top_pad mmap_threshold arena_test arena_max n_mmaps n_mmaps_max max_n_mmaps \
		 no_dyn_threshold mmapped_mem max_mmapped_mem sbrk_base tcache_bins tcache_max_bytes tcache_count \
		 tcache_unsorted_limit; do
		ex "mp_$f" "&((struct malloc_par *)0)->$f"
	done
	for f in ar_ptr prev size mprotect_size; do ex "hi_$f" "&((heap_info *)0)->$f"; done
	for f in counts entries; do ex "tcache_$f" "&((tcache_perthread_struct *)0)->$f"; done
	gdb -nx -batch -x "$cmds" "$1"
	echo "max_fast_size $(symbol "$1" global_max_fast 3)"
}

# The layout row of a glibc version (upstream, e.g. 2.36): its name and the versions it covers.
row_of() {
	minor=$(echo "$1" | sed -n 's/^2\.\([0-9]*\).*/\1/p')
	if [ -z "$minor" ] || [ "$minor" -lt 31 ] || [ "$minor" -gt 41 ]; then
		echo "glibc-table.sh: glibc $1 is in no layout row (2.31-2.41)" >&2
		exit 1
	fi
	if [ "$minor" -le 34 ]; then echo "2_31 2.31-2.34"
	elif [ "$minor" -le 36 ]; then echo "2_35 2.35-2.36"
	else echo "2_37 2.37-2.41"; fi
}

ROWS="2_31 2_35 2_37"
for r in $ROWS; do rm -f "$WORK/row-$r.layout" "$WORK/row-$r.checked"; done
for ver in "$@"; do
	r=$(unpack "$ver")
	lib=$(libc_of "$r")
	dbg=$(debug_of "$r" "$lib")
	upstream=$(echo "$ver" | sed 's/-.*//')
	row=$(row_of "$upstream" | cut -d' ' -f1)
	layout "$dbg" >"$WORK/$ver.layout"
	if ! grep -q '^mstate_size [0-9]' "$WORK/$ver.layout" || ! grep -q '^max_fast_size [18]$' "$WORK/$ver.layout"; then
		echo "glibc-table.sh: gdb could not read the layout from $dbg" >&2
		exit 1
	fi
	if [ -f "$WORK/row-$row.layout" ]; then
		if ! cmp -s "$WORK/row-$row.layout" "$WORK/$ver.layout"; then
			echo "glibc-table.sh: $ver's layout differs from the rest of row $row:" >&2
			diff "$WORK/row-$row.layout" "$WORK/$ver.layout" >&2 || true
			exit 1
		fi
	else
		cp "$WORK/$ver.layout" "$WORK/row-$row.layout"
	fi
	echo "$upstream $ver" >>"$WORK/row-$row.checked"
done
for r in $ROWS; do
	[ -f "$WORK/row-$r.layout" ] || { echo "glibc-table.sh: no version given for layout row $r" >&2; exit 1; }
done

emit_row() {
	row=$1 versions=$2
	v() { awk -v k="$1" '$1 == k {print $2}' "$WORK/row-$row.layout"; }
	checked=$(awk '{print $1}' "$WORK/row-$row.checked" | sort -u -V | paste -sd' ')
	debs=$(awk '{print $2}' "$WORK/row-$row.checked" | sort -u -V | paste -sd' ')
	echo ""
	echo "/* glibc $versions: read from the DWARF of Debian's libc6-dbg $debs; the rest of the range"
	echo " * shares it by glibc's source history (inferred, unchecked). */"
	echo "static const struct gl_layout gl_layout_$row = {"
	echo "	.versions = \"$versions\","
	echo "	.checked = \"$checked\","
	echo "	.arena_size = $(v mstate_size),"
	for k in ar_flags ar_have_fastchunks ar_fastbins ar_top ar_last_remainder ar_bins ar_next ar_next_free \
		 ar_attached_threads ar_system_mem ar_max_system_mem; do echo "	.$k = $(v $k),"; done
	echo "	.mp_size = $(v mp_size),"
	for k in trim_threshold top_pad mmap_threshold arena_test arena_max n_mmaps n_mmaps_max max_n_mmaps \
		 no_dyn_threshold mmapped_mem max_mmapped_mem sbrk_base tcache_bins tcache_max_bytes tcache_count \
		 tcache_unsorted_limit; do echo "	.mp_$k = $(v mp_$k),"; done
	echo "	.max_fast_size = $(v max_fast_size),"
	echo "	.heap_info_size = $(v heap_info_size),"
	for k in hi_ar_ptr hi_prev hi_size hi_mprotect_size tcache_size tcache_counts tcache_entries; do
		echo "	.$k = $(v $k),"
	done
	echo "};"
}

{
	echo "/* gl_table.h - generated by setup/allocators/glibc-table.sh; do not edit. */"
	echo "/* Layout rows: .checked names the versions whose DWARF gave the row; the other versions of"
	echo " * its range are inferred from glibc's source history: malloc_par gained thp_pagesize,"
	echo " * hp_pagesize and hp_flags in 2.35 (heap_info its pagesize), global_max_fast became a"
	echo " * uint8_t in 2.37. */"
	emit_row 2_31 2.31-2.34
	emit_row 2_35 2.35-2.36
	emit_row 2_37 2.37-2.41
	echo ""
	echo "/* Debian's libc6 builds (offsets from the load base). */"
	echo "static const struct gl_build gl_builds[] = {"
	for ver in "$@"; do
		r=$(unpack "$ver")
		lib=$(libc_of "$r")
		dbg=$(debug_of "$r" "$lib")
		tls=$(readelf -sW "$dbg" 2>/dev/null | awk '$4 == "TLS" && $8 == "tcache" {print $2}' | sed 's/^0*//')
		slot=$(readelf -rW "$lib" | awk -v a="$tls" '$3 == "R_X86_64_TPOFF64" && $4 == a {print $1}' | sed 's/^0*/0x/')
		[ -n "$slot" ] || { echo "glibc-table.sh: no TPOFF64 slot for tcache in $lib" >&2; exit 1; }
		echo "	{"
		echo "		.build_id = \"$(build_id "$lib")\","
		echo "		.name = \"libc6 $ver\","
		echo "		.rva = {"
		echo "			[GL_SYM_MAIN_ARENA] = $(sym "$dbg" main_arena),"
		echo "			[GL_SYM_MP] = $(sym "$dbg" mp_),"
		echo "			[GL_SYM_TCACHE_SLOT] = $slot,"
		echo "			[GL_SYM_MAX_FAST] = $(sym "$dbg" global_max_fast),"
		echo "		},"
		echo "	},"
	done
	echo "};"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT"
