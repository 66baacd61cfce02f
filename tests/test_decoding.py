"""Decoding (n2t.decoding): greedy, sampling and beam search over any step function."""

from __future__ import annotations

import itertools

import pytest
import torch

from n2t import decoding

BOS, EOS, VOCAB = 0, 1, 5


pytestmark = pytest.mark.usefixtures("one_thread")



def markov_step(table: torch.Tensor):
    """A step function whose next-token log-probs depend on the last token and on the sentence (row of table).

    ``table`` ``(sentences, vocab, vocab)`` holds log-probabilities; the state holds each row's sentence id.
    """

    def step(tokens: torch.Tensor, state: dict) -> tuple[torch.Tensor, dict]:
        sentence = state["sentence"]
        return table[sentence, tokens], {**state, "calls": state["calls"] + 1}

    return step


def random_table(sentences: int, seed: int, vocab: int = VOCAB) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(sentences, vocab, vocab, generator=generator) * 2
    logits[:, :, BOS] = float("-inf")  # <bos> is never generated
    return logits.log_softmax(dim=-1)


def start(sentences: int) -> dict:
    return {"sentence": torch.arange(sentences), "calls": torch.zeros(sentences, dtype=torch.long), "note": "kept"}


def brute_force(table: torch.Tensor, sentence: int, max_len: int, alpha: float) -> tuple[list[int], float]:
    """The best output by normalised score: any body of < max_len words then <eos>, or max_len words cut off."""
    words = [t for t in range(VOCAB) if t not in (BOS, EOS)]
    best, best_score = None, float("-inf")
    for length in range(max_len + 1):
        finished = length < max_len
        for body in itertools.product(words, repeat=length):
            prev, total = BOS, 0.0
            for token in (*body, EOS) if finished else body:
                total += table[sentence, prev, token].item()
                prev = token
            score = decoding.length_normalised(total, length + finished, alpha)
            if score > best_score:
                best, best_score = list(body), score
    return best, best_score


@pytest.mark.parametrize("seed", range(5))
def test_beam_width_one_is_greedy(seed):
    table = random_table(6, seed)
    greedy = decoding.greedy(markov_step(table), start(6), BOS, EOS, max_len=8)
    beams = decoding.beam_search(markov_step(table), start(6), BOS, EOS, max_len=8, beam_size=1)
    assert decoding.best_tokens(beams) == greedy
    assert all(len(hyps) == 1 for hyps in beams)


def test_greedy_follows_the_argmax_and_stops_at_eos():
    table = torch.full((1, VOCAB, VOCAB), -10.0)
    table[0, BOS, 2] = table[0, 2, 3] = table[0, 3, EOS] = table[0, EOS, 4] = 0.0
    assert decoding.greedy(markov_step(table), start(1), BOS, EOS, max_len=10) == [[2, 3]]
    # Without <eos> in sight, greedy stops after max_len tokens.
    table[0, 3, EOS], table[0, 3, 2] = -10.0, 0.0
    assert decoding.greedy(markov_step(table), start(1), BOS, EOS, max_len=5) == [[2, 3, 2, 3, 2]]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_search_finds_the_best_sequence(alpha):
    # With a beam wider than the number of prefixes nothing is pruned: beam search is exhaustive search.
    table = random_table(3, seed=11)
    beams = decoding.beam_search(markov_step(table), start(3), BOS, EOS, max_len=4, beam_size=200, alpha=alpha)
    for sentence in range(3):
        best, best_score = brute_force(table, sentence, max_len=4, alpha=alpha)
        assert beams[sentence][0].tokens == best
        assert beams[sentence][0].score == pytest.approx(best_score, abs=1e-5)


def test_beam_hypotheses_are_sorted_by_normalised_score_and_end_at_eos():
    table = random_table(4, seed=3)
    beams = decoding.beam_search(markov_step(table), start(4), BOS, EOS, max_len=12, beam_size=4, alpha=1.0)
    for hyps in beams:
        assert len(hyps) == 4
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        for h in hyps:
            assert EOS not in h.tokens and BOS not in h.tokens
            length = len(h.tokens) + (1 if h.finished else 0)
            assert h.score == pytest.approx(h.log_prob / length, rel=1e-6)
            # The log-probability is the one of the tokens (and <eos>) under the model.
            prev, total = BOS, 0.0
            for token in h.tokens + ([EOS] if h.finished else []):
                total += table[beams.index(hyps), prev, token].item()
                prev = token
            assert h.log_prob == pytest.approx(total, abs=1e-4)


def test_beam_search_stops_when_every_sentence_is_done():
    table = torch.full((1, VOCAB, VOCAB), -20.0)
    table[0, :, EOS] = -0.01  # <eos> is almost certain at every step
    state = start(1)
    calls = []

    def step(tokens, state):
        calls.append(1)
        return markov_step(table)(tokens, state)

    beams = decoding.beam_search(step, state, BOS, EOS, max_len=50, beam_size=3)
    assert beams[0][0].tokens == [] and beams[0][0].finished
    assert len(calls) < 10, "beam search kept stepping after every beam had finished"


def test_beam_search_of_a_batch_equals_beam_search_of_each_sentence():
    table = random_table(5, seed=7)
    together = decoding.beam_search(markov_step(table), start(5), BOS, EOS, max_len=9, beam_size=3)
    for sentence in range(5):
        alone_table = table[sentence : sentence + 1]
        alone = decoding.beam_search(markov_step(alone_table), start(1), BOS, EOS, max_len=9, beam_size=3)
        assert [h.tokens for h in alone[0]] == [h.tokens for h in together[sentence]]


def test_length_normalisation_changes_the_winner():
    # A short sentence with a poor last step against a long one with good steps.
    table = torch.full((1, VOCAB, VOCAB), -30.0)
    table[0, :, EOS] = -100.0  # <eos> only where set below
    table[0, BOS, EOS] = -2.0  # the empty sentence: total -2
    table[0, BOS, 2] = -0.7
    table[0, 2, 3] = table[0, 3, 4] = -0.3
    table[0, 4, EOS] = -0.3  # "2 3 4": total -0.7 - 0.3 - 0.3 - 0.3 = -1.6
    raw = decoding.beam_search(markov_step(table), start(1), BOS, EOS, max_len=6, beam_size=2, alpha=0.0)
    assert raw[0][0].tokens == [2, 3, 4]  # -1.6 beats -2.0 even unnormalised
    table[0, 4, EOS] = -1.5  # now "2 3 4" totals -2.8: worse than -2 raw, but -0.7 per token normalised
    raw = decoding.beam_search(markov_step(table), start(1), BOS, EOS, max_len=6, beam_size=2, alpha=0.0)
    normalised = decoding.beam_search(markov_step(table), start(1), BOS, EOS, max_len=6, beam_size=2, alpha=1.0)
    assert raw[0][0].tokens == []
    assert normalised[0][0].tokens == [2, 3, 4]


def test_sampling_is_reproducible_and_top_k_one_is_greedy():
    table = random_table(4, seed=5)
    greedy = decoding.greedy(markov_step(table), start(4), BOS, EOS, max_len=8)
    top1 = decoding.sample(markov_step(table), start(4), BOS, EOS, max_len=8, top_k=1)
    cold = decoding.sample(markov_step(table), start(4), BOS, EOS, max_len=8, temperature=1e-4)
    assert top1 == greedy and cold == greedy
    draws = [
        decoding.sample(markov_step(table), start(4), BOS, EOS, 8, generator=torch.Generator().manual_seed(1))
        for _ in range(2)
    ]
    assert draws[0] == draws[1]
    many = [decoding.sample(markov_step(table), start(4), BOS, EOS, 8, temperature=2.0) for _ in range(10)]
    assert len({str(m) for m in many}) > 1, "hot sampling should not always give the same sentences"


def test_top_k_keeps_only_the_k_best_tokens():
    table = torch.log_softmax(torch.tensor([[[0.0, 0.0, 3.0, 2.9, 2.8]] * VOCAB]), dim=-1)
    draws = decoding.sample(markov_step(table), start(1), BOS, EOS, max_len=200, top_k=2,
                            generator=torch.Generator().manual_seed(0))
    assert set(draws[0]) <= {2, 3} and len(draws[0]) == 200


def test_select_rows_reorders_nested_states_and_keeps_the_rest():
    state = {"a": torch.arange(3), "b": (torch.arange(6).view(3, 2), ["x"]), "c": 5}
    picked = decoding.select_rows(state, torch.tensor([2, 2, 0]))
    assert picked["a"].tolist() == [2, 2, 0]
    assert picked["b"][0].tolist() == [[4, 5], [4, 5], [0, 1]]
    assert picked["b"][1] == ["x"] and picked["c"] == 5
    assert decoding.batch_size_of(state) == 3


def test_bad_arguments_are_clear_errors():
    table = random_table(1, seed=0)
    step = markov_step(table)
    with pytest.raises(ValueError, match="beam_size"):
        decoding.beam_search(step, start(1), BOS, EOS, max_len=5, beam_size=0)
    with pytest.raises(ValueError, match="max_len"):
        decoding.greedy(step, start(1), BOS, EOS, max_len=0)
    with pytest.raises(ValueError, match="temperature"):
        decoding.sample(step, start(1), BOS, EOS, max_len=5, temperature=0)
    with pytest.raises(ValueError, match="top_k"):
        decoding.sample(step, start(1), BOS, EOS, max_len=5, top_k=0)
    with pytest.raises(ValueError, match="no tensor"):
        decoding.batch_size_of({"a": 1})


def test_without_tokens_never_emits_the_banned_tokens_and_keeps_the_other_scores():
    table = random_table(3, seed=7)
    table[:, :, 2] = 0.0  # token 2 is the likeliest everywhere (log-prob 0 before normalising again)
    table = table.log_softmax(dim=-1)
    plain = decoding.greedy(markov_step(table), start(3), BOS, EOS, 6)
    assert all(row and set(row) == {2} for row in plain)  # without the ban: 2 and only 2
    banned = decoding.without_tokens(markov_step(table), [2, 2])
    for outputs in (decoding.greedy(banned, start(3), BOS, EOS, 6),
                    decoding.best_tokens(decoding.beam_search(banned, start(3), BOS, EOS, 6, 3)),
                    decoding.sample(banned, start(3), BOS, EOS, 6, generator=torch.Generator().manual_seed(0))):
        assert all(2 not in row for row in outputs)
    log_probs, _ = banned(torch.tensor([BOS, 3, 4]), start(3))
    expected, _ = markov_step(table)(torch.tensor([BOS, 3, 4]), start(3))
    assert torch.isneginf(log_probs[:, 2]).all()
    keep = [t for t in range(VOCAB) if t != 2]
    assert torch.equal(log_probs[:, keep], expected[:, keep])
    assert decoding.without_tokens(markov_step(table), []) is not None
    with pytest.raises(ValueError, match="token_ids must be token ids"):
        decoding.without_tokens(markov_step(table), [-1])


@pytest.mark.parametrize("bad", ["nan", "no finite entry", "wrong batch"])
def test_a_step_that_returns_bad_log_probs_is_a_clear_error(bad):
    # NaN log-probabilities made beam search return no hypothesis at all (translate() gave '') and greedy emit
    # token 0 forever, without a word (issue 22).
    row = torch.tensor([float("-inf"), -2.0, -0.5, -1.5, -3.0])
    eos, rows = EOS, None
    if bad == "nan":
        row[2] = float("nan")
    elif bad == "no finite entry":
        row[:] = float("-inf")
    else:
        rows = 1

    def step(tokens, state):
        return row.expand(rows or len(tokens), -1), state

    message = {"nan": r"holding NaN, or a row with no finite entry, at step 1",
               "no finite entry": r"holding NaN, or a row with no finite entry, at step 1",
               "wrong batch": r"step must return log-probs \(batch=\d+, vocab\); got shape \(1, 5\)"}[bad]
    state = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=message):
        decoding.greedy(step, state, BOS, eos, max_len=6)
    with pytest.raises(ValueError, match=message):
        decoding.sample(step, state, BOS, eos, max_len=6, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=message):
        decoding.beam_search(step, state, BOS, eos, max_len=6, beam_size=2)


def test_an_eos_the_step_never_produces_decodes_to_max_len():
    # Chapter 10 times decoding with an <eos> id outside the vocabulary: every sentence runs to max_len.
    table = random_table(2, seed=1)
    never = VOCAB
    assert [len(words) for words in decoding.greedy(markov_step(table), start(2), BOS, never, 4)] == [4, 4]
