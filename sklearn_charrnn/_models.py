"""``load_model`` and ``save_model``: the model file for any estimator.

This module sits above the estimators: it imports them to know which class
a file names, and none of them imports it.
"""

import inspect

from . import _classifier_file, _persistence
from ._classifier import CharRNNClassifier

# class name -> (class, module with its schema and build): every generator a
# classifier's file may hold, and the classifier
_FORMATS = {
    **_classifier_file.GENERATORS,
    "CharRNNClassifier": (CharRNNClassifier, _classifier_file),
}


def save_model(estimator, path, *, include_optimizer=True):
    """Write a fitted estimator to a safe model file: ``estimator.save(path)``.

    Parameters
    ----------
    estimator : CharRNNGenerator, KneserNeyGenerator, GeneratorMixture or \
CharRNNClassifier
        A fitted estimator.
    path : str or os.PathLike
        Where to write; used as given (``.npz`` is a good suffix, as
        ``numpy.load`` opens the file).
    include_optimizer : bool, default=True
        Store AdamW's moments (twice the size of the weights) of a
        :class:`CharRNNGenerator`, or of each in a mixture, so that
        ``warm_start`` or ``partial_fit`` continue exactly where training
        stopped. Without them, a loaded model resumes with fresh moments.
        For a :class:`CharRNNClassifier`, those of its generator. A
        :class:`KneserNeyGenerator` has no optimizer: it is ignored.

    See Also
    --------
    CharRNNGenerator.save : what is written, and the errors.
    """
    if not isinstance(estimator, tuple(cls for cls, _ in _FORMATS.values())):
        raise TypeError(
            f"save_model writes an estimator of this package ({', '.join(_FORMATS)});"
            f" got {type(estimator).__name__}. Pickle or joblib save any other."
        )
    if "include_optimizer" in inspect.signature(estimator.save).parameters:
        estimator.save(path, include_optimizer=include_optimizer)
    else:
        estimator.save(path)


def load_model(path):
    """Read a model file written by :func:`save_model`, without unpickling.

    The file names the estimator class it holds; any estimator of this
    package loads.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    estimator : CharRNNGenerator, KneserNeyGenerator, GeneratorMixture or \
CharRNNClassifier
        A fitted estimator whose ``score_samples`` and seeded ``sample`` (a
        classifier's ``predict_proba`` and its generator's seeded ``sample``)
        give the same results as the one saved.

    Raises
    ------
    ModelFileError
        If the file is not a valid model file (see :class:`ModelFileError`);
        no model is returned and nothing from the file is executed.
    OSError
        If the file cannot be read (for example, it does not exist).
    """
    schemas = {name: module.schema(cls) for name, (cls, module) in _FORMATS.items()}
    contents = _persistence.read_model(path, schemas)
    cls, module = _FORMATS[contents.estimator]
    return module.build(cls, contents)
