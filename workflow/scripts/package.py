"""Snakemake entry point: the inference package (weights, blend, decision, memory, tokenizers, fasthf's wheel)."""
from fasthf.inputs.competition import Competition
from fasthf.io import folder_size, read_json
from fasthf.logs import job_log
from fasthf.routes.kernels import DATASET_METADATA, dataset_metadata, owner
from fasthf.outputs.output_forms import outputs_form
from fasthf.routes.package import build_package, measured_rate, runtime_verdict
from fasthf.training.time_plan import parse_duration

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    metrics = read_json(snakemake.input.metrics)
    chains = [{**chain, "model": model} for chain, model in zip(snakemake.params.chains, snakemake.input.models)]
    members = {name: {"tokenizer": tokenizer, **{key: read_json(summary).get(key, "row") for key in ("max_length", "encode")},
                      # how preprocess read the rows: long texts in windows, a duel's rows both ways
                      **{key: read_json(summary).get(key) for key in ("window_stride", "duel_swap")},
                      "read_alone": snakemake.params.read_alone}  # the rows read inside their group's text, alone too
               for name, tokenizer, summary in zip(snakemake.params.members, snakemake.input.tokenizers,
                                                    snakemake.input.tensors)}
    memory = outputs_form(task).remembered(competition, task, competition.read_train(snakemake.input.train)) \
        if snakemake.params.memory else None
    rate = measured_rate([read_json(path) for path in snakemake.input.timing])
    fits, verdict = runtime_verdict(rate, snakemake.params.hidden_test_rows, parse_duration(snakemake.params.runtime_limit))
    (print if fits is not False else lambda text: print(f"WARNING: {text}"))(verdict)
    info = build_package(snakemake.output[0], competition, task, chains, members, metrics["weights"],
                         metrics.get("decision"), memory,
                         {**snakemake.params.prediction, **rate, "hidden_test": verdict, "fits_runtime_limit": fits},
                         {DATASET_METADATA: dataset_metadata(competition.slug, owner(snakemake.params.username))})
    size = folder_size(snakemake.output[0])
    print(f"package {snakemake.output[0]}: {len(info['chains'])} chain(s), {size / 1e6:.1f} MB, fasthf {info['fasthf']}; "
          f"try it: fasthf apply-package {snakemake.output[0]} --test <test file> --sample <sample submission> "
          f"--out submission.csv")
