"""What an exploration found, and its tables: the summary line, the JSON of the CLI and the
counterexample one row per step (render.trace draws the rows of a replay)."""

from ..render.trace import trace_html, trace_text
from .replay import replay


class Result:
    """What an exploration found: counts, time, the violations and the shortest trace."""

    def __init__(self, world, mode, seed=None):
        self.world = world
        self.config, self.era, self.mutant, self.bug = world.name, world.era_name, world.mutant, world.bug
        self.mode, self.seed = mode, seed
        self.exhaustive = mode == "bfs"
        self.states = self.transitions = 0
        self.seconds = 0.0
        self.violations: list = []
        self.trace: list = []              # [{"thread": name, "step": kernel function}]
        self.depth = 0
        self.kind = None                   # "safety", "liveness", "deadlock" or "bug"

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict:
        """The CLI's --json object (its keys are documented in docs/explorer.md)."""
        return {"config": self.config, "era": self.era, "mutant": self.mutant, "bug": self.bug,
                "mode": self.mode, "exhaustive": self.exhaustive, "seed": self.seed,
                "states": self.states, "transitions": self.transitions,
                "seconds": round(self.seconds, 4), "violations": self.violations,
                "kind": self.kind, "trace": self.trace,
                "class": self.world.bug_info["class"] if self.bug else None}

    def steps(self) -> list:
        """The trace as thread names only: what replay() takes."""
        return [s["thread"] for s in self.trace]

    def render(self, html: bool = False) -> str:
        """The counterexample one row per step (text, or HTML)."""
        if not self.trace and not self.violations:
            return "no violation"
        rep = replay(self.world.source, self.steps(), era=self.era, mutant=self.mutant,
                     bug=self.bug, **self.world.era_overrides_user)
        return trace_html(rep) if html else trace_text(rep)

    def _repr_html_(self):
        if self.violations:
            return self.render(html=True)
        return f"<pre>{self.summary()}</pre>"

    def summary(self) -> str:
        """Two lines: what ran and how big it was; the verdict."""
        label = "exhaustive" if self.exhaustive else "NOT exhaustive"
        head = (f"{self.config} era={self.era}" + (f" mutant={self.mutant}" if self.mutant else "")
                + (f" bug={self.bug}" if self.bug else ""))
        rate = self.states / self.seconds if self.seconds else 0
        lines = [f"{head}: {self.states} states, {self.transitions} transitions, "
                 f"{self.seconds:.3f} s ({rate:,.0f} states/s, {self.mode}, {label})"]
        if self.violations:
            lines.append(f"VIOLATION ({self.kind}) after {len(self.trace)} steps: {self.violations[0]}")
        else:
            lines.append("no violation" + ("" if self.exhaustive else " found (NOT exhaustive)"))
        return "\n".join(lines)

    def __repr__(self):
        return f"<explore {self.summary()}>"
