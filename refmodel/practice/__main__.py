"""python -m refmodel.practice TOPIC [-s SEED] [-n N] [-e ERA] [-c] | --list

OSTEP-style: every run echoes its settings first (ARG ...); the questions follow; -c adds
the answers, computed by running the model.  The same topic, seed and era give the same
questions every time.
"""

import argparse
import sys

from . import TOPICS, make_question


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m refmodel.practice",
        description="Practice questions about the swapless page-migration model, with the "
                    "model's answers (-c).",
        epilog="topics: " + ", ".join(TOPICS) + " (--list describes them)")
    ap.add_argument("topic", nargs="?", help="the kind of question (see --list)")
    ap.add_argument("-s", "--seed", type=int, default=0, help="the random seed (default 0)")
    ap.add_argument("-n", "--num", type=int, default=3, help="how many questions (default 3)")
    ap.add_argument("-e", "--era", default=None,
                    help="ask about one era only (default: each question picks one)")
    ap.add_argument("-c", "--compute", action="store_true", help="compute the answers for me")
    ap.add_argument("--list", action="store_true", help="name the topics, one line each")
    return ap


def main(argv=None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.list:
        for t in TOPICS.values():
            print(f"{t.name:<7} {t.description}  [eras: {', '.join(t.eras)}]")
        return 0
    if args.topic is None:
        ap.error("name a topic (or --list)")
    if args.topic not in TOPICS:
        ap.error(f"unknown topic {args.topic!r}; choose from {', '.join(TOPICS)}")
    if args.num < 1:
        ap.error("-n must be at least 1")
    eras = TOPICS[args.topic].eras
    if args.era is not None and args.era not in eras:
        ap.error(f"topic {args.topic!r} knows eras {', '.join(eras)}, not {args.era!r}")
    print(f"ARG topic {args.topic}")
    print(f"ARG seed {args.seed}")
    print(f"ARG num {args.num}")
    print(f"ARG era {args.era or 'random'}")
    print(f"ARG compute {args.compute}")
    print()
    for i in range(args.num):
        q = make_question(args.topic, args.seed, i, args.era)
        print(f"Question {i + 1} ({q.era}):")
        print(_indent(q.text()))
        if args.compute:
            print(f"\nAnswer {i + 1}: {q.summary}")
            if q.kind == "choice":
                print(f"  (choice {chr(ord('a') + q.answer)})")
            print(_indent(q.details))
        print()
        sys.stdout.flush()                         # one question at a time: progress
    if not args.compute:
        print("Work out the answers, then run again with -c to check them against the model.")
    return 0


def _indent(text: str) -> str:
    return "\n".join("  " + line if line else "" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
