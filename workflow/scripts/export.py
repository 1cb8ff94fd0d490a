"""Snakemake entry point: the inference bundle (weights in safetensors, tokenizer, the task and its labels)."""
from fasthf.inputs.competition import Competition
from fasthf.io import read_json
from fasthf.logs import job_log
from fasthf.routes.bundle import export_bundle

with job_log(snakemake.log[0]):
    competition, task = Competition.load(snakemake.input.competition)
    info = {**snakemake.params.info, "max_length": read_json(snakemake.input.tensors)["max_length"],
            "window_stride": read_json(snakemake.input.tensors).get("window_stride"),
            "competition": competition.slug, "task": task.describe(),
            "choices": list(competition.choices),  # multiple choice: a text's options, in this order (fasthf.encoding.choices)
            "pair": competition.text_pair}  # what a span is asked for, read beside each text
    export_bundle(snakemake.input.model, snakemake.input.pretrained, snakemake.output[0], info)
    print(f"bundle written to {snakemake.output[0]}; try: fasthf predict --bundle {snakemake.output[0]} \"a text\"")
