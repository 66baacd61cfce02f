"""T5 as text to text (Chapter 11): every task is writing the answer, a label word or a translation.

- Chapter 5's tasks: the pretrained T5 (:mod:`n2t.pretrain`) fine-tuned to write the label word of a text
  (:func:`text_to_text_curve`, on the learning curve of :mod:`n2t.transfer`; the zoo artefact ``"t5-curves"``).
- Chapter 7's translation: :class:`T5Translator` reads a task prefix and the Chinese characters and writes
  English in WikiText-2's words, with the ``translate`` of every translator (:mod:`n2t.translation`); the zoo
  artefacts ``"t5-zh-en"`` (pretrained) and ``"t5-scratch-zh-en"`` (the same T5 from random weights).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from n2t import data, decoding, profile, transfer, zoo
from n2t.classify import encode_texts, pad_ids
from n2t.clock import Clock
from n2t.metrics import macro_f1
from n2t.objectives import MASK, extend_vocab, sentinel_ids
from n2t.pretrain import (
    T5,
    _config,
    build_t5,
    curve_artefact,
    load,
    model_config,
    model_vocab,
    transfer_settings,
)
from n2t.profile import Settings
from n2t.progress import progress
from n2t.text import PairBatch, Vocab, chinese_tokenize, lengths_to_mask, wikitext_tokenize
from n2t.train import adamw, device, model_device, optimizer_step, seed_everything
from n2t.translation import Translator, detokenize, train_translator

# ------------------------------------------------------------------------------- Chapter 5's tasks

T5_VARIANT = "T5 text-to-text"


def label_word_ids(task: data.TextTask, vocab: Vocab) -> list[int]:
    """The vocabulary id of each label word of ``task`` (T5 writes the label as a word)."""
    missing = [label for label in task.labels if label not in vocab.stoi]
    if missing:
        raise ValueError(f"label words {missing} are not in the vocabulary; add them to LABEL_WORDS")
    return [vocab[label] for label in task.labels]


@torch.no_grad()
def generate_labels(model: T5, ids: torch.Tensor, mask: torch.Tensor, max_len: int = 2) -> list[list[int]]:
    """Greedy text-to-text outputs (token ids without ``<eos>``) for padded inputs ``(batch, S)``."""
    model.eval()
    dev = model_device(model)
    state = model.start(ids.to(dev), mask.to(dev))
    return decoding.greedy(model.step, state, model.vocab.pad_id, model.vocab.eos_id, max_len)


def text_to_text_scores(outputs: list[list[int]], label_ids: list[int], targets: torch.Tensor) -> dict[str, float]:
    """Macro-F1 and accuracy of generated outputs: an output that is not exactly one label word is wrong."""
    invalid = len(label_ids)  # a class of its own that is never a target: it scores F1 = 0
    predictions = torch.tensor([label_ids.index(o[0]) if len(o) == 1 and o[0] in label_ids else invalid
                                for o in outputs])
    with_invalid = macro_f1(predictions, targets, invalid + 1)
    return {"macro_f1": with_invalid * (invalid + 1) / invalid,  # the mean over the real classes only
            "accuracy": float((predictions == targets).double().mean()),
            "invalid": int((predictions == invalid).sum())}


def fine_tune_text_to_text(
    model: T5, task: data.TextTask, index: torch.Tensor, steps: int, batch_size: int, lr: float, seed: int,
    max_len: int,
) -> None:
    """Fine-tune all of ``model`` to write the label word of ``task.train[index]`` then ``<eos>``."""
    vocab, dev = model.vocab, device()
    model.to(dev).train()
    labels = label_word_ids(task, vocab)
    examples = [task.train[i] for i in index.tolist()]
    encoded = encode_texts([e.text for e in examples], vocab, wikitext_tokenize, max_len)
    targets = torch.tensor([[labels[task.labels.index(e.label)], vocab.eos_id] for e in examples])
    optimizer = adamw(model, lr, 0.01)
    generator = torch.Generator().manual_seed(seed)
    order, batch_size = torch.randperm(len(examples), generator=generator), min(batch_size, len(examples))
    for step in range(1, steps + 1):
        if len(order) < batch_size:
            order = torch.cat([order, torch.randperm(len(examples), generator=generator)])
        batch, order = order[:batch_size].tolist(), order[batch_size:]
        ids, mask = pad_ids([encoded[i] for i in batch], vocab.pad_id)
        tgt = targets[batch].to(dev)
        loss = model.loss(ids.to(dev), mask.to(dev), tgt, torch.ones_like(tgt, dtype=torch.bool))
        optimizer_step(loss, model, optimizer, step, 1.0)


def text_to_text_curve(t5: T5, task: data.TextTask, settings: Settings, lr: float) -> list[dict[str, Any]]:
    """T5 fine-tuned to generate the label word, on the learning curve of ``settings`` (section "transfer")."""
    train_labels = task.label_ids(task.train)
    test = encode_texts([e.text for e in task.test], t5.vocab, wikitext_tokenize, settings.max_len)
    test_ids, test_mask = pad_ids(test, t5.vocab.pad_id)
    test_labels = task.label_ids(task.test)
    records = []
    runs = progress(total=len(settings.seeds) * len(settings.sizes), desc=f"{task.name}: {T5_VARIANT}")
    for seed in settings.seeds:
        for size in settings.sizes:
            index = transfer.labelled_subset(train_labels, size, seed)
            steps = transfer.steps_for(len(index), settings)
            seed_everything(seed)
            model = copy.deepcopy(t5)
            clock = Clock("steps", device())
            with clock.running():
                fine_tune_text_to_text(model, task, index, steps, settings.batch_size, lr, seed, settings.max_len)
            clock.seen = steps
            outputs = []
            for start in range(0, len(test), 256):
                rows = slice(start, start + 256)
                outputs += generate_labels(model, test_ids[rows], test_mask[rows])
            result = text_to_text_scores(outputs, label_word_ids(task, t5.vocab), test_labels)
            records.append({"task": task.name, "variant": T5_VARIANT, "size": len(index), "seed": seed,
                            "steps": steps, **result, "clock": clock.reading()})
            runs.update(1)
    runs.close()
    return records


@zoo.register("t5-curves", section="pretraining")
def train_t5_curves(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pretrained T5 on Chapter 5's learning curve, writing each label as a word (text-to-text)."""
    t5 = load(zoo.get("t5-span"))
    curve = transfer_settings(t5.block_size, cfg.curve_seeds)
    tasks = [data.text_task(name) for name in cfg.curve_tasks]
    return curve_artefact([r for task in tasks for r in text_to_text_curve(t5, task, curve, cfg.t2t_lr)])


# ---------------------------------------------------------------- translation as text to text (Chapter 10's data)

TRANSLATE_PREFIX = ("translate", "Chinese", "to", "English", ":")  # T5's task prefix, in WikiText-2's words
_WIKITEXT_MARKUP = {"@-@": "-", "@,@": ",", "@.@": "."}  # WikiText-2's "1 @,@ 000" and "well @-@ known"


class PadStartVocab(Vocab):
    """A vocabulary whose ``bos_id`` is ``<pad>``: T5 has no ``<bos>``, its decoder starts from ``<pad>``."""

    @classmethod
    def of(cls, vocab: Vocab) -> PadStartVocab:
        """``vocab``, unchanged but for where decoding starts."""
        copied = cls.__new__(cls)
        copied.__dict__.update(vocab.__dict__)
        return copied

    @property
    def bos_id(self) -> int:
        """The id of ``<pad>``, where T5's decoder starts."""
        return self.pad_id


def translation_source(sentence: str, block_size: int) -> list[str]:
    """What T5 reads to translate ``sentence``: the task prefix, then its characters (cut to ``block_size``)."""
    return [*TRANSLATE_PREFIX, *chinese_tokenize(sentence)][:block_size]


def translation_tokens(
    pairs: Sequence[tuple[str, str]], vocab: Vocab, block_size: int
) -> list[tuple[list[str], list[str]]]:
    """``(chinese, english)`` pairs as T5 reads and writes them: the task prefix and the characters in, English
    out in WikiText-2's words (a capitalised word it lacks, "Did", is written in lower case, "did"), both cut to
    ``block_size`` (with room for ``<eos>`` on the output side)."""
    def english(text: str) -> list[str]:
        words = wikitext_tokenize(text, lower=False)
        return [w if w in vocab.stoi else w.lower() for w in words][: block_size - 1]

    return [(translation_source(zh, block_size), english(en)) for zh, en in pairs]


class T5Translator(Translator):
    """A T5 that translates Chinese → English as text to text, with the ``translate`` of every translator.

    ``chars``: the Chinese characters that get embedding rows of their own, appended after the pretrained
    vocabulary's (initialised at random; every other weight is the T5's). The output vocabulary is the T5's.
    The translator takes ``t5`` over: its token embedding is replaced in place by the grown one.
    """

    def __init__(self, t5: T5, chars: Sequence[str]) -> None:
        super().__init__()
        self.t5 = t5
        self.arguments = {"t5": model_config(t5), "chars": list(chars)}  # plain values, to rebuild it
        # excerpt begins t5 translator
        self.src_vocab = extend_vocab(t5.vocab, list(chars))
        self.tgt_vocab = PadStartVocab.of(t5.vocab)
        old, dim = t5.embed.token, t5.dim
        grown = nn.Embedding(len(self.src_vocab), dim, padding_idx=old.padding_idx)
        with torch.no_grad():
            nn.init.normal_(grown.weight, std=dim**-0.5)  # as in transformer.Embeddings
            grown.weight[: old.num_embeddings] = old.weight  # the pretrained rows
        t5.embed.token = grown
        # excerpt ends

    def tokenize_source(self, sentence: str) -> list[str]:
        """The task prefix, then the characters (cut to the block size)."""
        return translation_source(sentence, self.t5.block_size)

    def detokenize_target(self, tokens: Sequence[str]) -> str:
        """WikiText-2's words → a sentence written as every translator writes it (lower case, "i 'm" → "I'm")."""
        words: list[str] = []
        for token in tokens:
            token = _WIKITEXT_MARKUP.get(token, token).lower()
            if words and token[:1] == "'" and len(token) > 1:
                words[-1] += token  # a contraction joins its word
            else:
                words.append(token)
        return detokenize(words)

    def banned_ids(self) -> list[int]:
        """As every translator's, and the tokens of pretraining that English never contains: ``<mask>``, the
        sentinels."""
        vocab = self.tgt_vocab
        return sorted({*super().banned_ids(), vocab.stoi[MASK], *sentinel_ids(vocab)})

    def max_output_length(self, src_length: int) -> int:
        """As every translator, but never past the learned positions."""
        return min(super().max_output_length(src_length), self.t5.block_size)

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor, use_cache: bool = True) -> dict[str, Any]:
        """Encode a padded batch of sources ``(batch, S)`` (T5 decodes with its key/value cache)."""
        return self.t5.start(src, lengths_to_mask(src_lengths, src.shape[1]).to(src.device))

    def step(self, tokens: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """One decoding step of the T5 (its key/value cache)."""
        return self.t5.step(tokens, state)

    def loss(self, batch: PairBatch) -> torch.Tensor:
        """Mean −ln p per target token (``<eos>`` included) under teacher forcing."""
        return self.t5.loss(batch.src, batch.src_mask, batch.tgt[:, 1:], batch.tgt_mask[:, 1:])


def fine_tune_translation(t5: T5, cfg: Settings, desc: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fine-tune all of ``t5`` on Chapter 7's pairs with Chapter 10's split, epochs, batches and beams (section
    "transformer"), at learning rate ``cfg.t2t_lr``; the zoo's ``(state, metrics)`` as for every translator."""
    settings = profile.current().settings("transformer")
    seed_everything(settings.seed)

    def tokenize(pairs: Sequence[tuple[str, str]]) -> list[tuple[list[str], list[str]]]:
        return translation_tokens(pairs, t5.vocab, t5.block_size)

    train = tokenize(data.cmn_eng_split("train")[: settings.train_pairs])
    counts = Counter(c for source, _ in train for c in source[len(TRANSLATE_PREFIX) :])
    chars = sorted((c for c, n in counts.items() if n >= settings.min_freq and c not in t5.vocab.stoi),
                   key=lambda c: (-counts[c], c))
    model = T5Translator(t5, chars).to(device())
    optimizer = adamw(model, cfg.t2t_lr, 0.01)
    state, metrics = train_translator(model, train, settings, optimizer, lambda m, batch: m.loss(batch), desc,
                                      grad_clip=1.0, tokenize=tokenize)
    unknown = sum(t not in t5.vocab.stoi for _, target in train for t in target)
    metrics["target_unk_share"] = unknown / sum(len(target) for _, target in train)
    return state, metrics


@zoo.register("t5-zh-en", section="pretraining")
def train_t5_zh_en(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pretrained T5 (zoo ``"t5-span"``) fine-tuned to translate Chapter 7's Chinese → English pairs."""
    return fine_tune_translation(load(zoo.get("t5-span")), cfg, "T5 (pretrained)")


@zoo.register("t5-scratch-zh-en", section="pretraining")
def train_t5_scratch_zh_en(cfg: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The control: the same T5, from random weights, trained exactly as ``"t5-zh-en"`` is fine-tuned."""
    seed_everything(cfg.seed)
    return fine_tune_translation(build_t5(_config(cfg)), cfg, "T5 (from scratch)")


def load_translator(artefact: zoo.Artefact) -> T5Translator:
    """The T5 translator of a ``"t5-zh-en"`` or ``"t5-scratch-zh-en"`` artefact (CPU, eval mode)."""
    if artefact.name not in ("t5-zh-en", "t5-scratch-zh-en"):
        raise ValueError(f"artefact must be 't5-zh-en' or 't5-scratch-zh-en'; got {artefact.name!r}")
    config = artefact.state["config"]
    model = T5Translator(T5(model_vocab(), **config["t5"]), config["chars"])
    model.load_state_dict(artefact.state["model"])
    return model.eval()
