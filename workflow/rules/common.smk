import re
from dataclasses import asdict, fields
from types import SimpleNamespace

from fasthf.config import ensemble_members
from fasthf.encoding.shared_checks import check_read_alone, check_shared_encoding
from fasthf.inputs.archive import COMPETITION_JSON
from fasthf.inputs.competition import Competition
from fasthf.routes.kaggle import MISSING_CREDENTIALS, credentials_available
from fasthf.routes.kernels import MISSING_OWNER, owner as kernel_owner
from fasthf.training.recipe import TrainSettings
from fasthf.io import read_json
from fasthf.training.time_plan import parse_duration, planned_seeds, start_session

# The competition as data: files, columns, task, metric, submission form (config `competition`).
# A slug alone names a preset: config/competitions/<slug>.yaml.
COMPETITION = Competition.from_config(config["competition"], presets=f"{workflow.basedir}/config/competitions")
if config["encode"] == "group":  # one encoding per group: needs a group column, one text, a task that reads spans
    check_shared_encoding(COMPETITION)

# The ensemble: members x seeds x folds, each (member, seed, fold) one chain of stage jobs.
# Without `members` in the config it is one member (`model`, `stages`, `seed`): an ensemble of one.
# A chain's split is `fold<k>` (fold k held out) or, with `refit`, `refit` (every row trains; its test
# outputs replace the folds' mean, while the folds keep the out-of-fold figure and the blend weights).
# With `time_limit`, the plan (workflow/rules/plan.smk) sets the folds, the seeds and the last stage's epochs.
MEMBERS = {member["name"]: member for member in ensemble_members(config)}
TIME_LIMIT = parse_duration(config["time_limit"])
# read_alone: held-out and test rows read alone too (predict.smk), the two readings averaged; with time_limit an
# allocation of the plan may buy it. The lone readings' tensors are made wherever it may be read.
MAY_READ_ALONE = config["read_alone"] or bool(TIME_LIMIT and any(allocation.get("read_alone")
                                                                  for allocation in config["time_plan"]["allocations"]))
check_read_alone(config["encode"], MAY_READ_ALONE)


def run_shape():
    """(folds, {member: seeds}, the last stage's epochs or None): the config's, or with `time_limit` the plan's.
    `plan` is a Snakemake checkpoint: an input function asking before it has run makes Snakemake run it (and the
    download, tokenizing and rates it needs), then expand the rest of the DAG from it."""
    if TIME_LIMIT is None:
        return config["folds"], {name: member["seeds"] for name, member in MEMBERS.items()}, None
    chosen = read_json(checkpoints.plan.get().output.plan)["chosen"]
    seeds = {name: planned_seeds(member["seeds"], chosen["seeds"]) for name, member in MEMBERS.items()}
    return chosen["folds"], seeds, chosen["epochs"]


def reads_alone():
    """Whether the held-out and test rows are read alone too: the config's read_alone, or the plan's choice."""
    if TIME_LIMIT is None or config["read_alone"]:
        return config["read_alone"]
    return bool(read_json(checkpoints.plan.get().output.plan)["chosen"].get("read_alone"))


def chains():
    folds, seeds, _ = run_shape()
    return [(name, seed, f"fold{fold}") for name in MEMBERS for seed in seeds[name] for fold in range(folds)]


def refits():
    return [(name, seed, "refit") for name, seeds in run_shape()[1].items() for seed in seeds] if config["refit"] else []


def predicting():
    """The chains that predict the test rows: the refits where there are, else the folds (never both: a fold's
    test outputs would be computed only to be replaced by its refit's)."""
    return refits() or chains()

# Members that fine-tune the same model share one copy of it and one set of tensors: both depend on the
# model alone (the head's seed and max_length are the config's), so the first such member builds them.
BUILDS_FOR = {name: next(first for first, other in MEMBERS.items() if other["model"] == member["model"])
              for name, member in MEMBERS.items()}

# Each competition in its own folders unless the config names others: two competitions never share them.
DATA = config["data_dir"] or f"data/{COMPETITION.slug}"
RESULTS = config["results_dir"] or f"results/{COMPETITION.slug}"
LOGS = f"{RESULTS}/logs"
LEDGER = f"{RESULTS}/kaggle_submissions.jsonl"  # what happened on Kaggle: outside Snakemake's outputs, never lost
MEMBER = f"{RESULTS}/{{member}}"
PLAN = f"{RESULTS}/plan.json"    # with time_limit: what the time buys (workflow/rules/plan.smk)
CLOCK = f"{RESULTS}/clock.json"  # with time_limit: the time spent on the run, session by session
AFTER_PLAN = [PLAN] if TIME_LIMIT else []  # an input of every rule whose params read the plan
CHAIN = f"{RESULTS}/{{member}}/seed{{seed}}/{{split}}"
CHAIN_LOGS = f"{LOGS}/{{member}}/seed{{seed}}/{{split}}"
ENSEMBLE = f"{RESULTS}/ensemble"


def data_file(key):
    """A competition file in DATA; a name ending in / is a folder of texts (Feedback Prize's train/)."""
    name = COMPETITION.files[key]
    return directory(f"{DATA}/{name.rstrip('/')}") if name.endswith("/") else f"{DATA}/{name}"


wildcard_constraints:
    member="|".join(map(re.escape, MEMBERS)),
    seed=r"\d+",
    split=r"fold\d+|refit",
    stage=r"\d+",


# Heavy jobs' scheduler resources (config `resources`; a profile's set-resources overrides them):
# threads, and the rest (mem_mb, runtime, gpu) as Snakemake resources.
TRAIN_THREADS, INFER_THREADS = (config["resources"][kind]["threads"] for kind in ("train", "infer"))
TRAIN_RESOURCES, INFER_RESOURCES = (
    {key: value for key, value in config["resources"][kind].items() if key != "threads"}
    for kind in ("train", "infer")
)


def train_settings(wildcards):
    """TrainSettings for a chain: the config's, seeded with the chain's seed (or the member's first)."""
    seed = int(wildcards.seed) if hasattr(wildcards, "seed") else MEMBERS[wildcards.member]["seeds"][0]
    return {**{field.name: config[field.name] for field in fields(TrainSettings)}, "seed": seed}


def chain_dir(wildcards):
    return f"{RESULTS}/{wildcards.member}/seed{wildcards.seed}/{wildcards.split}"


def stages_of(wildcards):
    return MEMBERS[wildcards.member]["stages"]


def stage_config(wildcards):
    return stages_of(wildcards)[int(wildcards.stage) - 1]


def planned_stage(wildcards, input):
    """The stage as the config states it, with `time_limit` its last stage's epochs as the plan chose."""
    stage, epochs = dict(stage_config(wildcards)), run_shape()[2]
    if epochs is not None and int(wildcards.stage) == len(stages_of(wildcards)):
        stage["epochs"] = epochs
    return stage


def last_stage(wildcards, name="model"):
    """`name` in the chain's last stage folder: its checkpoint (what predict and export read) by default."""
    return f"{chain_dir(wildcards)}/stages/{len(stages_of(wildcards))}/{name}"


def each_last_stage(name, chains):
    """`name` in the last stage folder of every one of `chains`."""
    return [last_stage(SimpleNamespace(member=member, seed=seed, split=split), name) for member, seed, split in chains]


# What the bundle exports (an ensemble of one has one chain; with refit, the refit predicts test): the first
# member's first seed, fold 0 or its refit, whatever a plan chooses.
FIRST_CHAIN = (next(iter(MEMBERS)), next(iter(MEMBERS.values()))["seeds"][0], "refit" if config["refit"] else "fold0")
FIRST_CHAIN_MODEL = each_last_stage("model", [FIRST_CHAIN])[0]


def of_members_model(name):
    """Input function: `name` (pretrained, tensors/...) in the folder of the member that builds this member's model."""
    return lambda wildcards: f"{RESULTS}/{BUILDS_FOR[wildcards.member]}/{name}"


def checkpoint_before(wildcards):
    """Stage 1 starts from the member's pretrained model, stage k from stage k-1's checkpoint."""
    stage = int(wildcards.stage)
    return of_members_model("pretrained")(wildcards) if stage == 1 else f"{chain_dir(wildcards)}/stages/{stage - 1}/model"


def needs_lr_find(name):
    return config["lr_find"] or any(stage["lr_max"] == "auto" for stage in MEMBERS[name]["stages"])


def lr_find_result(wildcards):
    """lr_find's suggestion (one per member), for a stage that asks for `lr_max: auto`."""
    return f"{RESULTS}/{wildcards.member}/lr_find/lr_find.json" if stage_config(wildcards)["lr_max"] == "auto" else []


def each_chain(pattern, chains):
    """`pattern` (with {member}, {seed}, {split}) for every one of `chains`."""
    return [pattern.format(member=member, seed=seed, split=split) for member, seed, split in chains]


def held_out_outputs(name="held_out"):
    """Each held-out chain's outputs for its held-out rows (or, name "timing", the time read_alone's reading
    took): its last stage's validation pass, or with read_alone the mean of the two readings."""
    if not reads_alone():
        return each_last_stage("valid_outputs.csv", chains()) if name == "held_out" else []
    return each_chain(getattr(rules.held_out.output, name), chains())


def chain_params(chains):
    """`chains` as the scripts take them: member, model, seed, split."""
    return [{"member": member, "model": MEMBERS[member]["model"], "seed": seed, "split": split}
            for member, seed, split in chains]


def each_chain_stage(name):
    """`name` in every stage folder of every chain the run trains (with time_limit, the plan's)."""
    return [f"{chain_dir(SimpleNamespace(member=member, seed=seed, split=split))}/stages/{i}/{name}"
            for member, seed, split in [*chains(), *refits()] for i in range(1, len(MEMBERS[member]["stages"]) + 1)]


def chain_stage_metrics(wildcards):
    return [f"{chain_dir(wildcards)}/stages/{i}/metrics.json" for i in range(1, len(stages_of(wildcards)) + 1)]


def describe_ensemble():
    """How submit messages name the method: the model, or the ensemble's shape (with time_limit, its plan's)."""
    refit = ", refit" if config["refit"] else ""
    if TIME_LIMIT:
        return f"{', '.join(member['model'] for member in MEMBERS.values())}, planned for {config['time_limit']}{refit}"
    folds, seeds = config["folds"], sum(len(member["seeds"]) for member in MEMBERS.values())
    if len(MEMBERS) == 1 and seeds == 1:
        return f"{next(iter(MEMBERS.values()))['model']}{f' x {folds} folds' if folds > 1 else ''}{refit}"
    return f"ensemble of {', '.join(MEMBERS)} ({seeds} seed(s), {folds} fold(s){refit})"


def final_outputs(wildcards=None):
    """What a whole run makes (rule all's input; with time_limit, after the plan)."""
    outputs = [f"{RESULTS}/submission.csv", f"{RESULTS}/summary.csv", f"{ENSEMBLE}/members.csv",
               *each_chain(f"{CHAIN}/stages.csv", [*chains(), *refits()])]
    outputs += [f"{RESULTS}/{name}/lr_find/lr_find.json" for name in MEMBERS if needs_lr_find(name)]
    if len(chains()) == 1:  # the inference bundle holds one model
        outputs.append(f"{RESULTS}/bundle")
    if COMPETITION.route == "notebook":  # what Kaggle runs: the package and the kernel folder
        outputs += [f"{RESULTS}/package", f"{RESULTS}/kernel"]
    if config["submit"]:
        outputs.append(f"{RESULTS}/submission_receipt.json")
    return outputs


onstart:
    if TIME_LIMIT:  # the clock runs while Snakemake does: a resumed run counts what it spent before
        start_session(CLOCK, RESULTS)
    # Hours of training must not end in a failed upload: no credentials (or, for a notebook, no owner), no start.
    if config["submit"] and not credentials_available():
        raise WorkflowError(MISSING_CREDENTIALS)
    if config["submit"] and COMPETITION.route == "notebook" and not kernel_owner(config["notebook"]["username"]):
        raise WorkflowError(MISSING_OWNER)
