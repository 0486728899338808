#!/usr/bin/env bash
# Does the course install and pass its smoke suite on Colab's versions? Run by hand (needs PyPI):
#
#   bash tools/colab_check.sh            # resolve, install, run the smoke suite
#   bash tools/colab_check.sh resolve    # only check what pip would install (Colab's versions, and the newest)
#   bash tools/colab_check.sh install    # resolve and install, no tests
#   COLAB_TESTS="tests notebooks/10_applications_nlp_bert.ipynb" bash tools/colab_check.sh   # part of the suite
#
# It builds a Python 3.13 venv holding what Colab ships (TensorFlow 2.20, Keras 3.13, tfds 4.9.10),
# asks pip what installing tlcourse (non-editable; alone, with the hub extra, with dev+hub) would change while those
# stay fixed, fails if pip would replace any of them, then installs it and runs the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON313=${PYTHON313:-python3.13}
VENV=${COLAB_VENV:-build/colab313}
COLAB_PINS=("tensorflow==2.20.*" "keras==3.13.*" "tensorflow-datasets==4.9.10")

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON313" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "${COLAB_PINS[@]}"
fi
"$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 13), sys.version'
constraints="$VENV/colab-constraints.txt"
"$VENV/bin/pip" freeze | grep -iE '^(tensorflow|keras|tensorflow-datasets|tf-keras|protobuf|numpy)==' > "$constraints"
echo "Colab's versions, held fixed:"; sed 's/^/  /' "$constraints"

# What the notebooks' Colab install cell installs ("." or ".[hub]" for 10-12) and what the test suite needs.
for spec in . ".[hub]" ".[dev,hub]"; do
  report="$VENV/install-report.json"
  echo "pip install $spec, dry run:"
  "$VENV/bin/pip" install -q --dry-run --report "$report" -c "$constraints" "$spec"
  "$VENV/bin/python" - "$report" <<'PY'
import json, sys
installs = json.load(open(sys.argv[1]))["install"]
names = sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installs)
print(f"  would install {len(names)} packages:", ", ".join(names))
touched = [name for name in names if name.split("==")[0].lower() in
           {"tensorflow", "keras", "tensorflow-datasets", "tensorflow-cpu", "tf-keras", "numpy", "protobuf"}]
if touched:
    sys.exit(f"FAIL: installing tlcourse would replace Colab's {touched}")
import tensorflow as tf  # Colab's, held fixed
text = [name for name in names if name.lower().startswith("tensorflow-text==")]
tf_minor = ".".join(tf.__version__.split(".")[:2])
if text and not text[0].split("==")[1].startswith(tf_minor + "."):
    sys.exit(f"FAIL: {text[0]} does not match TensorFlow {tf.__version__}: KerasHub's tokenizers would break")
print("  OK: TensorFlow, Keras, tfds, NumPy and protobuf stay as Colab ships them"
      + (f"; {text[0]} matches TensorFlow {tf.__version__}." if text else "."))
PY
done
# The other end: nothing held fixed, what does pip pick today (the newest TensorFlow/Keras on the registry)?
# No upper bound may make the install impossible when Colab moves to them.
echo "pip install .[dev,hub], nothing held fixed (the newest releases), dry run:"
"$VENV/bin/pip" install -q --dry-run --ignore-installed --report "$VENV/newest-report.json" ".[dev,hub]"
"$VENV/bin/python" - "$VENV/newest-report.json" <<'PY'
import json, sys
picked = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in json.load(open(sys.argv[1]))["install"]}
shown = ", ".join(f"{name}=={picked[name]}" for name in ("tensorflow", "keras", "keras-hub", "tensorflow-text",
                                                          "tensorflow-datasets") if name in picked)
print("  resolves to", shown)
tf_minor, text = ".".join(picked["tensorflow"].split(".")[:2]), picked.get("tensorflow-text", "")
if text and not text.startswith(tf_minor + "."):
    sys.exit(f"FAIL: tensorflow-text {text} does not match TensorFlow {picked['tensorflow']}")
PY
[ "${1:-all}" = resolve ] && exit 0

"$VENV/bin/pip" install -q -c "$constraints" ".[dev,hub]"   # non-editable, as in Colab
"$VENV/bin/python" -c 'import tlcourse, pathlib; print("tlcourse from", pathlib.Path(tlcourse.__file__).parent)'
[ "${1:-all}" = install ] && exit 0   # resolve and install, no tests
TLCOURSE_PROFILE=smoke MPLBACKEND=Agg PYTHONHASHSEED=0 "$VENV/bin/pytest" -p no:cacheprovider ${COLAB_TESTS:-tests notebooks} \
  --nbval-lax --nbval-current-env --nbval-cell-timeout=600 --durations=10 -p no:randomly \
  -n auto --maxprocesses 4 --dist loadscope
