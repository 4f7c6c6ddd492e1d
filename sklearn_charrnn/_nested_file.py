"""A whole fitted estimator held inside another's model file.

A mixture's file holds its components, a classifier's file its generator:
each nested estimator is one JSON entry, ``{"estimator", "params",
"sections"}`` (its class name, its parameters and exactly the sections its
own file would hold), and its arrays sit under a prefix (``components/0/``,
``generator/``) in the outer file. This module writes such an entry, checks
it by the nested class's own schema (its place, such as ``component
'rnn'``, opening every message), checks its arrays, and builds the
estimator back.

The nested classes are given as a table ``{class name: (class, module)}``,
where the module is the class's file module (``_charrnn_file``,
``_ngram_file``, ``_mixture_file``): it has ``schema(cls)``,
``fitted_state(estimator, ...)`` and ``build(cls, contents)``. This module
imports no estimator.
"""

from . import _persistence
from ._persistence import ModelContents, ModelFileError, check_str

ENTRY_KEYS = ("estimator", "params", "sections")


# ------------------------------------------------------------------ save


def fitted_state(estimator, formats, include_optimizer=True):
    """The parameters, sections and arrays of a nested fitted estimator.

    Parameters
    ----------
    estimator : estimator
        Fitted; its class must be one of ``formats``.
    formats : dict of str to (type, module)
        The classes the outer file may hold here, with their file modules.
    include_optimizer : bool, default=True
        Passed to the modules that store an optimizer.

    Returns
    -------
    params : dict
    sections : dict
    arrays : dict of str to ndarray
        Named as in the estimator's own file (no prefix).
    """
    name = type(estimator).__name__
    if name not in formats or type(estimator) is not formats[name][0]:
        raise ValueError(
            f"Cannot save: the model file holds {sorted(formats)} here, not "
            f"{name}. Use pickle or joblib instead."
        )
    return formats[name][1].fitted_state(estimator, include_optimizer)


def entry(estimator, formats, arrays, prefix, include_optimizer=True):
    """The JSON entry of a nested estimator; its arrays join ``arrays``.

    Parameters
    ----------
    estimator, formats, include_optimizer
        As for :func:`fitted_state`.
    arrays : dict of str to ndarray
        Receives the estimator's arrays under ``prefix`` (modified in place).
    prefix : str
        Where its arrays go, ending in ``/``.

    Returns
    -------
    entry : dict
        ``{"estimator", "params", "sections"}``.
    """
    params, sections, own = fitted_state(estimator, formats, include_optimizer)
    arrays.update((prefix + key, value) for key, value in own.items())
    return {
        "estimator": type(estimator).__name__,
        "params": _persistence.params_to_json(params, arrays, prefix),
        "sections": sections,
    }


# ------------------------------------------------------------------ check


def check_entry(entry, where, prefix, formats, place):
    """Check a nested entry by its class's own schema.

    Parameters
    ----------
    entry : dict
        Holds at least :data:`ENTRY_KEYS` (the caller checks its keys).
    where : str
        Its place in the metadata (``components[0]``), for messages.
    prefix : str
        Where its arrays are.
    formats : dict of str to (type, module)
        The classes accepted here.
    place : str
        Opens every message of the nested schema (``component 'rnn'``).

    Returns
    -------
    nested : dict
        ``class_name``, ``params`` (as checked, a RandomState still JSON),
        ``state`` (what the nested schema's ``check_sections`` returned),
        ``prefix`` and ``schema``.
    arrays : dict of str to (shape, dtype)
        Every array it implies, under ``prefix``.
    """
    class_name = check_str(entry["estimator"], f"{where}.estimator", set(formats))
    nested_class, module = formats[class_name]
    nested_schema = module.schema(nested_class)
    try:
        params, arrays = _persistence.check_params(
            entry["params"],
            nested_schema.check_params,
            where=f"{where}.params",
            prefix=prefix,
        )
        sections = _persistence.check_keys(
            entry["sections"], f"{where}.sections", nested_schema.sections
        )
        state, own = nested_schema.check_sections(dict(params), sections)
    except ValueError as error:
        raise ModelFileError(f"{place}: {str(error).rstrip('.')}") from None
    arrays.update((prefix + key, value) for key, value in own.items())
    nested = {
        "class_name": class_name,
        "params": params,
        "state": state,
        "prefix": prefix,
        "schema": nested_schema,
    }
    return nested, arrays


def own_arrays(arrays, prefix):
    """The arrays under ``prefix``, named without it."""
    return {
        key[len(prefix) :]: value
        for key, value in arrays.items()
        if key.startswith(prefix)
    }


def check_arrays(nested, arrays, place):
    """Check a nested estimator's array values by its schema."""
    try:
        nested["schema"].check_arrays(
            nested["state"], own_arrays(arrays, nested["prefix"])
        )
    except ValueError as error:
        raise ModelFileError(f"{place}: {str(error).rstrip('.')}") from None


# ------------------------------------------------------------------ build


def build(nested, arrays, versions, formats):
    """The nested estimator, from checked contents (nothing can fail here).

    ``arrays`` loses the keys of a RandomState parameter (modified in place).
    """
    prefix = nested["prefix"]
    nested_class, module = formats[nested["class_name"]]
    params = _persistence.params_from_json(nested["params"], arrays, prefix)
    contents = ModelContents(
        nested["class_name"],
        params,
        nested["state"],
        own_arrays(arrays, prefix),
        versions,
    )
    return module.build(nested_class, contents)
