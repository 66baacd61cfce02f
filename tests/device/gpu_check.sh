#!/usr/bin/env bash
# The GPU check of a session that is lent one (not part of make test): the unit tests that touch a device, on
# CUDA, then four of the full profile's models trained on the GPU by their zoo recipes, with the one clock.
# The device machine's image has PyTorch, pytest and the library's few needs, but not Jupyter Book, so the
# chapters themselves are not run there. Usage: bash tests/device/gpu_check.sh [OUT folder]
set -uo pipefail
out=${1:-/tmp/gpu-check}
mkdir -p "$out"
export PYTHONPATH=$PWD/lib:$PWD PYTHONUNBUFFERED=1 N2T_PROGRESS=text N2T_CACHE=/tmp/n2t-gpu-cache GPU_OUT="$out"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
timeout 300 bash tests/device/gpu_tests.sh
N2T_PROFILE=full timeout 330 python3 - <<'PY' 2>&1 | grep -v "^\s*$" | tail -40
import json, os, time
from n2t import zoo
from n2t.clock import clock_label, clock_seconds
results = {}
for name in ("gpt-lm", "transformer-zh-en", "lstm-lm", "nnlm"):
    start = time.perf_counter()
    metrics = zoo.metrics(name)
    wall = time.perf_counter() - start
    keep = {k: metrics[k] for k in ("test_ppl", "valid_ppl", "bleu_beam4", "parameters", "tokens_seen") if k in metrics}
    results[name] = {**keep, "clock": metrics["clock"], "recipe_wall_seconds": round(wall, 1)}
    print(name, json.dumps(results[name]), clock_label(metrics["clock"]), f"{clock_seconds(metrics['clock']):.1f} s",
          flush=True)
    with open(os.path.join(os.environ.get("GPU_OUT", "/tmp"), "gpu_zoo.json"), "w") as f:
        json.dump(results, f, indent=1)
PY
