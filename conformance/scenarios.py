"""The conformance scenarios as data: load and validate scenarios.json, and turn it
into the C table (scenarios.h) that guest/migscen.c compiles in.  The guest program
and the Python model both run these steps, so they cannot drift apart."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS_JSON = HERE / "scenarios.json"
PAGE_SIZE = 4096
MAX_PAGES = 32          # guest/migscen.c: one bit per page in a uint32_t
MAX_REGIONS = 4

# op -> (C enum, fields it needs).  The order of the C enum lives in migscen.c.
OPS = {
    "map": ("OP_MAP", {"region", "kind", "npages"}),
    "fill": ("OP_FILL", {"region", "tag"}),
    "read": ("OP_READ", {"region"}),
    "write": ("OP_WRITE", {"region", "tag"}),
    "check": ("OP_CHECK", {"region", "tag"}),
    "fork": ("OP_FORK", set()),
    "exit": ("OP_EXIT", set()),
    "munmap": ("OP_MUNMAP", {"region", "pages"}),
    "where": ("OP_WHERE", {"region"}),
    "move": ("OP_MOVE", {"region", "node", "flags"}),
    "migrate": ("OP_MIGRATE", {"from", "to"}),
    "mbind": ("OP_MBIND", {"region", "node", "flags"}),
    "trace": ("OP_TRACE", {"region"}),
    "race": ("OP_RACE", {"region", "iterations"}),
    "pin": ("OP_PIN", {"region"}),
    "unpin": ("OP_UNPIN", {"region"}),
}
PARENT_ONLY = {"map", "fork", "migrate", "trace", "race", "pin", "unpin"}
KINDS = {"anon": "KIND_ANON", "shm": "KIND_SHM"}
# <linux/mempolicy.h>
MF_FLAGS = {"STRICT": 1, "MOVE": 2, "MOVE_ALL": 4}
OPTIONAL = {"op", "proc", "pages", "expect", "loose", "kernels", "note"}
KERNELS = ("6.1", "2.6.18")


def load(path: Path = SCENARIOS_JSON) -> list[dict]:
    """Return the validated list of scenarios; raise ValueError on bad data."""
    data = json.loads(Path(path).read_text())
    scenarios = data["scenarios"]
    validate(scenarios)
    return scenarios


def pattern(tag: int, page: int) -> bytes:
    """The 4096 bytes that 'fill'/'write' put into a page (twin of pattern() in migscen.c)."""
    return bytes((tag * 37 + page * 11 + j * 7 + (j >> 8)) & 0xFF for j in range(PAGE_SIZE))


def flag_bits(flags) -> int:
    """'MOVE' or ['MOVE', 'STRICT'] -> the MPOL_MF_* bits."""
    names = [flags] if isinstance(flags, str) else list(flags)
    return sum(MF_FLAGS[n] for n in names)


def selected_pages(step: dict, npages: int) -> list[int]:
    """The page indexes a step works on: 'pages', or the whole region."""
    return list(step.get("pages", range(npages)))


def region_sizes(scenario: dict) -> dict[str, int]:
    """Region name -> number of pages, from the scenario's map steps."""
    return {s["region"]: s["npages"] for s in scenario["steps"] if s["op"] == "map"}


def validate(scenarios: list[dict]) -> None:
    """Check the step language rules; raise ValueError naming the first bad step."""
    ids = set()
    for sc in scenarios:
        sid = sc.get("id")
        if not sid or not sid.replace("_", "").isalnum() or sid in ids:
            raise ValueError(f"bad or duplicate scenario id {sid!r}")
        ids.add(sid)
        for key in ("title", "why", "steps"):
            if key not in sc:
                raise ValueError(f"{sid}: missing {key!r}")
        regions: dict[str, int] = {}
        forked = False
        for k, st in enumerate(sc["steps"]):
            where = f"{sid} step {k} ({st.get('op')})"
            op = st.get("op")
            if op not in OPS:
                raise ValueError(f"{where}: unknown op")
            need = OPS[op][1]
            missing = need - set(st)
            if missing:
                raise ValueError(f"{where}: missing {sorted(missing)}")
            unknown = set(st) - need - OPTIONAL
            if unknown:
                raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
            proc = st.get("proc", 0)
            if proc not in (0, 1) or (op in PARENT_ONLY and proc != 0):
                raise ValueError(f"{where}: bad proc {proc}")
            if (proc == 1 or op == "exit") and not forked:
                raise ValueError(f"{where}: no child yet (fork first)")
            if op == "fork":
                forked = True
            if op == "exit":
                forked = False
            if op == "map":
                if st["kind"] not in KINDS or not 1 <= st["npages"] <= MAX_PAGES:
                    raise ValueError(f"{where}: bad kind or npages")
                if forked:
                    raise ValueError(f"{where}: map before fork, so both processes have it")
                regions[st["region"]] = st["npages"]
                if len(regions) > MAX_REGIONS:
                    raise ValueError(f"{where}: more than {MAX_REGIONS} regions")
            elif "region" in need and st["region"] not in regions:
                raise ValueError(f"{where}: region {st['region']!r} is not mapped yet")
            if "pages" in st:
                n = regions[st["region"]]
                if not st["pages"] or any(not 0 <= p < n for p in st["pages"]):
                    raise ValueError(f"{where}: pages out of range")
            if "flags" in st:
                names = [st["flags"]] if isinstance(st["flags"], str) else st["flags"]
                if any(f not in MF_FLAGS for f in names):
                    raise ValueError(f"{where}: unknown flags {names}")
            if "kernels" in st:
                kn = st["kernels"]
                if not differences(st) or any(v not in kn for v in KERNELS):
                    raise ValueError(f"{where}: 'kernels' needs difference, 6.1 and 2.6.18")
                if set(kn["6.1"]) != set(kn["2.6.18"]):
                    raise ValueError(f"{where}: both kernels must give the same fields")
            for field, bound in st.get("loose", {}).items():
                if not set(bound) <= {"min", "max"}:
                    raise ValueError(f"{where}: loose {field} takes min/max")


def differences(step: dict) -> list[str]:
    """The ids (differences.json) of the 6.1-vs-2.6.18 differences a step shows."""
    d = step.get("kernels", {}).get("difference", [])
    return [d] if isinstance(d, str) else list(d)


def expected(step: dict, kernel: str) -> dict:
    """The exact expectations of a step for one kernel ('6.1' or '2.6.18')."""
    exp = dict(step.get("expect", {}))
    if "kernels" in step:
        exp.update(step["kernels"][kernel])
    return exp


# ---- the C table ----------------------------------------------------------

def _mask(nodes) -> str:
    return hex(sum(1 << n for n in nodes)) + "UL"


def c_header(scenarios: list[dict]) -> str:
    """Generate scenarios.h: the steps[] and scenarios[] tables for migscen.c."""
    out = ["/* Generated by conformance/lab.py from conformance/scenarios.json. Do not edit. */",
           f"#define N_SCENARIOS {len(scenarios)}", "",
           "static const struct step steps[] = {"]
    table = []
    first = 0
    for sc in scenarios:
        names = list(region_sizes(sc))
        sizes = region_sizes(sc)
        out.append(f"\t/* {sc['id']}: {sc['title']} */")
        for st in sc["steps"]:
            op = st["op"]
            region = names.index(st["region"]) if "region" in st else -1
            if "pages" in st:
                pages = hex(sum(1 << p for p in st["pages"])) + "u"
            else:
                pages = "0xffffffffu"
            fields = [
                f".op = {OPS[op][0]}",
                f".proc = {st.get('proc', 0)}",
                f".region = {region}",
                f".kind = {KINDS.get(st.get('kind'), 'KIND_NONE')}",
                f".npages = {st.get('npages', sizes.get(st.get('region'), 0))}",
                f".pages = {pages}",
                f".tag = {st.get('tag', 0)}",
                f".node = {st.get('node', 0)}",
                f".flags = {flag_bits(st['flags']) if 'flags' in st else 0}",
                f".from = {_mask(st.get('from', []))}",
                f".to = {_mask(st.get('to', []))}",
                f".iterations = {st.get('iterations', 0)}",
            ]
            out.append("\t{ " + ", ".join(fields) + " },")
        table.append(f'\t{{ "{sc["id"]}", {first}, {len(sc["steps"])} }},')
        first += len(sc["steps"])
    out += ["};", "", "static const struct scenario scenarios[] = {", *table, "};", ""]
    return "\n".join(out)
