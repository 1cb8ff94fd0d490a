"""`fasthf` on the command line.

    fasthf validate-submission results/roberta-base/submission.csv [--sample data/.../sampleSubmission.csv]
"""
from __future__ import annotations

import argparse
import sys

DEFAULT_SAMPLE = "data/sentiment-analysis-on-movie-reviews/sampleSubmission.csv"


def validate_submission_command(args) -> int:
    from .submission import validate_submission_file

    problems = validate_submission_file(args.file, args.sample)
    if problems:
        print(f"{args.file}: INVALID against {args.sample}")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{args.file}: valid against {args.sample}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fasthf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("validate-submission",
                                help="check a submission CSV against the competition's sampleSubmission.csv")
    check.add_argument("file")
    check.add_argument("--sample", default=DEFAULT_SAMPLE, help=f"sampleSubmission.csv (default {DEFAULT_SAMPLE})")
    check.set_defaults(run=validate_submission_command)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
