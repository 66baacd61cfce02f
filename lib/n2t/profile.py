"""Profiles: one object that tells every chapter how big its experiments are.

``N2T_PROFILE=quick`` (CI: tiny slices, seconds per chapter) or ``full`` (the default: the numbers the book
reports, minutes per chapter on a 2-core CPU). A chapter asks ``current().settings("section")`` and never
branches on the profile's name in its prose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

PROFILES = ("quick", "full")
DEFAULT_PROFILE = "full"

# One section per chapter (or experiment). Both profiles must name the same keys; a test checks it.
SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "text_as_data": {
        # wikitext_lines: how many lines of each WikiText-2 split to read (None: all of them).
        "quick": {"wikitext_lines": 3000, "coverage_points": 8, "batch_size": 4, "seq_len": 8},
        "full": {"wikitext_lines": None, "coverage_points": 24, "batch_size": 4, "seq_len": 8},
    },
    "ngram_models": {
        # train_lines / valid_lines: how many WikiText-2 lines to fit on and to tune weights on (None: all);
        # the vocabulary and the test split are always whole. max_order: the largest n in the results table.
        "quick": {"train_lines": 3000, "valid_lines": 1000, "max_order": 5, "k_grid": (1e-4, 1e-3, 1e-2, 0.1, 1.0)},
        "full": {"train_lines": None, "valid_lines": None, "max_order": 5, "k_grid": (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)},
    },
    "attention": {
        # dims: key widths d of the scaling experiments; samples: random (q, k) draws per width.
        # softmax_samples: queries (each against num_keys keys) for the saturation and gradient experiments.
        "quick": {"dims": [4, 16, 64, 256, 1024], "samples": 4000, "softmax_samples": 500, "num_keys": 10},
        "full": {
            "dims": [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], "samples": 20000, "softmax_samples": 2000,
            "num_keys": 10,
        },
    },
    "self_attention": {
        # toy_*: the reverse-and-shift task that the two heads learn; timing_*: the attention vs LSTM sweep.
        "quick": {
            "toy_seq_len": 9, "toy_steps": 250, "toy_batch": 128,
            "timing_lengths": [16, 128, 1024], "timing_repeats": 3, "timing_batch": 8, "timing_width": 128,
        },
        "full": {
            "toy_seq_len": 12, "toy_steps": 1000, "toy_batch": 128,
            "timing_lengths": [16, 32, 64, 128, 256, 512, 1024, 2048], "timing_repeats": 7,
            "timing_batch": 8, "timing_width": 128,
        },
    },
    "neural_lm": {
        # Chapter 3's NNLM (the zoo artefact "nnlm"): train_lines / valid_lines slice WikiText-2 (None: all);
        # the test split is always whole. train_tokens: how many tokens to train on; eval_every: tokens between
        # validation checkpoints. kn_order: the Kneser-Ney model it is compared and mixed with (same lines).
        # speed_steps: training steps timed per output layer (full vs adaptive softmax); toy_steps: the toy NNLM.
        "quick": {
            "train_lines": 2000, "valid_lines": 400, "train_tokens": 30_000, "batch_size": 32, "seq_len": 32,
            "context_size": 4, "embed_dim": 32, "hidden_dim": 64, "direct": False, "dropout": 0.1,
            "adaptive": True, "lr": 3e-3, "weight_decay": 0.01, "eval_every": 10_000, "seed": 0,
            "kn_order": 5, "speed_steps": 3, "toy_steps": 300,
        },
        "full": {
            "train_lines": None, "valid_lines": None, "train_tokens": 5_000_000, "batch_size": 64,
            "seq_len": 64, "context_size": 4, "embed_dim": 128, "hidden_dim": 256, "direct": False,
            "dropout": 0.2, "adaptive": True, "lr": 2e-3, "weight_decay": 0.01, "eval_every": 1_000_000,
            "seed": 0, "kn_order": 5, "speed_steps": 20, "toy_steps": 300,
        },
    },
    "word2vec": {
        # train_lines: WikiText-2 training lines to learn from (None: all); subsample_t: word2vec.c's threshold t;
        # lr falls linearly to min_lr over the run; batch_size: examples per update (skip-gram: pairs, CBOW:
        # centre words); use_compile: the training step through torch.compile (a C++ compiler needed, else it warns
        # and trains uncompiled; compiling costs seconds, too many for the quick profile's small runs);
        # fractions: the data-size curve (shares of train_lines);
        # subsample_grid: thresholds t compared on the same data. Chapter 4 and the zoo's word vectors.
        "quick": {
            "train_lines": 2000, "min_count": 5, "dim": 50, "window": 5, "negatives": 5, "subsample_t": 1e-3,
            "epochs": 1, "lr": 0.025, "min_lr": 1e-4, "batch_size": 1024, "use_compile": False, "seed": 0,
            "fractions": (0.5, 1.0),
            "subsample_grid": (1e-5, 1e-3),
        },
        "full": {
            "train_lines": None, "min_count": 5, "dim": 100, "window": 5, "negatives": 5, "subsample_t": 1e-3,
            "epochs": 5, "lr": 0.025, "min_lr": 1e-4, "batch_size": 1024, "use_compile": True, "seed": 0,
            "fractions": (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0),
            "subsample_grid": (1e-5, 1e-4, 1e-3),
        },
    },
    "seq2seq": {
        # Both translation models of Chapter 7; attention: the scorer of the attention model ("additive"/"dot").
        # train_pairs / valid_pairs / test_pairs: how many pairs of the fixed splits to train on, to validate on
        # after every epoch and to score (None: all).
        # min_freq: rarer tokens become <unk>; beam_sizes: the widths whose test translations are stored.
        "quick": {
            "train_pairs": 1500, "valid_pairs": 100, "test_pairs": 100, "min_freq": 1, "embed_dim": 48,
            "hidden_dim": 64,
            "dropout": 0.1, "epochs": 4, "batch_size": 32, "lr": 3e-3, "seed": 0, "attention": "additive",
            "beam_sizes": (1, 2, 4, 8),
        },
        "full": {
            "train_pairs": None, "valid_pairs": None, "test_pairs": None, "min_freq": 2, "embed_dim": 128,
            "hidden_dim": 192,
            "dropout": 0.2, "epochs": 7, "batch_size": 64, "lr": 2e-3, "seed": 0, "attention": "additive",
            "beam_sizes": (1, 2, 4, 8),
        },
    },
    "transfer": {
        # Chapter 5's downstream tasks and learning curve (Chapters 6 and 11 reuse it). sizes: labelled training
        # examples per point (None: the whole training split); seeds: one subset and one initialisation each.
        # A run takes ceil(epochs · size / batch_size) steps, clamped to [min_steps, max_steps]; lr trains the
        # head, encoder_lr the encoder (when it is not frozen). max_len: longer texts are cut; bow_c: the inverse
        # L2 strength of the bag-of-words logistic regression (for two classes scikit-learn's C = 2 · bow_c).
        "quick": {
            "tasks": ("sms-spam", "subj"), "sizes": (32, 256, None), "seeds": (0,), "hidden": 64,
            "dropout": 0.1, "batch_size": 32, "epochs": 10, "min_steps": 30, "max_steps": 60, "lr": 3e-3,
            "encoder_lr": 1e-3, "max_len": 64, "bow_c": 1.0,
        },
        "full": {
            "tasks": ("sms-spam", "subj"), "sizes": (32, 64, 128, 256, 512, 1024, None), "seeds": (0, 1, 2),
            "hidden": 64, "dropout": 0.1, "batch_size": 32, "epochs": 10, "min_steps": 100, "max_steps": 600,
            "lr": 3e-3, "encoder_lr": 1e-3, "max_len": 64, "bow_c": 1.0,
        },
    },
    "transformer": {
        # Chapter 10's translation Transformer (zoo "transformer-zh-en") on Chapter 7's split: train_pairs /
        # valid_pairs / test_pairs as there (None: all); lr multiplies the paper's warm-up/inverse-sqrt schedule (warmup steps).
        # The chapter's small experiments on the look-back task (output the token `back` positions earlier):
        # pe_* learned vs sinusoidal positions, trained on length pe_train_len and tested on pe_test_lens;
        # ln_* post-LN vs pre-LN, with and without ln_warmup steps of warm-up, on a deep stack;
        # cache_lengths: output lengths of the KV-cache timing.
        "quick": {
            "train_pairs": 1500, "valid_pairs": 100, "test_pairs": 100, "min_freq": 1, "d_model": 64,
            "num_heads": 4,
            "num_encoder_layers": 2, "num_decoder_layers": 2, "d_ff": 128, "dropout": 0.1, "norm_first": False,
            "epochs": 3, "batch_size": 32, "lr": 1.0, "warmup": 100, "label_smoothing": 0.1, "seed": 0,
            "beam_sizes": (1, 4), "back": 2, "toy_vocab": 16, "toy_batch": 32,
            "pe_train_len": 12, "pe_test_lens": (8, 12, 16, 24), "pe_steps": 150, "pe_d_model": 32,
            "ln_layers": 6, "ln_steps": 40, "ln_d_model": 32, "ln_lr": 2e-3, "ln_warmup": 20,
            "cache_lengths": (8, 16, 32),
        },
        "full": {
            "train_pairs": None, "valid_pairs": None, "test_pairs": None, "min_freq": 2, "d_model": 128,
            "num_heads": 4,
            "num_encoder_layers": 2, "num_decoder_layers": 2, "d_ff": 512, "dropout": 0.1, "norm_first": False,
            "epochs": 5, "batch_size": 64, "lr": 0.5, "warmup": 400, "label_smoothing": 0.1, "seed": 0,
            "beam_sizes": (1, 4), "back": 2, "toy_vocab": 16, "toy_batch": 32,
            "pe_train_len": 16, "pe_test_lens": (8, 12, 16, 20, 24, 32, 48), "pe_steps": 800, "pe_d_model": 64,
            "ln_layers": 12, "ln_steps": 200, "ln_d_model": 64, "ln_lr": 2e-3, "ln_warmup": 100,
            "cache_lengths": (16, 32, 64, 128, 256),
        },
    },
    "pretraining": {
        # Chapter 11: GPT ("gpt-lm"), BERT ("bert-mlm") and T5 ("t5-span") share one width, depth, block length
        # and budget: train_tokens of WikiText-2 (train_lines / valid_lines: None = all; the test split is always
        # whole), read in blocks of block_size tokens. eval_every: tokens between validation checkpoints.
        # mask_rate: BERT's share of chosen tokens; noise_density / mean_span: T5's span corruption.
        # kn_order: the Kneser-Ney model GPT is compared with; bpe_merges: the small BPE's merges;
        # sample_tokens: the length of GPT's samples. curve_tasks: Chapter 5's tasks on whose learning curve (section
        # "transfer": sizes, steps; its first curve_seeds seeds) BERT ("bert-curves") and T5 ("t5-curves") are
        # fine-tuned, at the learning rates bert_lr (the encoder; the head keeps the section's lr) and t2t_lr
        # (all of T5).
        "quick": {
            "train_lines": 2000, "valid_lines": 300, "d_model": 32, "num_heads": 2, "num_layers": 2, "d_ff": 64,
            "block_size": 32, "dropout": 0.1, "train_tokens": 20_000, "batch_size": 16, "lr": 3e-3,
            "eval_every": 10_000, "seed": 0, "mask_rate": 0.15, "noise_density": 0.15, "mean_span": 3.0,
            "kn_order": 5, "bpe_merges": 300, "sample_tokens": 20, "curve_tasks": ("sms-spam",),
            "curve_seeds": 1, "bert_lr": 1e-3, "t2t_lr": 1e-3,
        },
        "full": {
            "train_lines": None, "valid_lines": None, "d_model": 128, "num_heads": 4, "num_layers": 2,
            "d_ff": 512, "block_size": 128, "dropout": 0.1, "train_tokens": 1_000_000, "batch_size": 16,
            "lr": 2e-3, "eval_every": 500_000, "seed": 0, "mask_rate": 0.15, "noise_density": 0.15,
            "mean_span": 3.0, "kn_order": 5, "bpe_merges": 2000, "sample_tokens": 40, "curve_tasks": ("sms-spam",),
            "curve_seeds": 1, "bert_lr": 1e-3, "t2t_lr": 1e-3,
        },
    },
    "recurrent": {
        # Chapter 6. train_lines / valid_lines slice WikiText-2 (None: all; the test split is always whole).
        # lm_tokens: training tokens of the LSTM LM ("lstm-lm"); bilm_tokens: of each direction of the biLM
        # ("bilm"); eval_every: tokens between validation checkpoints; kn_order: the Kneser-Ney model mixed in.
        # grad_length / grad_width / grad_seeds: the gradient-vs-distance experiment; sense_*: the two-sense
        # word study (contexts per sense); leak_steps: steps of the joint biLSTM that sees its target; bench_*:
        # the timing of our LSTM layer against nn.LSTM; elmo_lr: how fast ELMo's s and gamma learn on Chapter 5's
        # task (the classifier's head uses the "transfer" section's lr).
        "quick": {
            "train_lines": 2000, "valid_lines": 400, "lm_tokens": 30_000, "bilm_tokens": 30_000,
            "batch_size": 32, "seq_len": 32, "hidden_dim": 64, "num_layers": 1, "dropout": 0.1,
            "bilm_dim": 32, "bilm_layers": 2, "bilm_dropout": 0.1, "lr": 3e-3, "eval_every": 15_000,
            "seed": 0, "kn_order": 5, "grad_length": 40, "grad_width": 64, "grad_seeds": 2,
            "sense_contexts": 30, "leak_steps": 40, "bench_batch": 8, "bench_len": 16, "bench_width": 64,
            "bench_repeats": 2, "elmo_lr": 1e-2,
        },
        "full": {
            "train_lines": None, "valid_lines": None, "lm_tokens": 2_000_000, "bilm_tokens": 1_600_000,
            "batch_size": 32, "seq_len": 64, "hidden_dim": 256, "num_layers": 1, "dropout": 0.2,
            "bilm_dim": 128, "bilm_layers": 2, "bilm_dropout": 0.1, "lr": 3e-3, "eval_every": 600_000,
            "seed": 0, "kn_order": 5, "grad_length": 100, "grad_width": 128, "grad_seeds": 8,
            "sense_contexts": 60, "leak_steps": 300, "bench_batch": 32, "bench_len": 64, "bench_width": 256,
            "bench_repeats": 5, "elmo_lr": 1e-2,
        },
    },
}


class Settings(Mapping[str, Any]):
    """Read-only settings of one section: ``cfg.batch_size`` or ``cfg["batch_size"]``."""

    def __init__(self, section: str, profile: str, values: Mapping[str, Any]) -> None:
        self._section, self._profile, self._values = section, profile, dict(values)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"section {self._section!r} of profile {self._profile!r} has no setting {key!r}; "
                f"it has {sorted(self._values)}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Settings({self._section!r}, profile={self._profile!r}, {self._values!r})"


@dataclass(frozen=True)
class Profile:
    """A named profile (``quick`` or ``full``) and the settings of every section in it."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILES))}; got {self.name!r}")

    def settings(self, section: str) -> Settings:
        """The settings of ``section`` in this profile."""
        if section not in SETTINGS:
            raise KeyError(f"no profile section {section!r}; known sections: {sorted(SETTINGS)}")
        return Settings(section, self.name, SETTINGS[section][self.name])


def current() -> Profile:
    """The profile named by ``N2T_PROFILE`` (default ``full``); an unknown name is a clear error."""
    name = os.environ.get("N2T_PROFILE", DEFAULT_PROFILE).strip() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(f"N2T_PROFILE must be one of {', '.join(map(repr, PROFILES))}; got {name!r}")
    return Profile(name)
