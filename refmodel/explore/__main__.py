"""python -m refmodel.explore: explore a configuration, a mutant or a historical bug from the
shell (docs/explorer.md)."""

import argparse
import json
import random
import sys

from ..eras import ERAS
from . import MODES, explore
from .world import BUG_CLASSES, bugs, configs, mutants


def main(argv=None) -> int:
    """The CLI: settings echoed first (OSTEP style), then the result; exit status 1 if a
    violation was found."""
    ap = argparse.ArgumentParser(prog="python -m refmodel.explore",
                                 description="Explore every schedule of a configuration on the model.")
    ap.add_argument("config", nargs="?", help="a configuration name (see --list)")
    ap.add_argument("--era", default=None, help=f"one of {', '.join(ERAS)} (default 2.6.18)")
    ap.add_argument("--mutant", default=None, help="a step removed from the design (see --list)")
    ap.add_argument("--bug", default=None, help="a historical bug, in its configuration and era")
    ap.add_argument("--mode", default=None, choices=MODES)
    ap.add_argument("-s", "--seed", type=int, default=None, help="random mode: the seed")
    ap.add_argument("--bound", type=int, default=2, help="bounded mode: preemptions allowed")
    ap.add_argument("--no-symmetry", action="store_true", help="do not sort identical threads")
    ap.add_argument("--por", action="store_true", help="partial-order reduction (sleep sets)")
    ap.add_argument("--no-view", action="store_true", help="keep dead locals in the state")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--html", action="store_true", help="print the counterexample as HTML")
    ap.add_argument("--list", action="store_true", help="list configurations, mutants and bugs (with their class)")
    args = ap.parse_args(argv)
    if args.list:
        for name in configs():
            print(f"config {name}")
        for name in mutants():
            print(f"mutant {name}")
        for name, b in bugs().items():
            print(f"bug {name} {b['class']}")
        return 0
    if args.config is None and args.mutant is None and args.bug is None:
        ap.error("give a CONFIG, --mutant or --bug (or --list)")
    for kind, name, table in (("mutant", args.mutant, mutants()), ("bug", args.bug, bugs())):
        if name is not None and name not in table:
            ap.error(f"unknown {kind} {name!r}; see --list")
    if args.config is not None and args.config not in configs():
        ap.error(f"unknown configuration {args.config!r}; see --list")
    era = args.era or (bugs()[args.bug].get("era") if args.bug else None) or "2.6.18"
    if args.era and args.era not in ERAS:
        ap.error(f"unknown era {args.era!r}")
    mode = args.mode or ("random" if args.seed is not None else "bfs")
    seed = args.seed
    if mode == "random" and seed is None:
        seed = random.randrange(1 << 32)
    config = args.config or (mutants()[args.mutant]["config"] if args.mutant else
                             bugs()[args.bug]["config"])
    settings = [("config", config), ("era", era), ("mutant", args.mutant), ("bug", args.bug),
                ("mode", mode), ("symmetry", not args.no_symmetry), ("por", args.por),
                ("view", not args.no_view)]
    if mode == "random":
        settings.append(("seed", seed))
    if mode == "bounded":
        settings.append(("bound", args.bound))
    if not args.json:
        for key, val in settings:
            print(f"ARG {key} {val}")
        if mode != "bfs":
            print(f"NOTE {mode} mode is NOT exhaustive: no violation found proves nothing")
        if args.bug:
            b = bugs()[args.bug]
            print(f"BUG {b['title']}\nCLASS {b['class']} ({BUG_CLASSES[b['class']]})\n"
                  f"FIX {b['fix']}\nLINK {b['link']}")
    r = explore(config, era=era, mutant=args.mutant, bug=args.bug, mode=mode, seed=seed,
                symmetry=not args.no_symmetry, por=args.por, view=not args.no_view,
                bound=args.bound, progress=True)
    if args.json:
        print(json.dumps(r.to_json()))
    else:
        print(r.summary())
        if r.violations:
            print()
            print(r.render(html=args.html))
    return 1 if r.violations else 0



if __name__ == "__main__":
    sys.exit(main())
