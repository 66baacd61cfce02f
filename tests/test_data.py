"""n2t.data: shipped corpora and checksums, Vocab, tokenizers, batching."""

from __future__ import annotations

import shutil

import pytest
import torch

from n2t import data, text

# ------------------------------------------------------------------------------------------- corpora


def test_wikitext2_standard_counts():
    assert len(data.wikitext2_tokens("train")) == 2_088_628
    assert len(data.wikitext2_tokens("valid")) == 217_646
    assert len(data.wikitext2_tokens("test")) == 245_569
    assert len(set(data.wikitext2_tokens("train"))) == 33_278


def test_wikitext2_lines_keep_blank_lines_and_eos_per_line():
    lines = data.wikitext2_lines("valid", max_lines=5)
    assert len(lines) == 5 and lines[0] == []  # the file starts with a blank line
    assert data.wikitext2_tokens("valid", max_lines=5).count(text.EOS) == 5


def test_wikitext2_rejects_bad_arguments():
    with pytest.raises(ValueError, match="split must be one of"):
        data.wikitext2_lines("dev")
    with pytest.raises(ValueError, match="max_lines"):
        data.wikitext2_lines("train", max_lines=0)


def test_other_corpora_load_with_documented_sizes():
    assert len(data.cmn_eng_pairs()) == 28_155
    assert all("\u200b" not in en + zh for en, zh in data.cmn_eng_pairs())
    assert sum(len(q) for q in data.analogy_questions().values()) == 19_544
    assert len(data.analogy_questions()) == 14
    assert len(data.wordsim353()) == 353
    assert len(data.men()) == 3_000
    spam = data.sms_spam()
    assert len(spam) == 5_574 and {label for label, _ in spam} == {"ham", "spam"}
    assert len(data.subjectivity()) == 10_000
    assert data.timemachine().startswith("The Time Machine")
    assert len(data.tinyshakespeare()) == 1_115_394


def test_missing_data_file_is_a_clear_error(data_copy):
    (data_copy / "men/MEN_dataset_natural_form_full").unlink()
    with pytest.raises(data.DataFileError, match="men/MEN_dataset_natural_form_full is missing"):
        data.men()


def test_corrupt_data_file_is_a_clear_error(data_copy):
    path = data_copy / "wordsim353/wordsim353.tsv"
    path.write_text(path.read_text().replace("love", "hate", 1))
    with pytest.raises(data.DataFileError, match=r"wordsim353/wordsim353\.tsv is corrupt"):
        data.wordsim353()


def test_intact_copy_verifies(data_copy):
    assert len(data.wordsim353()) == 353


def test_missing_checksum_list_is_a_clear_error(data_copy):
    (data_copy / "SHA256SUMS").unlink()
    with pytest.raises(data.DataFileError, match="SHA256SUMS is missing"):
        data.men()


def test_unlisted_file_is_refused():
    with pytest.raises(data.DataFileError, match="not a shipped data file"):
        data.data_file("wikitext-2/secret.txt")


# -------------------------------------------------------------------------------------------- tokens


def test_tokenizers():
    assert text.whitespace_tokenize(" the  cat\tsat \n") == ["the", "cat", "sat"]
    assert text.english_tokenize("I'm a student. Don't go!") == ["i'm", "a", "student", ".", "don't", "go", "!"]
    assert text.english_tokenize("I am a student") == ["i", "am", "a", "student"]


def test_english_tokenize_keeps_non_ascii_words_whole():
    assert text.english_tokenize("Beyoncé sang.") == ["beyoncé", "sang", "."]
    assert text.english_tokenize("A naïve café owner") == ["a", "naïve", "café", "owner"]
    decomposed = "nai\u0308ve"  # "naïve" with a combining diaeresis
    assert text.english_tokenize(decomposed) == ["naïve"]
    assert text.english_tokenize("Zürich’s 2017 São-Paulo") == ["zürich's", "2017", "são", "-", "paulo"]
    assert text.english_tokenize("$5, 50% off_") == ["$", "5", ",", "50", "%", "off", "_"]
    with pytest.raises(TypeError, match="text must be a string"):
        text.english_tokenize(None)
    assert text.chinese_tokenize("我是 一个\u200b学生") == ["我", "是", "一", "个", "学", "生"]
    assert text.char_tokenize("ab c") == ["a", "b", " ", "c"]


# --------------------------------------------------------------------------------------------- vocab


def test_vocab_orders_by_frequency_with_specials_first():
    vocab = text.Vocab(["b", "a", "b", "c", "b", "a"])
    assert vocab.itos == [*text.SPECIALS, "b", "a", "c"]
    assert (vocab.unk_id, vocab.pad_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    assert vocab["b"] == 4 and vocab["zzz"] == vocab.unk_id
    assert "a" in vocab and "zzz" not in vocab


def test_vocab_ties_are_alphabetical_so_ids_are_reproducible():
    assert text.Vocab(["y", "x", "z"]).itos[4:] == ["x", "y", "z"]


def test_vocab_min_freq_and_max_size():
    tokens = ["a", "a", "a", "b", "b", "c"]
    assert text.Vocab(tokens, min_freq=2).itos[4:] == ["a", "b"]
    assert text.Vocab(tokens, max_size=5).itos[4:] == ["a"]
    assert text.Vocab(tokens, max_size=5).encode(["b"]) == [0]


def test_vocab_encode_decode_round_trip_and_unknowns():
    vocab = text.Vocab(["the", "cat", "sat"])
    assert vocab.decode(vocab.encode(["the", "cat"])) == ["the", "cat"]
    assert vocab.decode(vocab.encode(["dog"])) == [text.UNK]
    assert vocab.decode(torch.tensor([[4, 5]])) == ["cat", "sat"]


def test_vocab_decode_out_of_range_names_the_id():
    vocab = text.Vocab(["a", "b"])
    with pytest.raises(IndexError, match="token id 6 is out of range for a vocabulary of size 6"):
        vocab.decode([4, 6])
    with pytest.raises(IndexError, match="token id -1"):
        vocab.decode([-1])


def test_vocab_rejects_a_string_and_bad_settings():
    vocab = text.Vocab(["a", "b"])
    with pytest.raises(TypeError, match="tokenize the string first"):
        vocab.encode("a b")
    with pytest.raises(ValueError, match="min_freq"):
        text.Vocab(["a"], min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        text.Vocab(["a"], max_size=2)
    with pytest.raises(ValueError, match="must include '<unk>'"):
        text.Vocab(["a"], specials=("<pad>",))


def test_vocab_refuses_a_string_where_tokens_belong():
    # Vocab("some text") built a vocabulary of letters without a word (issue 22).
    with pytest.raises(TypeError, match="tokens must be a sequence of tokens, not a string"):
        text.Vocab("hello world")
    with pytest.raises(TypeError, match="specials must be a sequence of tokens, not a string"):
        text.Vocab(["a"], specials="<unk>")
    with pytest.raises(TypeError, match="tokens must be strings; got int 1"):
        text.Vocab([1, 2, 2])
    with pytest.raises(TypeError, match=r"tokens must be strings; got int 4 \(ids are decoded, not encoded\)"):
        text.Vocab(["a"]).encode([4, 5])
    with pytest.raises(ValueError, match="min_freq must be a positive integer; got '2'"):
        text.Vocab(["a"], min_freq="2")


def test_tokenizers_refuse_a_list_where_one_text_belongs():
    for tokenize in (text.chinese_tokenize, text.char_tokenize, text.whitespace_tokenize, text.wikitext_tokenize):
        with pytest.raises(TypeError, match="text must be a string; got list"):
            tokenize(["我是", "学生"])


def test_vocab_of_an_empty_corpus_holds_only_the_specials():
    vocab = text.Vocab([])
    assert len(vocab) == len(text.SPECIALS)
    assert vocab.encode(["anything"]) == [vocab.unk_id]


def test_vocab_without_a_special_says_so():
    vocab = text.Vocab(["a"], specials=(text.UNK,))
    with pytest.raises(KeyError, match="no <pad> token"):
        _ = vocab.pad_id


def test_vocab_save_load_round_trip(tmp_path):
    vocab = text.Vocab(["我", "是", "一", "个", "学", "生", "我"])
    vocab.save(tmp_path / "vocab.json")
    loaded = text.Vocab.load(tmp_path / "vocab.json")
    assert loaded.itos == vocab.itos and loaded.freqs == vocab.freqs
    assert loaded.encode(["我", "猫"]) == vocab.encode(["我", "猫"])


def test_vocab_load_names_a_file_that_is_not_a_vocabulary(tmp_path):
    path = tmp_path / "v.json"
    path.write_text('{"itos": ["<unk>", "a"')
    with pytest.raises(ValueError, match=r"v\.json is not a vocabulary file written by Vocab.save \(invalid JSON"):
        text.Vocab.load(path)
    path.write_text('{"itos": ["<unk>", "a"], "freqs": {}}')
    with pytest.raises(ValueError, match=r"it lacks \['specials'\]"):
        text.Vocab.load(path)
    path.write_text('{"itos": ["a", "<unk>"], "specials": ["<unk>"], "freqs": {}}')
    with pytest.raises(ValueError, match="itos must start with the specials"):
        text.Vocab.load(path)
    with pytest.raises(FileNotFoundError, match=r"the folder .*missing does not exist"):
        text.Vocab(["a"]).save(tmp_path / "missing" / "v.json")


def test_vocab_save_is_safe_for_concurrent_writers(tmp_path):
    # Vocab.save wrote every save through one fixed "<path>.tmp": two writers of one path renamed each other's
    # file away (FileNotFoundError) and a reader could find it half written (issue 22).
    import multiprocessing

    path = tmp_path / "v.json"
    context = multiprocessing.get_context("fork")
    with context.Pool(2) as pool:
        failures = pool.starmap(_save_many, [(str(path), 150, seed) for seed in (0, 1)])
    assert failures == [0, 0]
    assert text.Vocab.load(path).itos[:1] == ["<unk>"]
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]  # no temporary file left behind


def _save_many(path: str, times: int, seed: int) -> int:
    failures = 0
    vocab = text.Vocab([f"w{seed}-{i}" for i in range(200)])
    for _ in range(times):
        try:
            vocab.save(path)
        except OSError:
            failures += 1
    return failures


# ------------------------------------------------------------------------------------------ batching


def test_lm_stream_shapes_and_shift():
    ids = torch.arange(103)
    stream = text.LMStream(ids, batch_size=4, seq_len=7)
    batches = list(stream)
    assert len(batches) == len(stream) == 4  # rows of 25 ids: 24 predictions in windows of 7
    inputs, targets = batches[0]
    assert inputs.shape == targets.shape == (4, 7)
    assert torch.equal(targets, inputs + 1)
    assert batches[-1][0].shape == (4, 3)
    assert torch.equal(batches[1][0][0], torch.arange(7, 14))  # row 0 continues across batches


def test_lm_stream_covers_every_prediction_once():
    stream = text.LMStream(torch.arange(40), batch_size=2, seq_len=6)
    predicted = torch.cat([targets.reshape(-1) for _, targets in stream])
    assert sorted(predicted.tolist()) == [*range(1, 20), *range(21, 40)]


def test_lm_stream_rejects_bad_input():
    with pytest.raises(ValueError, match="one-dimensional"):
        text.LMStream(torch.zeros(2, 3, dtype=torch.long), 1, 2)
    with pytest.raises(ValueError, match="too short"):
        text.LMStream(torch.arange(3), batch_size=2, seq_len=2)
    with pytest.raises(ValueError, match="at least 1"):
        text.LMStream(torch.arange(30), batch_size=0, seq_len=2)


def test_lengths_to_mask_and_padding():
    padded, lengths = text.pad_sequences([[5, 6, 7], [8]], pad_id=1)
    assert padded.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert lengths.tolist() == [3, 1]
    assert text.lengths_to_mask(lengths).tolist() == [[True, True, True], [True, False, False]]
    assert text.lengths_to_mask([2], max_len=4).tolist() == [[True, True, False, False]]


def test_lengths_must_be_integers():
    with pytest.raises(TypeError, match=r"lengths must be integers; got torch.float32 values \[1.5, 2.0\]"):
        text.lengths_to_mask([1.5, 2])
    with pytest.raises(TypeError, match=r"max_len must be an integer or None; got 2\.5"):
        text.lengths_to_mask([1], max_len=2.5)


def test_padding_rejects_bad_input():
    with pytest.raises(ValueError, match="sequences is empty"):
        text.pad_sequences([], pad_id=0)
    with pytest.raises(ValueError, match="shorter than the longest"):
        text.lengths_to_mask([5], max_len=3)
    with pytest.raises(ValueError, match="non-negative"):
        text.lengths_to_mask([-1])


def test_pair_batch_adds_bos_eos_and_masks():
    src_vocab = text.Vocab(["i", "am", "a", "student"])
    tgt_vocab = text.Vocab(list("我是一个学生"))
    pairs = [(["i", "am", "a", "student"], list("我是一个学生")), (["i"], ["我"])]
    batch = text.pair_batch(pairs, src_vocab, tgt_vocab)
    assert batch.src.shape == (2, 4) and batch.tgt.shape == (2, 8)
    assert batch.tgt_lengths.tolist() == [8, 3]
    assert tgt_vocab.decode(batch.tgt[1, :3]) == [text.BOS, "我", text.EOS]
    assert torch.equal(batch.src_mask, batch.src != src_vocab.pad_id)
    assert torch.equal(batch.tgt_mask, batch.tgt != tgt_vocab.pad_id)


def test_pair_batches_cover_all_pairs_and_shuffle_reproducibly():
    vocab = text.Vocab(list("abcdefg"))
    pairs = [([c], [c]) for c in "abcdefg"]
    sizes = [b.src.shape[0] for b in text.pair_batches(pairs, vocab, vocab, batch_size=3)]
    assert sizes == [3, 3, 1]
    first = [b.src.tolist() for b in text.pair_batches(pairs, vocab, vocab, 3, shuffle=True, seed=1)]
    again = [b.src.tolist() for b in text.pair_batches(pairs, vocab, vocab, 3, shuffle=True, seed=1)]
    assert first == again
    with pytest.raises(ValueError, match="batch_size"):
        next(text.pair_batches(pairs, vocab, vocab, batch_size=0))
    with pytest.raises(ValueError, match="pairs is empty"):
        text.pair_batch([], vocab, vocab)


# ------------------------------------------------------------------------------------- downstream tasks


@pytest.mark.parametrize("name", data.TEXT_TASKS)
def test_text_task_splits_are_stratified_disjoint_and_deterministic(name):
    task = data.text_task(name)
    splits = {split: task.split(split) for split in data.TASK_SPLITS}
    texts = {split: {e.text for e in examples} for split, examples in splits.items()}
    assert not texts["train"] & texts["valid"] and not texts["train"] & texts["test"]
    assert not texts["valid"] & texts["test"]
    total = sum(len(examples) for examples in splits.values())
    assert len(set().union(*texts.values())) == total  # no duplicate text anywhere
    for label in task.labels:
        share = {split: sum(e.label == label for e in examples) / len(examples) for split, examples in splits.items()}
        assert max(share.values()) - min(share.values()) < 0.01  # each split keeps the label mix
    assert abs(len(splits["test"]) / total - 0.2) < 0.01 and abs(len(splits["valid"]) / total - 0.1) < 0.01
    data.text_task.cache_clear()
    assert data.text_task(name) == task  # rebuilt from the files: the same splits
    assert data.text_task(name, seed=1).test != task.test


def test_text_task_drops_duplicate_texts():
    spam = data.text_task("sms-spam")
    raw = data.sms_spam()
    keys = {data.task_text_key(text) for _, text in raw}
    assert len(spam.train) + len(spam.valid) + len(spam.test) == len(keys) < len({text for _, text in raw})
    assert spam.labels == ("ham", "spam")
    assert data.text_task("subj").labels == ("objective", "subjective")


def test_task_text_key_folds_digits_and_reads_tokens():
    assert data.task_text_key("Call 08712300200 NOW!") == data.task_text_key("call  08719181513 now !")
    assert data.task_text_key("Call 0871 now") != data.task_text_key("Call 0871 later")


@pytest.mark.parametrize("name", data.TEXT_TASKS)
def test_no_test_or_valid_text_is_a_training_text_once_tokenised_and_digits_folded(name):
    """Template spam that differs only in a phone number must not sit in train and test (a free answer)."""
    task = data.text_task(name)
    train = {data.task_text_key(e.text) for e in task.train}
    for split in ("valid", "test"):
        assert not train & {data.task_text_key(e.text) for e in task.split(split)}, split


def test_text_task_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        data.text_task("imdb")


def test_text_task_verifies_its_files(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "sms-spam").mkdir(parents=True)
    shutil.copy(data.data_dir() / "SHA256SUMS", root / "SHA256SUMS")
    (root / "sms-spam/SMSSpamCollection").write_text("ham\thello\n")
    monkeypatch.setenv("N2T_DATA", str(root))
    data.text_task.cache_clear()
    try:
        with pytest.raises(data.DataFileError, match="sms-spam/SMSSpamCollection is corrupt"):
            data.text_task("sms-spam")
    finally:
        data.text_task.cache_clear()


def test_stratified_split_rejects_bad_shares():
    examples = [data.Example("a", "x"), data.Example("b", "y")]
    with pytest.raises(ValueError, match="shares must be positive"):
        data.stratified_split(examples, ("x", "y"), (0.6, 0.5), seed=0)
    with pytest.raises(ValueError, match="shares must be positive"):
        data.stratified_split(examples, ("x", "y"), (float("nan"),), seed=0)
    with pytest.raises(TypeError, match="seed must be an integer; got 'x'"):
        data.stratified_split(examples, ("x", "y"), (0.5,), seed="x")


def test_stratified_split_refuses_examples_whose_label_is_not_listed():
    # Examples of an unlisted label were silently dropped from every part (issue 22).
    examples = [data.Example("good film", "pos"), data.Example("bad film", "neg"),
                data.Example("great movie", "pos"), data.Example("awful movie", "neg")]
    with pytest.raises(ValueError, match=r"examples have labels \['neg'\] that are not in labels \['pos'\]"):
        data.stratified_split(examples, ("pos",), (0.5,), seed=0)
    parts = data.stratified_split(examples, ("pos", "neg"), (0.5,), seed=0)
    assert sorted(e.text for part in parts for e in part) == sorted(e.text for e in examples)


def test_ptb_tokenize_splits_like_the_penn_treebank():
    assert text.ptb_tokenize("Don't go, it's 5pm!") == ["do", "n't", "go", ",", "it", "'s", "5pm", "!"]
    assert text.ptb_tokenize("I can't—I'm late") == ["i", "ca", "n't", "—", "i", "'m", "late"]
    assert text.ptb_tokenize("  ") == []


def test_wikitext_tokenize_splits_like_wikitext():
    assert text.wikitext_tokenize("Don't go, it's 5pm!") == ["don", "'t", "go", ",", "it", "'s", "5pm", "!"]
    assert text.wikitext_tokenize("I can't—I'm late") == ["i", "can", "'t", "—", "i", "'m", "late"]
    assert text.wikitext_tokenize("the movie 's end") == ["the", "movie", "'s", "end"]
    assert text.wikitext_tokenize("  ") == []
    with pytest.raises(TypeError, match="text must be a string"):
        text.wikitext_tokenize(None)
    # WikiText-2 itself writes these contractions the same way
    train = " ".join(" ".join(line) for line in data.wikitext2_lines("train", max_lines=20000))
    for written in ("don 't", "can 't", "it 's"):
        assert f" {written} " in train


def test_vocab_from_itos_keeps_ids():
    vocab = text.Vocab.from_itos(["<unk>", "<pad>", "b", "a"], specials=("<unk>", "<pad>"))
    assert vocab["a"] == 3 and vocab["zzz"] == 0 and vocab.pad_id == 1
    with pytest.raises(ValueError, match="must start with the specials"):
        text.Vocab.from_itos(["b", "<unk>"], specials=("<unk>",))
