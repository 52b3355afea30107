"""Extra covariates of a row fit, and segments with their own scale.

``fit(..., covariates={"price": prices, "express": flags})`` adds ``sum_j gamma_j x_j`` to
every row's value before the ordinal link, next to the disconfirmation value: a price
effect, segment dummies, anything numeric per row (as ``X beta`` in statsmodels'
``OrderedModel`` or R's ``ordinal::clm``). A coefficient is in value units (the unit of
the cut points), so it reads as "this much satisfaction per unit of the covariate". A
model fitted with covariates needs the same columns to ``predict`` and ``evaluate``;
:meth:`score` (one outcome, pure Python) leaves them out, as if they were all zero.

``fit(..., scale_by=segments)`` gives each segment (one label per row) its own logistic
scale, ``scale * ratio[segment]`` (the scale effect of ``ordinal::clm``): the first label
in sorted order is the reference (ratio 1), and the others' ratios are fitted, named
``scale[label]``. A ratio above 1 means noisier scores in that segment.

numpy is passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

from promisekit._validation import describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.satisfaction._results import Array


def _as_mapping(covariates: Any) -> Mapping[str, Any]:
    if isinstance(covariates, Mapping):
        return covariates
    columns = getattr(covariates, "columns", None)  # a pandas DataFrame
    if columns is not None and hasattr(covariates, "__getitem__"):
        return {str(name): covariates[name] for name in columns}
    raise InvalidTypeError(
        f"'covariates' must be a mapping of name to column (dict, DataFrame) or None "
        f"(got {type(covariates).__name__} {describe(covariates)})"
    )


def covariate_columns(
    np: ModuleType, covariates: Any, n: int, reserved: Sequence[str]
) -> tuple[tuple[str, ...], Array | None]:
    """The names and the ``(p, n)`` float columns of ``covariates`` (``None`` if none)."""
    if covariates is None:
        return (), None
    mapping = _as_mapping(covariates)
    names: list[str] = []
    columns = []
    for name, column in mapping.items():
        if not isinstance(name, str) or not name:
            raise InvalidTypeError(
                f"'covariates' must have non-empty str names (got {describe(name)})"
            )
        if name in reserved:
            raise InvalidValueError(
                f"'covariates' must not reuse a parameter name of the model "
                f"({', '.join(reserved)}) (got {describe(name)})"
            )
        try:
            values = np.asarray(column, dtype=float)
        except (TypeError, ValueError):
            raise InvalidTypeError(
                f"'covariates' column {describe(name)} must contain numbers "
                f"(got {describe(column)})"
            ) from None
        if values.ndim != 1 or values.shape[0] != n:
            raise InvalidValueError(
                f"'covariates' column {describe(name)} must have one number per outcome "
                f"({n}) (got shape {values.shape})"
            )
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            index = int(bad[0])
            raise InvalidValueError(
                f"'covariates' column {describe(name)} must be finite "
                f"(got {float(values[index])!r} at index {index})"
            )
        names.append(name)
        columns.append(values)
    if not columns:
        return (), None
    return tuple(names), np.stack(columns)


def predict_columns(np: ModuleType, fitted: Sequence[str], covariates: Any, n: int) -> Array | None:
    """The columns a fitted model needs, in its order (``None`` when it has none)."""
    if not fitted:
        if covariates is not None and len(_as_mapping(covariates)):
            raise InvalidValueError(
                f"'covariates' must be None: the model was fitted without covariates "
                f"(got {describe(list(_as_mapping(covariates)))})"
            )
        return None
    if covariates is None:
        raise InvalidValueError(
            f"'covariates' must be given: the model was fitted with {', '.join(fitted)} (got None)"
        )
    mapping = _as_mapping(covariates)
    if set(mapping) != set(fitted):
        raise InvalidValueError(
            f"'covariates' must have the columns the model was fitted with "
            f"({', '.join(fitted)}) (got {describe(list(mapping))})"
        )
    _, columns = covariate_columns(np, {name: mapping[name] for name in fitted}, n, ())
    return columns


def segment_index(
    np: ModuleType, scale_by: Any, n: int, known: Sequence[str] | None = None
) -> tuple[tuple[str, ...], Array | None]:
    """Segment labels (reference first) and each row's index, or ``((), None)``.

    With ``known`` (the labels of a fit), a label outside them is an error; without,
    the labels are those of ``scale_by``, sorted.
    """
    if scale_by is None:
        return (), None
    if isinstance(scale_by, (str, bytes, Mapping)) or not hasattr(scale_by, "__len__"):
        raise InvalidTypeError(
            f"'scale_by' must be a sequence of segment labels, one per outcome "
            f"(got {type(scale_by).__name__} {describe(scale_by)})"
        )
    if len(scale_by) != n:
        raise InvalidValueError(
            f"'scale_by' must have one label per outcome ({n}) (got {len(scale_by)})"
        )
    labels = [str(item) for item in scale_by]
    order = tuple(sorted(set(labels))) if known is None else tuple(known)
    position = {label: i for i, label in enumerate(order)}
    index = np.empty(n, dtype=np.intp)
    for row, label in enumerate(labels):
        found = position.get(label)
        if found is None:
            raise InvalidValueError(
                f"'scale_by' must use the segments of the fit ({', '.join(order)}) "
                f"(got {describe(label)} at index {row})"
            )
        index[row] = found
    return order, index
