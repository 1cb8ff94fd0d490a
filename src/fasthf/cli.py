"""`fasthf` on the command line.

    fasthf predict --bundle results/<slug>/bundle "a text"
    fasthf predict --bundle results/<slug>/bundle --file texts.txt   (or texts on stdin)
        (a multiple-choice bundle: each text is its question, then its options, separated by tabs)
    fasthf validate-submission results/<slug>/submission.csv --sample data/<slug>/<sample submission>
        [--competition data/<slug>/competition.json]   (default: beside the sample; the download step writes it)
    fasthf apply-package results/<slug>/package --test test.csv --sample sample_submission.csv --out submission.csv
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fasthf.config import PRECISION_SETTINGS


def predict_command(args) -> int:
    from fasthf.logs import quiet_progress_bars
    from fasthf.routes.bundle import Predictor

    quiet_progress_bars()
    if args.texts:
        texts = args.texts
    elif args.file and args.file != "-":
        if not Path(args.file).is_file():
            raise UsageError(f"--file {args.file}: file not found")
        texts = Path(args.file).read_text(encoding="utf-8-sig").splitlines()
    else:
        texts = [line.rstrip("\r\n") for line in sys.stdin]
    if not texts:
        raise UsageError("no texts to classify: give them as arguments, with --file, or one per line on stdin")
    predictor = Predictor(args.bundle, batch_size=args.batch_size, precision=args.precision)
    if predictor.task.per_token:
        return print_spans(predictor, texts, args.json)
    options = None
    if predictor.multiple_choice:  # competition.choices: "question<TAB>option<TAB>option..."
        fields = [text.split("\t") for text in texts]
        texts, options = [row[0] for row in fields], [row[1:] for row in fields]
    predictions = predictor.predict(texts, options)
    for text, p in zip(texts, predictions):
        if args.json:
            print(json.dumps({"text": text, "label": p.label, "index": p.index, "probs": p.probs}))
        elif len(texts) == 1:
            print(f"{p.label}\t{p.index}")
            for label, prob in zip(predictor.labels, p.probs):
                print(f"  {label:<18} {prob:.4f}")
        else:
            print("\t".join([p.label, str(p.index), *(f"{x:.4f}" for x in p.probs), text]))
    return 0


def print_spans(predictor, texts: list[str], as_json: bool) -> int:
    """A span bundle's answers: each span's type, characters and the text around it (`text<TAB>pair` where the
    bundle reads a pair beside each text)."""
    pair = predictor.info.get("pair")
    pairs = None
    if pair:
        fields = [text.split("\t", 1) for text in texts]
        if any(len(row) != 2 for row in fields):
            raise UsageError(f"this bundle finds spans asked for by a {pair}: give each text as 'text<TAB>{pair}'")
        texts, pairs = [row[0] for row in fields], [row[1] for row in fields]
    for k, (text, spans) in enumerate(zip(texts, predictor.spans(texts, pairs))):
        if as_json:
            print(json.dumps({"text": text, **({"pair": pairs[k]} if pairs else {}),
                              "spans": [{"type": s.type, "start": s.start, "end": s.end, "text": text[s.start:s.end]}
                                        for s in spans]}, ensure_ascii=False))
            continue
        print(f"{text}" + (f"\t({pair}: {pairs[k]})" if pairs else "") + f"\t{len(spans)} span(s)")
        for s in spans:
            before, after = text[max(0, s.start - 30):s.start], text[s.end:s.end + 30]
            print(f"  {s.type or 'span'}\t{s.start}-{s.end}\t...{before}[{text[s.start:s.end]}]{after}...")
    return 0


def validate_submission_command(args) -> int:
    from fasthf.inputs.competition import Competition
    from fasthf.outputs.submission import validate_submission_file

    if not Path(args.sample).is_file():
        raise UsageError(f"{args.sample}: file not found")
    described = Path(args.competition or Path(args.sample).parent / "competition.json")
    if not described.is_file():
        raise UsageError(f"{described}: file not found; the pipeline's download step writes it beside the "
                         f"competition files (or give --competition)")
    competition, task = Competition.load(described)
    problems = validate_submission_file(args.file, args.sample, competition, task)
    if problems:
        print(f"{args.file}: INVALID against {args.sample}")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(f"{args.file}: valid against {args.sample}")
    return 0


def apply_package_command(args) -> int:
    import logging

    from fasthf.routes.package import apply_package

    if not Path(args.test).exists():  # a file, or a folder of texts (Feedback Prize's test/)
        raise UsageError(f"{args.test}: file not found")
    if not Path(args.sample).is_file():
        raise UsageError(f"{args.sample}: file not found")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    submission = apply_package(args.package, args.test, args.sample, args.out, precision=args.precision)
    print(f"{args.out}: {len(submission)} rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fasthf", description="fasthf: Kaggle text competition tools")
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="label, index and probabilities of texts, from a bundle")
    predict.add_argument("texts", nargs="*", help="texts to classify; none: one per line from --file or stdin")
    predict.add_argument("--bundle", required=True, help="the folder the export rule wrote (results/<slug>/bundle)")
    predict.add_argument("--file", help="read texts from this file, one per line (- for stdin)")
    predict.add_argument("--batch-size", type=int, default=256)
    predict.add_argument("--json", action="store_true", help="one JSON object per text")
    predict.add_argument("--precision", choices=PRECISION_SETTINGS, default="auto",
                         help="auto (default): bf16 where the CPU or GPU runs it natively, else fp32; no: fp32")
    predict.set_defaults(run=predict_command)

    check = commands.add_parser("validate-submission",
                                help="check a submission CSV against the competition's sample submission")
    check.add_argument("file")
    check.add_argument("--sample", required=True, help="the competition's sample submission (in data/<slug>/)")
    check.add_argument("--competition", help="competition.json (default: beside the sample)")
    check.set_defaults(run=validate_submission_command)

    apply = commands.add_parser("apply-package", help="the submission for a test file, from an inference package")
    apply.add_argument("package", help="the folder the package rule wrote (results/<slug>/package)")
    apply.add_argument("--test", required=True, help="the test file (the public one, or any in its layout)")
    apply.add_argument("--sample", required=True, help="the sample submission: its columns and their order")
    apply.add_argument("--out", default="submission.csv", help="where to write the submission (default submission.csv)")
    apply.add_argument("--precision", choices=PRECISION_SETTINGS, default=None,
                       help="as the package says (the pipeline's mixed_precision) unless given")
    apply.set_defaults(run=apply_package_command)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, ValueError, OSError) as error:  # fasthf's own errors are ValueErrors naming the file
        print(f"fasthf {args.command}: error: {error}", file=sys.stderr)
        return 2


class UsageError(ValueError):
    pass


if __name__ == "__main__":
    sys.exit(main())
