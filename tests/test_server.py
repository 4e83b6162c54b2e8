"""findings on a healthy server, and on the same server with a true goroutine leak.

samples/goserver runs, in one process on loopback, a TCP echo server with 200
client connections (per connection a server read loop in IO wait, a server
write loop blocked on a channel only the read loop holds, a client read
loop), a net/http server with 20 keep-alive connections (the transport's
readLoop and writeLoop per connection), a worker pool blocked on a job channel
main holds, a WaitGroup waiter, a ticker loop, a cond waiter whose cond a
global holds and a mutex waiter.  Nothing leaked: findings must report no
finding at all, on every Go config; the large groups of waiting goroutines
are observations.  Its leaky variant (MEMDBG_SERVER_LEAKS=25) adds 25
goroutines blocked sending on a channel only they hold: one leak, with its
count and evidence, and nothing else.
"""

import pytest

import samples
import test_findings

GOSERVER = samples.other_sample("goserver")
LEAKY = samples.Sample("goserver-leaky", GOSERVER.src, samples.CORES_DIR / "goserver-leaky",
                       (("MEMDBG_SERVER_LEAKS", "25"),))


def make(sample, cfg, kind="kernel"):
    if kind == "gcore" and cfg.id not in samples.gcore_configs():
        pytest.skip("gcores only for " + ", ".join(samples.gcore_configs()))
    try:
        return samples.make_core_of(sample, cfg, kind)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


def findings(sc):
    return test_findings.findings(sc)


def section(doc, sid):
    (s,) = [x for x in doc["sections"] if x["id"] == sid]
    return s


@pytest.mark.parametrize("sample", [GOSERVER, LEAKY], ids=["healthy", "leaky"])
def test_check_mode(go_config, sample):
    """The server and its load come up, and nothing allocates from the heap dump on."""
    try:
        p, _ = samples.run_check_mode(go_config, sample=sample)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    assert p.returncode == 0, p.stdout + p.stderr


def test_healthy_server_has_no_findings(go_config, core_kind):
    doc = findings(make(GOSERVER, go_config, core_kind))
    noisy = {s["id"]: s["items"][:3] for s in doc["sections"] if s["kind"] == "finding" and s["count"]}
    assert doc["total_findings"] == 0, noisy


def test_healthy_server_groups(go_config):
    """The per-connection loops are groups, each with its count and where it waits."""
    sc = make(GOSERVER, go_config)
    n = sc.oracle["Clients"]
    groups = section(findings(sc), "goroutine-groups")
    assert groups["kind"] == "observation"
    got = sorted((g["goroutines"], g["wait_reason"], g["created_by"]) for g in groups["items"])
    assert got == sorted([(n, "IO wait", "main.echoServer"), (n, "chan receive", "main.echoServer"),
                          (n, "IO wait", "main.echoClient")]), got
    write = [g for g in groups["items"] if g["wait_reason"] == "chan receive"][0]
    assert write["function"] == "main.(*conn).writeLoop" and write["frames"][0] == "main.(*conn).writeLoop"


def test_leak_is_found_with_its_count(go_config, core_kind):
    sc = make(LEAKY, go_config, core_kind)
    o, doc = sc.oracle, findings(sc)
    assert o["Leaks"] == 25
    leaks = section(doc, "goroutine-leaks")
    assert leaks["count"] == 1, leaks["items"]
    (item,) = leaks["items"]
    assert item["goroutines"] == o["Leaks"]
    assert item["function"] == o["LeakFunction"] and item["created_by"] == o["LeakCreatedBy"]
    assert item["wait_reason"] == "chan send"
    (ch,) = item["blocked_on"]
    assert ch["type"] in ("runtime.hchan", "runtime.hchan (noscan)"), ch
    assert all(h.startswith("goroutine ") and "chansend" in h for h in ch["held_by"]), ch
    noisy = {s["id"]: s["items"][:3] for s in doc["sections"]
             if s["kind"] == "finding" and s["count"] and s["id"] != "goroutine-leaks"}
    assert doc["total_findings"] == 1, noisy
