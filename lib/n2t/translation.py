"""What every translation model of the book shares (Chapters 7, 10 and 11).

Every translator derives from :class:`Translator`: it provides ``start`` (encode a batch of sources into a
decoding state) and ``step`` (one decoding step), and inherits ``translate``, which tokenises raw Chinese,
batches, decodes with :mod:`n2t.decoding` and detokenises the English (:func:`detokenize`). The GRU
encoder–decoders (:mod:`n2t.seq2seq`), the Transformer (:mod:`n2t.transformer`) and T5 (:mod:`n2t.text2text`)
are trained by one driver, :func:`train_translator`: :func:`n2t.train.fit` over the same seeded batches of
similar lengths, the validation loss after every epoch, then the scored artefact (:func:`translator_artefact`),
from which :func:`rebuild` makes the model again with every argument it was built with.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from n2t import decoding
from n2t.checks import positive_ints
from n2t.data import cmn_eng_split
from n2t.metrics import bleu, chrf
from n2t.progress import progress
from n2t.text import PairBatch, Vocab, chinese_tokenize, english_tokenize, pad_sequences, pair_batch
from n2t.train import History, count_parameters, fit, model_device, to_device

# ----------------------------------------------------------------------- detokenisation

_NO_SPACE_BEFORE = {".", ",", "!", "?", ";", ":", "%", ")", "]", "}", "'", "…"}
_NO_SPACE_AFTER = {"(", "[", "{", "$", "#"}
_JOINERS = {"-", "/"}  # "well-known", "and/or": no space on either side
_DIGIT_JOINERS = {".", ",", ":"}  # "3.5", "1,000", "3:30" between digits
_I_WORDS = re.compile(r"^i(?:'(?:m|ll|ve|d))?$")


def detokenize(tokens: Sequence[str]) -> str:
    """English tokens → a sentence: ``["i'm", "here", "."]`` → ``"I'm here."`` (the inverse of english_tokenize).

    Punctuation is attached to its word, double quotes alternate between opening and closing, and the first
    word of a sentence and the pronoun *I* are capitalised (the tokens are lower case; names stay lower case).
    """
    if isinstance(tokens, str):
        raise TypeError("detokenize takes a sequence of tokens, not a string")
    out = ""
    quote_open = False
    glue_next = True  # no space before the first token
    capitalise = True
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else ""
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        word = token
        if capitalise and word[:1].isalpha():
            word = word[0].upper() + word[1:]
            capitalise = False
        elif _I_WORDS.match(word):
            word = "I" + word[1:]
        between_digits = (
            token in _DIGIT_JOINERS and prev[-1:].isdigit() and nxt[:1].isdigit()
        )
        if token == '"':
            attach = quote_open  # a closing quote sticks to the word before it
            quote_open = not quote_open
            next_glued = quote_open  # an opening quote sticks to the word after it
        else:
            attach = token in _NO_SPACE_BEFORE or token in _JOINERS or between_digits
            next_glued = token in _NO_SPACE_AFTER or token in _JOINERS or between_digits
        out += ("" if glue_next or attach else " ") + word
        glue_next = next_glued
        if token in {".", "!", "?"} and not between_digits:
            capitalise = True
    return out


# --------------------------------------------------------------------------- the base class


class Translator(nn.Module):
    """A translation model: subclasses define ``start`` and ``step``; ``translate`` is shared by all of them.

    ``start(src (batch, S), src_lengths (batch,), use_cache=True) -> state`` encodes a batch of source ids;
    ``step(tokens (batch,), state) -> (log_probs (batch, vocab), state)`` is one decoding step, in the form
    that :mod:`n2t.decoding` drives (every tensor in ``state`` batch-first). ``use_cache`` is an argument of
    decoding, not a property of the model: a Transformer then keeps its keys and values from step to step
    instead of recomputing the prefix (an RNN always carries its state, and ignores it).
    """

    src_vocab: Vocab
    tgt_vocab: Vocab

    def tokenize_source(self, sentence: str) -> list[str]:
        """Source sentence → tokens (Chinese by character)."""
        return chinese_tokenize(sentence)

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor, use_cache: bool = True) -> Any:
        """Encode source ids ``(batch, S)`` into the decoding state."""
        raise NotImplementedError

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """One decoding step: last tokens ``(batch,)`` → next-token log-probs ``(batch, vocab)`` and the state."""
        raise NotImplementedError

    def detokenize_target(self, tokens: Sequence[str]) -> str:
        """Target tokens → the English sentence (:func:`detokenize`)."""
        return detokenize(tokens)

    def max_output_length(self, src_length: int) -> int:
        """How many target tokens decoding may emit for a source of ``src_length`` tokens."""
        return 2 * src_length + 10

    def banned_ids(self) -> list[int]:
        """Target ids that no translation contains, so decoding never emits them: ``<pad>`` and ``<bos>``."""
        return sorted({self.tgt_vocab.pad_id, self.tgt_vocab.bos_id})

    def translate(
        self, sentences: list[str], beam_size: int = 1, batch_size: int = 100, alpha: float = 1.0,
        use_cache: bool = True,
    ) -> list[str]:
        """Raw source sentences → detokenised translations (greedy for ``beam_size=1``, else beam search).

        The sentences of :meth:`translate_tokens`, written out by :meth:`detokenize_target`; an empty (or
        all-space) sentence translates to ``""``. A target word the model does not know stays ``<unk>``.
        """
        outputs = self.translate_tokens(sentences, beam_size, batch_size, alpha, use_cache)
        return [self.detokenize_target(tokens) for tokens in outputs]

    @torch.no_grad()
    def translate_tokens(
        self, sentences: list[str], beam_size: int = 1, batch_size: int = 100, alpha: float = 1.0,
        use_cache: bool = True,
    ) -> list[list[str]]:
        """Raw source sentences → the target tokens of each translation (without ``<bos>`` and ``<eos>``).

        Characters never seen in training become ``<unk>``; an empty (or all-space) sentence gives ``[]``
        without running the model. Each sentence may have :meth:`max_output_length` tokens of its own source
        length, whatever the sentences batched with it, so a sentence translates alone as in a corpus; no output
        holds a :meth:`banned_ids` token. ``alpha`` is beam search's length normalisation exponent;
        ``use_cache`` decodes with the model's key/value cache where it has one (see :meth:`start`).
        """
        if isinstance(sentences, str) or not isinstance(sentences, Sequence):
            raise TypeError(
                f"sentences must be a list of strings; got {type(sentences).__name__}"
            )
        for i, sentence in enumerate(sentences):
            if not isinstance(sentence, str):
                raise TypeError(
                    f"sentences must be a list of strings; item {i} is a {type(sentence).__name__}"
                )
        positive_ints(beam_size=beam_size, batch_size=batch_size)
        if not math.isfinite(alpha):
            raise ValueError(f"alpha must be a finite number; got {alpha}")
        was_training = self.training
        self.eval()
        ids = [self.src_vocab.encode(self.tokenize_source(s)) for s in sentences]
        outputs: list[list[str]] = [[] for _ in sentences]
        dev = model_device(self)
        tgt = self.tgt_vocab
        step = decoding.without_tokens(self.step, self.banned_ids())
        # excerpt begins translate
        for chunk in self._batches(ids, batch_size):  # sources of one output cap
            src, lengths = pad_sequences([ids[i] for i in chunk], self.src_vocab.pad_id)
            state = self.start(src.to(dev), lengths.to(dev), use_cache)
            max_len = self.max_output_length(len(ids[chunk[0]]))
            if beam_size == 1:
                words = decoding.greedy(step, state, tgt.bos_id, tgt.eos_id, max_len)
            else:
                hyps = decoding.beam_search(
                    step, state, tgt.bos_id, tgt.eos_id, max_len, beam_size, alpha
                )
                words = decoding.best_tokens(hyps)
            for i, row in zip(chunk, words, strict=True):
                outputs[i] = tgt.decode(row)
        # excerpt ends
        self.train(was_training)
        return outputs

    def _batches(self, ids: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
        """The indices of the non-empty sources, by length, in batches of at most ``batch_size`` whose sources
        all have the same :meth:`max_output_length` (so no sentence's cap depends on its batch mates)."""
        batches: list[list[int]] = []
        cap = None
        for i in sorted((i for i in range(len(ids)) if ids[i]), key=lambda i: len(ids[i])):
            if not batches or self.max_output_length(len(ids[i])) != cap or len(batches[-1]) == batch_size:
                batches.append([])
                cap = self.max_output_length(len(ids[i]))
            batches[-1].append(i)
        return batches


# ----------------------------------------------------------------------- data, training


def tokenized_pairs(
    pairs: Sequence[tuple[str, str]],
) -> list[tuple[list[str], list[str]]]:
    """``(chinese, english)`` strings → ``(characters, english tokens)``."""
    return [(chinese_tokenize(zh), english_tokenize(en)) for zh, en in pairs]


def build_vocabs(
    pairs: Sequence[tuple[list[str], list[str]]], min_freq: int
) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies of tokenized pairs; types seen fewer than ``min_freq`` times → ``<unk>``."""
    for source, target in pairs:
        if isinstance(source, str) or isinstance(target, str):
            raise TypeError(
                f"pairs must be tokenized (lists of tokens; tokenized_pairs does it); got {(source, target)!r}"
            )
    src = Vocab(Counter(t for s, _ in pairs for t in s), min_freq=min_freq)
    tgt = Vocab(Counter(t for _, t in pairs for t in t), min_freq=min_freq)
    return src, tgt


def length_batches(
    pairs: Sequence[tuple[list[str], list[str]]], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int,
    seed: int,
) -> Iterator[PairBatch]:
    """Shuffled batches of pairs of similar source length (little padding), in a seeded random order."""
    positive_ints(batch_size=batch_size)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(pairs), generator=generator).tolist()
    chunk = batch_size * 50  # sort within chunks of 50 batches, then shuffle the batches
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(pairs[i][0]))
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    for b in torch.randperm(len(batches), generator=generator).tolist():
        yield pair_batch([pairs[i] for i in batches[b]], src_vocab, tgt_vocab)


def epoch_batches(
    train: Sequence[tuple[list[str], list[str]]], src_vocab: Vocab, tgt_vocab: Vocab, settings: Any
) -> Callable[[], list[PairBatch]]:
    """A function that returns the next epoch's batches, in a new seeded order at every call (for ``fit``)."""
    epoch = 0

    def batches() -> list[PairBatch]:
        nonlocal epoch
        epoch += 1
        return list(length_batches(train, src_vocab, tgt_vocab, settings.batch_size, settings.seed + epoch))

    return batches


def validation_loss(
    src_vocab: Vocab, tgt_vocab: Vocab, settings: Any,
    tokenize: Callable[[Sequence[tuple[str, str]]], list[tuple[list[str], list[str]]]] = tokenized_pairs,
) -> Callable[[nn.Module], dict[str, float]]:
    """``fit``'s ``evaluate``: a model's mean cross-entropy per target token on the validation split.

    ``tokenize`` turns the ``(chinese, english)`` pairs into the model's tokens (default :func:`tokenized_pairs`).
    """
    valid = tokenize(cmn_eng_split("valid")[: settings.valid_pairs])
    valid_batches = list(length_batches(valid, src_vocab, tgt_vocab, settings.batch_size, settings.seed))
    tokens = sum(int((b.tgt_lengths - 1).sum()) for b in valid_batches)

    def valid_loss(m: nn.Module) -> dict[str, float]:
        batches = to_device(valid_batches, model_device(m))
        return {"valid_loss": sum(m.loss(b).item() * int((b.tgt_lengths - 1).sum()) for b in batches) / tokens}

    return valid_loss


def train_translator(
    model: Translator, train: Sequence[tuple[list[str], list[str]]], settings: Any,
    optimizer: torch.optim.Optimizer, loss_fn: Callable[[nn.Module, PairBatch], torch.Tensor], desc: str,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None, grad_clip: float | None = None,
    tokenize: Callable[[Sequence[tuple[str, str]]], list[tuple[list[str], list[str]]]] = tokenized_pairs,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train ``model`` on the tokenised pairs ``train`` for ``settings.epochs`` epochs; the zoo's ``(state, metrics)``.

    The one driver of every translator: :func:`n2t.train.fit` over :func:`epoch_batches`, the validation loss
    after every epoch (:func:`validation_loss`, the pairs tokenised by ``tokenize``), the clock counting pairs,
    then :func:`translator_artefact`.
    """
    history = fit(
        model, epoch_batches(train, model.src_vocab, model.tgt_vocab, settings), loss_fn, optimizer,
        epochs=settings.epochs, evaluate=validation_loss(model.src_vocab, model.tgt_vocab, settings, tokenize),
        scheduler=scheduler, grad_clip=grad_clip, desc=desc, unit="pairs", count=lambda batch: len(batch.src),
    )
    return translator_artefact(model, settings, train, history, desc)


def translator_artefact(
    model: Translator, settings: Any, train: Sequence[tuple[list[str], list[str]]], history: History, desc: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decode the test split with every beam width of ``settings``; the zoo artefact's ``(state, metrics)``.

    ``state`` holds the weights, the vocabularies' counts and ``min_freq``, every constructor argument of the
    model but its vocabularies (``config``), the losses and the test translations; ``metrics`` the parameters,
    steps, the clock and the validation loss after every epoch (``curve``), and BLEU/chrF of every beam width.
    """
    test = cmn_eng_split("test")[: settings.test_pairs]
    sources, references = [zh for zh, _ in test], [en for _, en in test]
    translations = {}
    for beam in progress(settings.beam_sizes, desc=f"decode test ({desc})"):
        translations[str(beam)] = model.translate(sources, beam_size=beam)
    state = {
        **translator_state(model, settings.min_freq),
        "step_loss": history.step_loss,
        "valid_loss": [m["valid_loss"] for m in history.epoch_metrics],
        "test_translations": translations,
    }
    metrics = {
        "parameters": count_parameters(model),
        "steps": history.steps,
        "target_tokens": sum(len(t) + 1 for _, t in train) * settings.epochs,
        "clock": history.clock,
        "curve": history.epoch_metrics,
        "src_vocab": len(model.src_vocab),
        "tgt_vocab": len(model.tgt_vocab),
    }
    for beam, hypotheses in translations.items():
        metrics[f"bleu_beam{beam}"] = bleu(hypotheses, references)
        metrics[f"chrf_beam{beam}"] = chrf(hypotheses, references)
    return state, metrics


def translator_state(model: Translator, min_freq: int) -> dict[str, Any]:
    """What rebuilds ``model``: its weights (on the CPU), its vocabularies' counts with ``min_freq``, and every
    constructor argument but the vocabularies (``config``, plain values)."""
    return {
        "model": {k: v.cpu() for k, v in model.state_dict().items()},
        "src_freqs": dict(model.src_vocab.freqs),
        "tgt_freqs": dict(model.tgt_vocab.freqs),
        "min_freq": min_freq,
        "config": {k: v for k, v in model.arguments.items() if k not in ("src_vocab", "tgt_vocab")},
    }


def vocabs_from_state(state: dict[str, Any]) -> tuple[Vocab, Vocab]:
    """The source and target vocabularies of a translator's artefact ``state``, with their exact ids."""
    min_freq = state["min_freq"]
    return (Vocab(Counter(state["src_freqs"]), min_freq=min_freq),
            Vocab(Counter(state["tgt_freqs"]), min_freq=min_freq))


def rebuild(model_class: type[Translator], state: dict[str, Any]) -> Translator:
    """The trained translator of an artefact's ``state``: ``model_class(src_vocab, tgt_vocab, **config)`` with
    its weights (on the CPU, in eval mode)."""
    model = model_class(*vocabs_from_state(state), **state["config"])
    model.load_state_dict(state["model"])
    return model.eval()
