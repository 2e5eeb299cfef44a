"""``aekit tour``: every claim of the lecture measured, one page with computed verdicts."""

from __future__ import annotations

import argparse


def cmd_tour(args: argparse.Namespace) -> int:
    import sys

    from aekit.registry import get
    from aekit.tour.runner import claims, run_tour

    if args.list:
        for name in claims():
            print(f"{name:<16} {get('claim', name).title}")
        return 0
    scale = "" if args.data == "mnist5k" else f"-{args.data}"
    out = args.out or (f"tour-quick{scale}" if args.quick else f"docs/tour{scale}")
    if args.rewrite:
        from aekit.tour.runner import rewrite_tour

        tour = rewrite_tour(out, readme=args.readme)
        print(f"{tour.out / 'tour.html'} (rewritten from {tour.out / 'results.json'}; nothing measured)")
        return 0
    command = " ".join(["aekit tour", *(["--quick"] if args.quick else []), *(["--data", args.data] if scale else []),
                        *(["--only", ",".join(args.only)] if args.only
                        else []), *(["--seeds", *map(str, args.seeds)] if args.seeds else []),
                        f"--threads {args.threads}", *(["--readme", args.readme] if args.readme else [])])
    tour = run_tour(out, quick=args.quick, only=args.only, seeds=args.seeds, threads=args.threads,
                    readme=args.readme, command=command, log=lambda message: print(message, file=sys.stderr),
                    data=args.data)
    for section in tour.sections:
        print(f"{section.verdict:<14} {section.title} ({section.seconds:.0f} s)")
    print(f"{tour.out / 'tour.html'} ({tour.seconds:.0f} s)")
    return 1 if any(section.evidence is None for section in tour.sections) else 0
