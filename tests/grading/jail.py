"""Run code as a learner's cell in a jailed learner's process, and see what it printed."""

import time

from refmodel.grading.sandbox import LearnerProcess, Slot, choose_tier

_TIER = []


def best_tier() -> str:
    if not _TIER:
        _TIER.append(choose_tier()[0])
    return _TIER[0]


def run_in_jail(code: str, tier: str | None = None, memory_mb: int = 256, wait: float = 20.0,
                audit_hook: bool = False) -> dict:
    """The learner's process's answer to loading one cell of code (with "out": what it
    printed), in tier (default: the strongest here).  Without the audit hook by default:
    these tests are about what the jail itself stops.  The slot is closed after."""
    slot = Slot(tier or best_tier())
    try:
        p = LearnerProcess(slot, memory_mb, 30)
        try:
            p.send({"spec": {"audit_hook": audit_hook}})
            p.send({"load": [["cell 1", code]], "functions": []})
            return p.receive(time.monotonic() + wait) or {"timeout": True}
        finally:
            p.close()
    finally:
        slot.close()
