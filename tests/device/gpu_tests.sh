#!/usr/bin/env bash
# The unit tests that touch a device, run on the GPU machine's own PyTorch (no Jupyter there).
export PYTHONPATH=$PWD/lib:$PWD PYTHONUNBUFFERED=1 N2T_PROGRESS=text
python3 -m pytest -q -p no:cacheprovider --confcutdir=tests tests/test_train.py tests/test_clock.py \
  tests/test_attention.py tests/test_transformer.py tests/test_rebuild.py tests/test_decoding.py \
  tests/test_lm.py tests/test_rnn.py tests/test_seq2seq.py tests/test_pretrain.py tests/test_classify.py \
  -k "not every_artefact" 2>&1 | tail -40
