"""Compare what the real kernel did (the QEMU guest, Linux 6.1) with what the Python
model did (Linux 2.6.18), scenario step by scenario step.

Exact fields must be equal on both sides.  Where the two kernels differ in what user
space sees, the step names the difference (differences.json) and each side is held
to its own kernel instead.  Figures that vary from run to run are checked loosely,
against bounds.  Usage: python conformance/compare.py [results/latest.json]"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conformance import scenarios  # noqa: E402

DIFFERENCES = {d["id"]: d for d in json.loads((HERE / "differences.json").read_text())["differences"]}

# The fields of each op that must match exactly; everything else is informational.
EXACT = {
    "where": ("status", "pfn_changed"),
    "move": ("ret", "status"),
    "check": ("match",),
    "trace": ("set", "remove"),
    "mbind": ("ret",),
    "race": ("bad_reads",),
}
MISSING = "MISSING"


def _loose_ok(value, bound: dict) -> bool:
    if not isinstance(value, (int, float)):
        return False
    return bound.get("min", value) <= value <= bound.get("max", value)


def _model_scenario(model: dict | None, sid: str) -> dict | None:
    if not model or not model.get("available"):
        return None
    return model.get("scenarios", {}).get(sid)


def _model_step(msc: dict | None, k: int):
    """The model's record of step k, or (None, reason) when it did not run it."""
    if msc is None:
        return None, "model not available"
    steps = {s["step"]: s for s in msc.get("steps", [])}
    if k in steps:
        return steps[k], None
    if msc.get("error"):
        return None, "model error: " + msc["error"]
    return None, msc.get("unsupported") or "model did not run this step"


def compare(scs: list[dict], guest: dict, model: dict | None) -> dict:
    """Return {'checks': [row...], 'summary': {...}}; one row per compared field."""
    rows = []
    for sc in scs:
        sid = sc["id"]
        gsc = guest.get("scenarios", {}).get(sid, {})
        gsteps = {s["step"]: s for s in gsc.get("steps", [])}
        msc = _model_scenario(model, sid)
        for k, st in enumerate(sc["steps"]):
            op = st["op"]
            if op not in EXACT and "loose" not in st:
                continue
            g = gsteps.get(k)
            m, m_reason = _model_step(msc, k)
            if m is not None and m.get("unsupported"):
                m, m_reason = None, m["unsupported"]
            exp = {kern: scenarios.expected(st, kern) for kern in scenarios.KERNELS}
            diff = ", ".join(scenarios.differences(st)) or None
            for field in EXACT.get(op, ()):
                named = diff if diff and field in st["kernels"]["6.1"] else None
                gv = g.get(field, MISSING) if g else MISSING
                mv = m.get(field, MISSING) if m else None
                row = {"scenario": sid, "step": k, "op": op, "proc": st.get("proc", 0),
                       "field": field, "kind": "exact", "guest": gv, "model": mv,
                       "expect_6.1": exp["6.1"].get(field, MISSING),
                       "expect_2.6.18": exp["2.6.18"].get(field, MISSING),
                       "difference": named, "model_note": m_reason or (m or {}).get("note")}
                row["guest_ok"] = gv != MISSING and (field not in exp["6.1"] or gv == exp["6.1"][field])
                if m is None:
                    row["model_ok"] = row["agree"] = None
                else:
                    row["model_ok"] = mv != MISSING and (field not in exp["2.6.18"]
                                                         or mv == exp["2.6.18"][field])
                    row["agree"] = None if named else mv == gv
                rows.append(row)
            for field, bound in st.get("loose", {}).items():
                gv = g.get(field, MISSING) if g else MISSING
                mv = m.get(field, MISSING) if m else None
                rows.append({"scenario": sid, "step": k, "op": op, "proc": st.get("proc", 0),
                             "field": field, "kind": "loose", "guest": gv, "model": mv,
                             "expect_6.1": bound, "expect_2.6.18": bound, "difference": None,
                             "model_note": m_reason, "guest_ok": _loose_ok(gv, bound),
                             "model_ok": None if m is None else _loose_ok(mv, bound),
                             "agree": None})
    return {"checks": rows, "summary": summarize(rows, guest, model)}


def summarize(rows: list[dict], guest: dict, model: dict | None) -> dict:
    """Counts, and ok: the guest met every 6.1 expectation and no exact mismatch exists."""
    guest_bad = [r for r in rows if not r["guest_ok"]]
    model_bad = [r for r in rows if r["model_ok"] is False or r["agree"] is False]
    compared = [r for r in rows if r["model_ok"] is not None]
    na = [r for r in rows if r["model_ok"] is None]
    guest_done = bool(guest.get("finished", guest.get("done")))
    return {
        "fields": len(rows),
        "guest_as_expected": len(rows) - len(guest_bad),
        "guest_failed": len(guest_bad),
        "model_compared": len(compared),
        "model_mismatched": len(model_bad),
        "model_not_run": len(na),
        "model_available": bool(model and model.get("available")),
        "model_reason": (model or {}).get("reason"),
        "guest_finished": guest_done,
        "ok": guest_done and not guest_bad and not model_bad,
    }


# ---- rendering ---------------------------------------------------------------

def _fmt(v) -> str:
    if v is None:
        return "null"
    if v == MISSING:
        return "MISSING"
    return json.dumps(v, separators=(",", ":"))


def _model_fmt(row: dict) -> str:
    """The model's value, or '-' when the model did not run the step."""
    return "-" if row["model_ok"] is None else _fmt(row["model"])


def _verdict(ok) -> str:
    return {True: "GOOD", False: "BAD", None: "N/A"}[ok]


def table(rows: list[dict]) -> str:
    """A side-by-side table: guest (6.1) | model (2.6.18) | what each kernel should do."""
    head = ("check", "guest 6.1", "model 2.6.18", "expect 6.1", "expect 2.6.18", "verdict")
    lines = [head]
    for r in rows:
        verdict = (f"guest {_verdict(r['guest_ok'])}, model {_verdict(r['model_ok'])}"
                   + ("" if r["agree"] is None else f", {'same' if r['agree'] else 'DIFFERENT'}"))
        lines.append((f"{r['scenario']}/{r['step']} {r['op']}[p{r['proc']}].{r['field']}",
                      _fmt(r["guest"]), _model_fmt(r), _fmt(r["expect_6.1"]),
                      _fmt(r["expect_2.6.18"]), verdict))
    widths = [min(max(len(l[i]) for l in lines), 44) for i in range(len(head))]
    out = []
    for n, l in enumerate(lines):
        out.append("  ".join(c[:44].ljust(w) for c, w in zip(l, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def render(report: dict) -> str:
    """The human report: failures side by side, named differences, a summary."""
    rows, s = report["checks"], report["summary"]
    out = []
    bad = [r for r in rows if not r["guest_ok"] or r["model_ok"] is False or r["agree"] is False]
    if bad:
        out += ["MISMATCHES (guest held to Linux 6.1, model to Linux 2.6.18):", table(bad), ""]
    named = [r for r in rows if r["difference"]]
    if named:
        out.append("NAMED 6.1-vs-2.6.18 DIFFERENCES (each side held to its own kernel):")
        for dids in sorted({r["difference"] for r in named}):
            titles = "; ".join(DIFFERENCES[d]["title"] for d in dids.split(", "))
            out.append(f"  {dids}: {titles}")
            for r in (r for r in named if r["difference"] == dids):
                out.append(f"    {r['scenario']}/{r['step']} {r['field']}: guest {_fmt(r['guest'])} "
                           f"({_verdict(r['guest_ok'])} for 6.1), model {_model_fmt(r)} "
                           f"({_verdict(r['model_ok'])} for 2.6.18)")
        out.append("")
    approx = sorted({r["model_note"] for r in rows if r["model_ok"] is not None and r["model_note"]})
    if approx:
        out.append("MODEL APPROXIMATIONS (compared, but not the guest's system call):")
        out += [f"  - {n}" for n in approx]
        out.append("")
    notes = sorted({r["model_note"] for r in rows if r["model_ok"] is None and r["model_note"]})
    if notes:
        out.append("MODEL NOT RUN for some checks:")
        out += [f"  - {n}" for n in notes]
        out.append("")
    out.append(f"guest (Linux 6.1): {s['guest_as_expected']}/{s['fields']} checked fields as expected"
               + ("" if s["guest_finished"] else "; the guest did NOT finish"))
    out.append(f"model (2.6.18): {s['model_compared']} fields compared, {s['model_mismatched']} "
               f"mismatched, {s['model_not_run']} not run"
               + (f" ({s['model_reason']})" if s["model_reason"] else ""))
    verdict = "OK" if s["ok"] else "FAILED"
    if s["ok"] and s["model_not_run"]:
        verdict += f" (the model did not run {s['model_not_run']} of {s['fields']} fields)"
    out.append("CONFORMANCE " + verdict)
    return "\n".join(out)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else HERE / "results" / "latest.json"
    res = json.loads(path.read_text())
    scs = scenarios.load()
    guest = {"scenarios": res["guest"], "finished": res["lab"]["finished"]}
    report = compare(scs, guest, res.get("model"))
    print(render(report))
    return 0 if report["summary"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
