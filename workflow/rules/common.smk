import re

from fasthf.kaggle import MISSING_CREDENTIALS, credentials_available


def model_slug(name):
    """results/<slug> for a model name: `roberta-base`, `org/model` -> `org--model`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "--", name.removeprefix("pkg:")).strip("-.") or "model"


DATA = config["data_dir"]
RESULTS = config["results_dir"] or f"results/{model_slug(config['model'])}"
LOGS = f"{RESULTS}/logs"
N_STAGES = len(config["stages"])
LAST_STAGE = f"{RESULTS}/stages/{N_STAGES}"
LR_FIND = config["lr_find"] or any(stage["lr_max"] == "auto" for stage in config["stages"])

# Heavy jobs' scheduler resources (config `resources`; a profile's set-resources overrides them):
# threads, and the rest (mem_mb, runtime, gpu) as Snakemake resources.
TRAIN_THREADS, INFER_THREADS = (config["resources"][kind]["threads"] for kind in ("train", "infer"))
TRAIN_RESOURCES, INFER_RESOURCES = (
    {key: value for key, value in config["resources"][kind].items() if key != "threads"}
    for kind in ("train", "infer")
)

TRAIN_SETTINGS = {
    key: config[key]
    for key in ("batch_size", "eval_batch_size", "weight_decay", "seed", "mixed_precision")
}


def checkpoint_before(wildcards):
    """Stage 1 starts from the pretrained model, stage k from stage k-1's checkpoint."""
    stage = int(wildcards.stage)
    return f"{RESULTS}/pretrained" if stage == 1 else f"{RESULTS}/stages/{stage - 1}/model"


def stage_config(wildcards):
    return config["stages"][int(wildcards.stage) - 1]


def lr_find_result(wildcards):
    """lr_find's suggestion, for a stage that asks for `lr_max: auto`."""
    return f"{RESULTS}/lr_find/lr_find.json" if stage_config(wildcards)["lr_max"] == "auto" else []


def final_outputs():
    outputs = [
        f"{RESULTS}/submission.csv",
        f"{RESULTS}/stages.csv",
        f"{RESULTS}/evaluation/metrics.json",
        f"{RESULTS}/bundle",
    ]
    if LR_FIND:
        outputs.append(f"{RESULTS}/lr_find/lr_find.json")
    if config["submit"]:
        outputs.append(f"{RESULTS}/submission_receipt.json")
    return outputs


onstart:
    # Hours of training must not end in a failed upload: no credentials, no start.
    if config["submit"] and not credentials_available():
        raise WorkflowError(MISSING_CREDENTIALS)
