"""GeneratorMixture fitted with labels, and the command line's labels."""

import pickle

import numpy as np
import pytest
from scipy.special import logsumexp

from sklearn_charrnn import (
    CharRNNGenerator,
    GeneratorMixture,
    KneserNeyGenerator,
    cli,
    load_model,
)
from sklearn_charrnn._sequences import encode
from sklearn_charrnn.generation import token_log_probs

LOW = ["abba", "cab", "dace", "bead", "ace", "bad", "cade", "ebb", "dab", "abed"]
LOW += ["baba", "cabbed", "deb", "aba"]
HIGH = ["pots", "stop", "tops", "spot", "post", "opt", "pros", "rot", "sort"]
X = LOW + HIGH
Y = ["low"] * len(LOW) + ["high"] * len(HIGH)


def _mixture(**params):
    estimators = [
        ("bigram", KneserNeyGenerator(order=2)),
        ("trigram", KneserNeyGenerator(order=3)),
    ]
    return GeneratorMixture(estimators, random_state=0, **params)


@pytest.fixture(scope="module")
def labelled():
    return _mixture().fit(X, Y)


def test_components_learn_the_labels(labelled):
    assert labelled.classes_.tolist() == ["high", "low"]
    assert labelled.class_count_.tolist() == [len(HIGH), len(LOW)]
    for component in labelled.estimators_:
        assert component.classes_.tolist() == ["high", "low"]
    assert np.isclose(labelled.weights_.sum(), 1) and labelled.em_curve_


def test_scores_are_the_weighted_token_sums_under_the_labels(labelled):
    names, labels = ["cab", "sort", "bead"], ["low", "high", "high"]
    expected = []
    for name, label in zip(names, labels, strict=True):
        index = labelled.classes_.tolist().index(label)
        codes, lengths = encode([name], "str", list(labelled.vocabulary_))
        per_component = [
            token_log_probs(e._steps(np.float64, label=index), codes, lengths)
            for e in labelled.estimators_
        ]  # the components share the mixture's vocabulary
        mixed = logsumexp(
            np.log(labelled.weights_)[:, None] + np.array(per_component), axis=0
        )
        expected.append(mixed.sum())
    np.testing.assert_allclose(labelled.score_samples(names, labels), expected)
    n_tokens = sum(len(n) + 1 for n in names)
    assert np.isclose(labelled.score(names, labels), sum(expected) / n_tokens)
    joint = np.column_stack(
        [labelled.score_samples(names, label) for label in ("high", "low")]
    ) + np.log(labelled.class_count_ / labelled.class_count_.sum())
    np.testing.assert_allclose(labelled.score_samples(names), logsumexp(joint, axis=1))


def test_sample_and_complete_under_labels(labelled):
    assert len(labelled.sample(4, y=["low", "high", "low", "high"])) == 4
    assert labelled.complete("ca", y="low", random_state=0).startswith("ca")
    best = labelled.complete("", n_samples=2, most_likely=True, y="high")
    assert len(best) == 2
    new = labelled.sample(50, y="low", exclude_training=True, random_state=0)
    assert new and not set(new) & set(LOW)
    assert set(labelled.sample(300, y="low", random_state=0)) & set(LOW)


def test_label_errors(labelled):
    with pytest.raises(ValueError, match="'middle'"):
        labelled.sample(2, y="middle")
    with pytest.raises(ValueError, match="fitted with labels"):
        labelled.sample(2)
    plain = _mixture().fit(X)
    with pytest.raises(ValueError, match="without labels"):
        plain.score_samples(["cab"], ["low"])

    class Unlabelled(KneserNeyGenerator):
        def _steps(self, dtype=None):
            return super()._steps(dtype)

    mixture = GeneratorMixture([("kn", KneserNeyGenerator()), ("odd", Unlabelled())])
    with pytest.raises(ValueError, match="'odd' \\(Unlabelled\\) cannot take labels"):
        mixture.fit(X, Y)


def test_file_and_pickle_keep_the_labels(tmp_path):
    mixture = GeneratorMixture(
        [
            ("rnn", CharRNNGenerator(hidden_size=8, max_iter=3, early_stopping=False)),
            ("ngram", KneserNeyGenerator(order=3)),
        ],
        random_state=0,
    )
    with pytest.warns(Warning):  # max_iter=3 does not converge
        mixture.fit(X, Y)
    path = tmp_path / "mixture.npz"
    mixture.save(path)
    for copy in (load_model(path), pickle.loads(pickle.dumps(mixture))):
        assert copy.classes_.tolist() == ["high", "low"]
        assert copy.sample(5, y="low", random_state=2) == mixture.sample(
            5, y="low", random_state=2
        )
        np.testing.assert_allclose(
            copy.score_samples(X, Y), mixture.score_samples(X, Y)
        )


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize("model", ["ngram", "mixture", "rnn"])
def test_every_model_of_the_command_line_takes_labels(model, capsys, tmp_path):
    names = tmp_path / "names.tsv"
    names.write_text("".join(f"{n}\t{y}\n" for n, y in zip(X, Y, strict=True)))
    path = str(tmp_path / f"{model}.npz")
    flags = ["--model", model, "--seed", "0", "-q"]
    if model != "ngram":
        flags += ["--hidden-size", "8", "--max-iter", "2"]
    code = cli.main(["fit", str(names), "--label-column", "2", "-o", path, *flags])
    assert code == 0
    fitted = load_model(path)
    assert fitted.classes_.tolist() == ["high", "low"]
    capsys.readouterr()
    argv = ["sample", path, "--label", "low", "-n", "3", "--seed", "1"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    options = cli._generation_options(cli.build_parser().parse_args(argv))
    assert out == fitted.sample(3, y="low", **options)
    assert cli.main(["sample", path, "--label", "middle"]) != 0
    assert "'middle'" in capsys.readouterr().err
