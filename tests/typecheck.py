"""Types never contradict the GC's own metadata: shared checks for every sample.

`objects --check-types --json` lays each object's type over its slot as the
runtime lays it out (type_mask) and reads what the runtime records for the
slot (gc_mask: span heap bits, malloc header, largeType, none for noscan);
both are hex numbers whose bit i is word i of the slot.  Where the sample
wrote a runtime/debug.WriteHeapDump, each object's pointer offsets there are
the oracle for both.
"""

import json

import samples


def offsets(mask_hex, size):
    m = int(mask_hex, 16)
    return {8 * i for i in range(size // 8) if (m >> i) & 1}


def check_types(sc, dump=None, timeout=600):
    """Demand typed_against_gc == 0 (and, given a heap dump, masks equal to its offsets); return the doc."""
    p = samples.run_core_cli(sc, "objects --check-types", json_out=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    t = doc["totals"]
    bad = [x for x in doc["objects"] if x["check"] in ("contradicts", "no record")]
    assert t["typed_against_gc"] == 0 and t["typed_without_gc_record"] == 0, bad[:5]
    if dump is not None:
        by_addr = {x.addr: x for x in dump.objects}
        for x in doc["objects"]:
            want = set(by_addr[int(x["addr"], 16)].pointers)
            assert offsets(x["gc_mask"], x["size"]) == want, x
            if x["type_mask"] is not None:
                assert offsets(x["type_mask"], x["size"]) == want, (x["addr"], x["type"])
            elif x["type"] is not None:
                assert x["type"].startswith("closure ") and 0 not in want, x
    return doc


def typed_pct(sc):
    """histogram --live's typed share of live bytes."""
    p = samples.run_core_cli(sc, "histogram --live", json_out=True, timeout=600)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)["totals"]["typed_pct"]
