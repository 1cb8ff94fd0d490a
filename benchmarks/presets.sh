#!/usr/bin/env bash
# Each preset on its committed fixture as a user runs it (its own model, MiniLM-L6), from empty folders:
# the whole run's wall time, peak memory, and the score out of fold on the fixture's held-out rows.
#   bash benchmarks/presets.sh [slug ...]      (default: the benchmarks' ten presets)
#   PRESET_CONFIG="duel_swap=true" bash benchmarks/presets.sh lmsys-chatbot-arena   (settings added to each run)
# Prints one line per preset: slug, seconds, peak MB, task, metric, score. Work folder: a temporary copy.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
slugs=("$@")
if [ ${#slugs[@]} -eq 0 ]; then
    slugs=(us-patent-phrase-to-phrase-matching google-quest-challenge kaggle-llm-science-exam lmsys-chatbot-arena
           quora-question-pairs random-acts-of-pizza detecting-insults-in-social-commentary
           jigsaw-unintended-bias-in-toxicity-classification learning-agency-lab-automated-essay-scoring-2
           wsdm-cup-multilingual-chatbot-arena)
fi
work=$(mktemp -d)
git -C "$repo" ls-files -co --exclude-standard | (cd "$repo" && tar cf - -T -) | tar xf - -C "$work"
cd "$work" || exit 1
export PYTHONPATH="$work/src"  # the copy's fasthf, whichever checkout the installed one points at
read -r -a extra <<< "${PRESET_CONFIG:-}"
for slug in "${slugs[@]}"; do
    results="results/$slug${PRESET_CONFIG:+-$(echo "$PRESET_CONFIG" | tr ' =' '_-')}"
    /usr/bin/time -f "%e %M" -o time.txt snakemake --cores 2 --configfile "config/competitions/$slug.yaml" \
        --config "archive=tests/fixtures/$slug.zip" "results_dir=$results" "${extra[@]}" > "$slug.log" 2>&1
    rc=$?
    read -r seconds kb < time.txt
    python - "$results" "$seconds" "$kb" "$rc" <<'PY'
import json, sys
from pathlib import Path
results, seconds, kb, rc = sys.argv[1:]
slug = Path(results).name
metrics = Path(results) / "ensemble" / "metrics.json"
m = json.loads(metrics.read_text()) if metrics.is_file() else {}
print(f"{slug}\t{float(seconds):.0f} s\t{int(kb) // 1024} MB\t{m.get('task')}\t{m.get('metric')}\t"
      f"{m.get('score', float('nan')):.4f}\trc={rc}", flush=True)
PY
done
echo "work folder: $work"
