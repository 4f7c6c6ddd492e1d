"""Bad input gets a ValueError or TypeError whose message names the problem."""

import os
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_charrnn import CharRNNGenerator, KneserNeyGenerator

NAMES = ["anna", "bob", "carla", "dave", "emma", "anya", "bella"]


def _small(**params):
    return CharRNNGenerator(
        hidden_size=8, max_iter=2, early_stopping=False, random_state=0, **params
    )


@pytest.fixture(scope="module")
def fitted():
    with pytest.warns(ConvergenceWarning):
        return _small().fit(NAMES)


@pytest.mark.parametrize(
    "make", [list, lambda: np.array([], dtype=str), lambda: np.array([], dtype=object)]
)
def test_empty_list(make):
    """An empty list, or an empty 1-D array or Series: said to be empty (not
    "a 1-D array ... reshape your data")."""
    with pytest.raises(ValueError, match="X is empty.*0 samples"):
        _small().fit(make())


def test_empty_series():
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="X is empty.*0 samples"):
        _small().fit(pd.Series([], dtype=object))


def test_all_empty_strings():
    with pytest.raises(ValueError, match="only empty strings"):
        _small().fit(["", "", ""])


def test_some_empty_strings_are_skipped_with_a_warning():
    with pytest.warns(UserWarning, match="Skipped 2 empty strings"):
        gen = _small().fit(["", "ab", "", "abc"])
    assert gen.vocabulary_ == {"a": 1, "b": 2, "c": 3}
    assert gen.max_length_ == 3


def test_non_str_item_names_index_and_type():
    with pytest.raises(TypeError, match=r"X\[2\] is int 7.*must be a str"):
        _small().fit(["ab", "cd", 7])
    # numbers NumPy cannot test for NaN: named too, not a ufunc error
    with pytest.raises(TypeError, match=r"X\[1\] is int 1180591620717411303424"):
        _small().fit(["ab", 2**70])
    with pytest.raises(TypeError, match=r"X\[1\] is Fraction"):
        _small().fit(["ab", Fraction(1, 3)])


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan])
def test_missing_values(missing):
    with pytest.raises(ValueError, match=r"X\[1\] is (None|nan): missing values"):
        _small().fit(["ab", missing, "cd"])


def test_missing_values_when_scoring(fitted):
    with pytest.raises(ValueError, match=r"X\[0\] is None"):
        fitted.score_samples([None, "anna"])


def test_bytes_item():
    with pytest.raises(TypeError, match=r"X\[1\] is bytes.*decode"):
        _small().fit(["ab", b"cd"])


def test_bytes_array_is_refused_like_a_list_of_bytes():
    with pytest.raises(TypeError, match=r"X\[0\] is bytes.*decode"):
        _small().fit(np.array([b"ab", b"cd"]))
    with pytest.raises(TypeError, match=r"X\[1\] is bytes.*decode"):
        _small().fit(np.array(["ab", b"cd"], dtype=object))


@pytest.mark.parametrize(
    "X, rows",
    [
        ([["a", "b"], ["c"]], "row 0 holds 2 tokens while row 1 holds 1 token:"),
        (["ab", ["c"]], "row 0 holds a str 'ab', not a row of tokens while row 1"),
        ([("a", "b"), ("c", "d"), "ef"], "while row 2 holds a str 'ef'"),
    ],
)
def test_rows_of_tokens_of_different_lengths_are_named(X, rows):
    with pytest.raises(ValueError, match=rows) as error:
        _small().fit(X)
    assert "inhomogeneous" not in str(error.value)
    assert "list of str" in str(error.value)


def test_bytes_instead_of_list():
    with pytest.raises(TypeError, match="got a single bytes"):
        _small().fit(b"anna")


def test_single_str_instead_of_list(fitted):
    with pytest.raises(TypeError, match=r"got a single str 'anna'.*Wrap it in a list"):
        _small().fit("anna")
    with pytest.raises(TypeError, match="got a single str"):
        fitted.score("anna")


def test_not_iterable():
    with pytest.raises(TypeError, match="iterable of str.*got int"):
        _small().fit(5)


@pytest.mark.parametrize("dtype", [np.float64, np.int64, object])
def test_three_d_array(dtype):
    with pytest.raises(ValueError, match="dim 3"):
        _small().fit(np.zeros((4, 3, 2), dtype=dtype))


@pytest.mark.parametrize("make", [sp.csr_matrix, sp.csr_array, sp.coo_matrix])
def test_sparse(make):
    X = make(np.eye(4))
    with pytest.raises(TypeError, match="does not accept sparse input"):
        _small().fit(X)


def test_none_in_object_array():
    X = np.array([["a", "b"], ["c", None]], dtype=object)
    with pytest.raises(ValueError, match="None at row 1, column 1"):
        _small().fit(X)


def test_missing_tokens_are_named_wherever_they_are():
    """A NaN among str rows would become the token 'nan' (NumPy makes the
    rows str); pd.NA failed inside scikit-learn's own check."""
    with pytest.raises(ValueError, match="nan at row 1, column 0: missing values"):
        KneserNeyGenerator().fit([["a", "b"], [float("nan"), "a"]])
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="<NA> at row 0, column 1: missing values"):
        KneserNeyGenerator().fit([["a", pd.NA], ["b", "a"]])
    frame = pd.DataFrame(
        {"a": ["x", "q", "w"], "b": pd.array(["y", pd.NA, "z"], dtype="string")}
    )
    with pytest.raises(ValueError, match="<NA> at row 1, column 1: missing values"):
        KneserNeyGenerator().fit(frame)


@pytest.mark.parametrize("temperature", [0, -1.0])
def test_temperature_must_be_positive(fitted, temperature):
    # The message names the parameter, the allowed range and the bad value.
    match = rf"temperature.*(> 0|\(0\.0, inf\)).*{temperature}"
    with pytest.raises(ValueError, match=match):
        fitted.sample(3, temperature=temperature)
    with pytest.raises(ValueError, match=match):
        fitted.complete("an", temperature=temperature)


@pytest.mark.parametrize("n_samples", [0, -2, 2.5])
def test_n_samples_at_least_one(fitted, n_samples):
    match = rf"n_samples.*(>= 1|\[1, inf\)).*{n_samples}"
    with pytest.raises(ValueError, match=match):
        fitted.sample(n_samples)


def test_max_length_at_least_one(fitted):
    with pytest.raises(ValueError, match=r"max_length.*(>= 1|\[1, inf\)).*0"):
        fitted.sample(2, max_length=0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hidden_size": 0}, "'hidden_size' parameter"),
        ({"cell": "foo"}, "'cell' parameter.*'foo'"),
        ({"n_layers": 0}, "'n_layers' parameter"),
        ({"dropout": 1.0}, "'dropout' parameter"),
        ({"learning_rate_init": 0.0}, "'learning_rate_init' parameter"),
        ({"beta_2": 1.0}, "'beta_2' parameter"),
        ({"dtype": "float16"}, "'dtype' parameter"),
    ],
)
def test_invalid_hyperparameters(params, match):
    gen = CharRNNGenerator(max_iter=1, **params)
    with pytest.raises(InvalidParameterError, match=match) as info:
        gen.fit(NAMES)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "X, message",
    [
        (
            np.array([[1, "1", "a"]] * 3, dtype=object),
            r"X mixes tokens of several types: expected tokens of one type, got "
            r"number 1 at row 0, column 0 and str '1' at row 0, column 1\. Convert",
        ),
        ([["b", True], ["True", "b"]], r"got str 'b' .* and bool True at row 0"),
        ([["ab"], [12]] * 2, r"got str 'ab' at row 0, column 0 and number 12"),
        ([[True, 1], [0, 2]] * 2, r"got bool True at row 0, column 0 and number 1"),
        (
            np.array([["a", 3], ["b", 4]] * 2, dtype=object),
            r"got str .a. .* number 3 .* for example every token to str",
        ),
        (
            [["b", "a\x00"]] * 3,
            r"'a\\x00' at row 0, column 1: a token may not end in the NUL",
        ),
        ([["\x00", "a"]] * 3, r"would be read as ''\)"),
        (
            [[2**70, 1]] * 3,
            r"the int 1180591620717411303424 at row 0, column 0: int tokens must",
        ),
        (
            np.array([[1, 2**63]] * 3, dtype=np.uint64),
            r"the int 9223372036854775808 at row 0, column 1: int tokens must fit",
        ),
    ],
)
@pytest.mark.parametrize("make", [CharRNNGenerator, KneserNeyGenerator])
def test_cells_that_would_merge_into_one_token_are_refused(make, X, message):
    """NumPy would make one token of them: '1' and 1 (the str of every
    cell), 'a\\x00' and 'a' (a str array drops a trailing NUL), two ints
    beyond 64 bits (one float)."""
    with pytest.raises(ValueError, match=message):
        make().fit(X)


def test_a_frame_of_bool_and_int_columns_is_refused():
    """scikit-learn makes it an int array, where True is the token 1."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": [1, 2, 3, 1], "b": [True, False, True, True]})
    with pytest.raises(ValueError, match=r"got bool True at row 0, column 1 and"):
        KneserNeyGenerator(order=2).fit(X)
    X["b"] = X["b"].astype(int)  # as the message says: one type
    assert list(KneserNeyGenerator(order=2).fit(X).vocabulary_) == [0, 1, 2, 3]


def test_an_object_array_of_ints_keeps_them_ints():
    """As a float, 2**53 + 1 would be 2**53."""
    X = np.array([[2**53, 2**53 + 1, 1]] * 3, dtype=object)
    model = KneserNeyGenerator(order=2).fit(X)
    assert list(model.vocabulary_) == [1, 2**53, 2**53 + 1]
    assert all(type(token) is int for token in model.vocabulary_)
    scores = model.score_samples(np.array([[2**53 + 1, 2**53, 1]], dtype=object))
    assert np.isfinite(scores).all()
    other = model.score_samples(np.array([[2**53, 2**53 + 1, 1]]))
    assert scores[0] != other[0]


def test_strings_on_token_model():
    X = np.random.default_rng(0).integers(0, 5, size=(20, 6))
    with pytest.warns(ConvergenceWarning):
        gen = _small().fit(X)
    with pytest.raises(ValueError, match="fitted on 2-D token arrays; X is strings"):
        gen.score(["anna"])
    with pytest.raises(ValueError, match="fitted on 2-D token arrays"):
        gen.score_samples(["anna"])


def test_token_array_on_string_model(fitted):
    with pytest.raises(ValueError, match="fitted on strings; X is a 2-D array"):
        fitted.score(np.ones((3, 4), dtype=int))


def test_complete_rejects_non_str_prefix(fitted):
    with pytest.raises(TypeError, match="prefix must be a str or a list of str"):
        fitted.complete(3)
    # named as an item of X is (the same check)
    with pytest.raises(ValueError, match=r"prefix\[0\] is None: missing values"):
        fitted.complete([None])
    with pytest.raises(TypeError, match=r"prefix\[1\] is bytes b'bo': .* decode"):
        fitted.complete(["an", b"bo"])
    with pytest.raises(TypeError, match=r"prefix\[1\] is int 3: every item of prefix"):
        fitted.complete(["an", 3])


def test_complete_takes_prefixes_as_an_array_or_a_series_too(fitted):
    pd = pytest.importorskip("pandas")
    expected = fitted.complete(["an", "bo"], random_state=0)
    assert fitted.complete(np.array(["an", "bo"]), random_state=0) == expected
    assert fitted.complete(pd.Series(["an", "bo"]), random_state=0) == expected
    assert fitted.complete(("an", "bo"), random_state=0) == expected


# ------------------------------------------- unordered and missing input


@pytest.mark.parametrize(
    "X",
    [set(NAMES), frozenset(NAMES), dict.fromkeys(NAMES).keys()],
    ids=["set", "frozenset", "dict_keys"],
)
def test_unordered_collections_are_refused(X, fitted):
    """A set iterates in hash order, which changes with PYTHONHASHSEED."""
    with pytest.raises(TypeError, match=r"unordered collection.*sorted\(X\)"):
        _small().fit(X)
    with pytest.raises(TypeError, match="unordered collection"):
        fitted.score_samples(X)


def test_a_set_would_give_another_model_under_another_hash_seed():
    """Why sets are refused: their order is the hash seed's."""
    import subprocess
    import sys

    code = "print(list({'anna', 'bob', 'carla', 'dave', 'emma', 'anya'}))"
    orders = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(4)
    }
    assert len(orders) > 1


def test_a_dict_is_refused():
    with pytest.raises(TypeError, match=r"X is a dict.*list\(X\)"):
        _small().fit(dict.fromkeys(NAMES, 1))


@pytest.mark.parametrize("missing", ["None", "NA"])
def test_series_with_missing_names_the_item(missing):
    pd = pytest.importorskip("pandas")
    value = None if missing == "None" else pd.NA
    X = pd.Series(["anna", "bob", value, "carla"], dtype=object)
    with pytest.raises(ValueError, match=r"X\[2\] is (None|<NA>): missing values"):
        _small().fit(X)
    X.index = ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match=r"X\[2\] \(index label 'c'\) is"):
        _small().fit(X)
    string = pd.Series(["anna", value, "bob"], dtype="string")
    with pytest.raises(ValueError, match=r"X\[1\] is .*: missing values"):
        _small().fit(string)


def test_lone_surrogate_names_the_item(fitted):
    X = ["anna", "bob", "ca\ud800rla"]
    match = r"X\[2\] = 'ca\\ud800rla' holds the lone surrogate '\\ud800' at position 2"
    with pytest.raises(ValueError, match=match):
        _small().fit(X)
    with pytest.raises(ValueError, match=match):
        fitted.score_samples(X)


@pytest.mark.parametrize(
    "name", ["hidden_size", "n_layers", "max_iter", "batch_size", "n_iter_no_change"]
)
def test_bool_for_an_int_parameter_is_refused(name):
    with pytest.raises(
        InvalidParameterError, match=rf"'{name}' parameter .* int \(not a bool\)"
    ):
        _small().set_params(**{name: True}).fit(NAMES)


def test_bool_for_a_float_parameter_is_refused():
    with pytest.raises(InvalidParameterError, match="'dropout' parameter"):
        _small(dropout=False).fit(NAMES)


@pytest.mark.parametrize(
    "options",
    [
        {"n_samples": True},
        {"temperature": True},
        {"top_k": True},
        {"min_length": False},
        {"max_length": True},
    ],
)
def test_bool_for_a_sampling_option_is_refused(options):
    model = KneserNeyGenerator().fit(NAMES)
    name = next(iter(options))
    with pytest.raises(
        InvalidParameterError, match=rf"'{name}' parameter .*not a bool"
    ):
        model.sample(**{"n_samples": 2, **options})


def test_epsilon_too_small_for_float32_is_blamed_on_epsilon():
    with pytest.raises(
        InvalidParameterError,
        match=r"'epsilon' parameter is too small for dtype='float32'.*"
        r"epsilon >= 3.72e-37",
    ):
        _small(epsilon=1e-300).fit(NAMES)
    # the smallest value the message names works; float64 takes 1e-300
    with pytest.warns(ConvergenceWarning):
        model = _small(epsilon=3.8e-37).fit(NAMES)
    assert all(np.isfinite(w).all() for w in model.weights_.values())
    with pytest.warns(ConvergenceWarning):
        model = _small(epsilon=1e-300, dtype="float64").fit(NAMES)
    assert all(np.isfinite(w).all() for w in model.weights_.values())


def test_one_empty_string_is_singular():
    with pytest.warns(UserWarning, match=r"Skipped 1 empty string in X\."):
        _small().fit(["", "ab", "abc"])
