"""The architecture diagrams: they draw what the code computes, with the profile's sizes, legibly, before the code."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import pytest

from n2t import diagrams, plot, profile

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]

# Every diagram a chapter shows: (chapter file, figure name, the call in its cell, a line of the first cell that
# builds or runs the model the diagram shows; the diagram's cell must come before it).
CHAPTER_DIAGRAMS = [
    ("03_neural_lm.py", "fig-nnlm-architecture", "n2t.diagrams.nnlm()", "def bengio_logits(context):"),
    ("04_word2vec.py", "fig-w2v-architectures", "n2t.diagrams.word2vec()", "def train_toy("),
    ("05_transfer.py", "fig-classifier-architecture", "n2t.diagrams.classifier()",
     "encoder = transfer.embedding_encoder(spam_task"),
    ("06_recurrent_elmo.py", "fig-lstm-cell", "n2t.diagrams.lstm_cell()", "torch_lstm = nn.LSTM("),
    ("06_recurrent_elmo.py", "fig-bilm", "n2t.diagrams.bilm()", 'bilm_artefact = zoo.get("bilm")'),
    ("06_recurrent_elmo.py", "fig-scalar-mix", "n2t.diagrams.scalar_mix()", 'bilm_artefact = zoo.get("bilm")'),
    ("07_seq2seq_attention.py", "fig-seq2seq-architecture", "n2t.diagrams.seq2seq()", "def gru_step("),
    ("09_self_attention.py", "fig-multi-head-diagram", "n2t.diagrams.multi_head_attention()",
     "def split_heads("),
    ("10_transformer.py", "fig-transformer-architecture", "n2t.diagrams.transformer()",
     "small = transformer.Transformer("),
    ("11_bert_gpt_t5.py", "fig-pretraining-objectives", "n2t.diagrams.pretraining()", 'zoo.get("gpt-lm")'),
]

ALL = {
    "nnlm": diagrams.nnlm, "classifier": diagrams.classifier, "lstm_cell": diagrams.lstm_cell,
    "bilm": diagrams.bilm, "scalar_mix": diagrams.scalar_mix, "seq2seq": diagrams.seq2seq,
    "multi_head_attention": diagrams.multi_head_attention, "transformer": diagrams.transformer,
    "pretraining": diagrams.pretraining, "word2vec": diagrams.word2vec,
}


@pytest.fixture(params=profile.PROFILES)
def profile_name(request, monkeypatch) -> str:
    monkeypatch.setenv("N2T_PROFILE", request.param)
    return request.param


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_diagram_lays_out_cleanly_in_both_profiles(name, profile_name):
    """No label sticks out of its box, no boxes or texts overlap, nothing leaves the figure: full and quick."""
    drawn = ALL[name]()
    assert drawn.layout_problems() == [], f"{name} ({profile_name})"


@pytest.mark.parametrize("name", sorted(ALL))
def test_svg_keeps_text_as_text_on_a_white_background(name):
    svg = ALL[name]().svg()
    root = ET.fromstring(svg)  # well-formed XML
    namespace = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{namespace}svg"
    assert len(list(root.iter(f"{namespace}text"))) >= 3, "the labels are text elements, not outlines"
    assert "fill: #ffffff" in svg, "its own white background, so that it reads in dark mode too"
    assert "sans-serif" in svg, "a browser without DejaVu Sans falls back to a sans-serif"
    assert "<dc:date>" not in svg, "no build date: the file is the same on every run"
    assert svg == ALL[name]().svg(), "two draws give the same SVG"


@pytest.mark.parametrize("name", sorted(ALL))
def test_drawing_in_a_chapter_warns_of_nothing(name, caplog):
    """A chapter sets the book's style first; a warning or a logged font message on stderr fails the strict build."""
    import logging
    import warnings

    with matplotlib.rc_context(), warnings.catch_warnings(), caplog.at_level(logging.INFO, logger="matplotlib"):
        warnings.simplefilter("error")
        plot.use_book_style()
        drawn = ALL[name]()
        drawn.svg()
        drawn.layout_problems()
    assert not caplog.records, [record.getMessage() for record in caplog.records]


def test_the_colours_are_one_per_kind():
    colours = [colour for colour, _ in diagrams.KINDS.values()]
    assert len(set(colours)) == len(colours)
    assert {"embedding", "attention", "feedforward", "norm", "output"} <= set(diagrams.KINDS)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        diagrams.Diagram("x", 2, 2).box(1, 1, 1, 1, "a", kind="banana")
    with pytest.raises(ValueError, match="window must be at least 1"):
        diagrams.word2vec(window=0)
    with pytest.raises(ValueError, match="rows must name at least one model"):
        diagrams.lineage([])
    with pytest.raises(ValueError, match="positive inches"):
        diagrams.Diagram("x", 0, 2)


# ------------------------------------------------------------------ the pictures say what the code does


def _labels(drawn) -> str:
    return "\n".join(drawn.labels())


def test_nnlm_shows_the_profile_sizes_and_whether_the_direct_connections_are_used(profile_name):
    cfg = profile.current().settings("neural_lm")
    text = _labels(diagrams.nnlm())
    assert f"m = {cfg.embed_dim}" in text and f"h = {cfg.hidden_dim}" in text
    assert f"(n − 1)m = {cfg.context_size * cfg.embed_dim}" in text
    words = [label for label in diagrams.nnlm().labels() if re.fullmatch(r"\$w_\{t-\d+\}\$", label)]
    assert len(words) == cfg.context_size, "one box per previous word the model reads"
    assert cfg.direct is False and "left out of our" in text and "direct=False" in text
    with_direct = _labels(diagrams.nnlm({**cfg, "direct": True}))
    assert "direct=True" in with_direct and "left out" not in with_direct


def test_classifier_pools_mean_and_max_and_says_what_each_variant_trains(profile_name):
    dim = profile.current().settings("word2vec").dim
    text = _labels(diagrams.classifier())
    assert f"d = {dim}" in text and f"2d = {2 * dim}" in text
    assert "mean over t" in text and "max over t" in text
    assert "frozen: fixed, never trained" in text and "fine-tuned: trained with the head" in text
    assert f"linear 2d → {profile.current().settings('transfer').hidden}" in text


def test_bilm_and_mix_follow_the_settings(profile_name):
    cfg = profile.current().settings("recurrent")
    bilm = diagrams.bilm().labels()
    assert sum(label.startswith("LSTM ") for label in bilm) == 6 * cfg.bilm_layers  # 3 positions, 2 directions
    assert any("shared token embedding" in label for label in bilm)
    assert any("shared softmax" in label for label in bilm)
    mix = diagrams.scalar_mix().labels()
    assert sum(label.startswith("softmax($\\mathbf{s}$)") for label in mix) == cfg.bilm_layers + 1
    assert f"2 · {cfg.bilm_dim} = {2 * cfg.bilm_dim}" in _labels(diagrams.scalar_mix())


def test_seq2seq_draws_the_decoder_as_the_code_computes_it():
    """Without attention the summary enters every GRU step and the output layer; with it, a context c_t does."""
    drawn = diagrams.seq2seq()
    text = _labels(drawn)
    assert "‖" in drawn.labels(), "(a) joins the summary to every decoder input"
    assert "$\\tanh(\\mathbf{W}_c[\\mathbf{s}_t; $$\\mathbf{c}$$])$" in text  # (a): [s_t; c]
    assert "$\\tanh(\\mathbf{W}_c[\\mathbf{s}_t; $$\\mathbf{c}_t$$])$" in text  # (b): [s_t; c_t], Luong's order
    assert text.count("GRU: $\\mathbf{s}_{t-1} \\to \\mathbf{s}_t$") == 2
    from n2t import seq2seq
    from n2t.text import Vocab

    vocab = Vocab.from_itos(["<unk>", "<pad>", "<bos>", "<eos>", "a"])
    plain = seq2seq.Seq2Seq(vocab, vocab, embed_dim=6, hidden_dim=5, attention="none")
    attentive = seq2seq.Seq2Seq(vocab, vocab, embed_dim=6, hidden_dim=5, attention="additive")
    assert plain.rnn.input_size == 6 + 2 * 5, "(a): every GRU step reads [e(y); c]"
    assert attentive.rnn.input_size == 6, "(b): the GRU reads e(y) alone; attention comes after it (Luong)"
    assert plain.combine.in_features == attentive.combine.in_features == 5 + 2 * 5, "tanh(W_c [s_t; c or c_t])"


def test_transformer_is_post_ln_with_the_profile_sizes(profile_name):
    cfg = profile.current().settings("transformer")
    drawn = diagrams.transformer()
    text = _labels(drawn)
    assert cfg.norm_first is False, "the chapter's model is post-LN; the diagram draws post-LN as the main picture"
    assert f"{cfg.d_model} → {cfg.d_ff} → {cfg.d_model}" in text
    assert f"encoder layer × {cfg.num_encoder_layers}" in text and f"decoder layer × {cfg.num_decoder_layers}" in text
    assert f"h = {cfg.num_heads}" in text
    assert "mask: causal" in text and text.count("mask: source padding") == 2
    # post-LN: every sub-layer box of the stacks is followed, just above it, by its Add & LayerNorm
    stacks = [b for b in drawn.boxes if b.label is not None and b.w == diagrams.BOX and b.y > 2.0]
    for x in {b.x for b in stacks}:
        column = sorted((b for b in stacks if b.x == x), key=lambda b: b.y)
        kinds = [b.label.get_text() == "Add & LayerNorm" for b in column]
        assert kinds == [False, True] * (len(column) // 2), f"column at x={x}: sub-layer, then Add & LayerNorm"
    assert "LayerNorm(x + Sublayer(x))" in text and "x + Sublayer(LayerNorm(x))" in text


def test_multi_head_attention_names_the_shapes(profile_name):
    cfg = profile.current().settings("transformer")
    text = _labels(diagrams.multi_head_attention())
    assert f"D = d = {cfg.d_model}, H = h = {cfg.num_heads} heads of D/H = {cfg.d_model // cfg.num_heads}" in text
    for shape in ("(B, H, L, D/H)", "(B, L_q, D)", "(B, H, L_q, D/H)"):
        assert f"${shape}$" in text


def test_pretraining_examples_are_what_the_objectives_make():
    """GPT: every next token; BERT: only the chosen position; T5: sentinels + spans, decoder shifted right."""
    from n2t import objectives
    examples = diagrams.EXAMPLES
    gpt = examples["GPT"]
    assert gpt["targets"] == [*gpt["inputs"][1:], "<eos>"]
    bert = examples["BERT"]
    chosen = [i for i, t in enumerate(bert["targets"]) if t is not None]
    assert len(chosen) == 1 and bert["inputs"][chosen[0]] == objectives.MASK
    text = [t if t != objectives.MASK else bert["targets"][i] for i, t in enumerate(bert["inputs"])]
    assert text == gpt["inputs"], "BERT's target is the hidden word of the same text"
    t5 = examples["T5"]
    sentinels = {"<X>": objectives.sentinel(0), "<Y>": objectives.sentinel(1)}
    words = sorted(set(gpt["inputs"]) | {"<eos>"})
    ids = {token: i for i, token in enumerate([*words, *sentinels.values()])}

    def encode(tokens):
        return [ids[sentinels.get(t, t)] for t in tokens]

    restored = objectives.restore_spans(encode(t5["inputs"]), encode(t5["targets"]), encode(["<X>", "<Y>"]))
    assert restored == encode(gpt["inputs"]), "input and target together give back the text"
    assert t5["targets"][0] == "<X>" and t5["targets"][-2:] == ["<Y>", "<eos>"]
    assert t5["decoder_inputs"] == ["<pad>", *t5["targets"][:-1]], "T5's decoder starts from <pad>, shifted right"
    text = _labels(diagrams.pretraining())
    assert f"{round(100 * profile.current().settings('pretraining').mask_rate)} %" in text


# ------------------------------------------------------------------ the pages: where the diagrams are


def _cells(chapter: str) -> list[str]:
    """The chapter's cells, each with its header line (py:percent)."""
    return re.split(r"\n(?=# %%)", (ROOT / "chapters" / chapter).read_text())


@pytest.mark.parametrize(("chapter", "name", "call", "builds"), CHAPTER_DIAGRAMS)
def test_each_chapter_draws_its_architecture_before_the_code_that_builds_it(chapter, name, call, builds):
    cells = _cells(chapter)
    drawing = [i for i, cell in enumerate(cells) if f'"name": "{name}"' in cell.splitlines()[0]]
    assert len(drawing) == 1, f"{chapter}: one cell names the figure {name}"
    cell = cells[drawing[0]]
    header = cell.splitlines()[0]
    assert call in cell, f"{chapter}: the figure {name} is drawn by {call}"
    assert '"remove-input"' in header, f"{chapter}: the diagram's code is plumbing (tag it remove-input)"
    assert '"image": {"alt": "' in header and '"caption": "' in header, f"{chapter}: {name} needs alt text and a caption"
    first_build = next(i for i, c in enumerate(cells) if builds in c and not c.startswith("# %% [markdown]"))
    assert drawing[0] < first_build, f"{chapter}: {name} comes after the code that builds the model ({builds!r})"
    text = (ROOT / "chapters" / chapter).read_text()
    assert f"{{numref}}`{name}`" in text, f"{chapter}: the prose refers to {name}"


def _make_diagrams():
    spec = importlib.util.spec_from_file_location("make_diagrams", ROOT / "book" / "figures" / "make_diagrams.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lineage_figure_is_chapter_12s_table_and_is_up_to_date():
    make = _make_diagrams()
    committed = (ROOT / "book" / "figures" / "lineage.svg").read_text()
    assert committed == make.lineage_svg(), "book/figures/lineage.svg is stale: run python book/figures/make_diagrams.py"
    shown = [t for t in diagrams.lineage(make.lineage_rows()).labels()]
    for model, chapter, _ in make.lineage_rows():
        assert model in shown, f"the lineage figure lacks {model}"
        assert shown[shown.index(model) - 1] == f"Ch. {chapter}", f"{model}: the figure and the table disagree"
    intro = (ROOT / "book" / "intro.md").read_text()
    assert "figures/lineage.svg" in intro


@pytest.mark.parametrize("module", ["diagrams", "drawing"])
def test_the_module_draws_with_matplotlib_numpy_and_the_books_style_only(module):
    """A picture must not import the models it draws: only the palette, the drawing style and the profile."""
    tree = ast.parse((ROOT / "lib" / "n2t" / f"{module}.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {f"{node.module}.{alias.name}" if node.module == "n2t" else node.module for alias in node.names}
    stdlib = {"__future__", "io", "itertools", "re", "textwrap", "collections.abc", "dataclasses", "typing"}
    allowed = {"matplotlib", "numpy", "n2t.plot", "n2t.profile", "n2t.drawing"}
    outside = {name for name in imported - stdlib if not any(name == a or name.startswith(a + ".") for a in allowed)}
    assert not outside, f"n2t.{module} imports {sorted(outside)}"
