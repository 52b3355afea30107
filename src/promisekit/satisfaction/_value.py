"""Value functions: how a disconfirmation ``x`` (positive = better than expected) is felt.

:class:`ProspectValue` is the loss-averse value function of prospect theory (optionally
saturating); :class:`ToleranceValue` the piecewise-linear zone of tolerance. Both are
small frozen objects: calling one on a float is pure Python (``math``). Each also has a
private vectorized form (numpy, imported lazily by the fitting code) giving the
derivatives of the value with respect to its parameters, so that fitting uses exact
gradients, and says which of its parameters are in value units (``_scaled``: they scale
with the logistic scale of an ordered logit) and which shape the curve.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from promisekit._validation import check_finite
from promisekit.errors import InvalidValueError
from promisekit.satisfaction._common import check_non_negative, check_positive

if TYPE_CHECKING:
    from types import ModuleType

    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

__all__ = ["ProspectValue", "ToleranceValue"]

#: Ceiling of ``log(|x| ** power)`` in the vectorized (fitting) form: powers are capped at
#: ``exp(300)`` (about ``1.9e130``) so that no parameter a fit tries can overflow.
_LOG_MAX = 300.0


def _alpha(value: Any) -> float:
    return check_positive("alpha", value)


def _beta(value: Any) -> float:
    return check_positive("beta", value)


def _lam(value: Any) -> float:
    return check_positive("lam", value)


def _gain_cap(value: Any) -> float | None:
    return None if value is None else check_positive("gain_cap", value)


def _loss_cap(value: Any) -> float | None:
    return None if value is None else check_positive("loss_cap", value)


_POWER_MAX = math.exp(_LOG_MAX)


def _power(x: float, power: float) -> float:
    """``x ** power`` for ``x >= 0``, capped at ``exp(_LOG_MAX)`` instead of overflowing."""
    try:
        return min(float(x**power), _POWER_MAX)
    except OverflowError:
        return _POWER_MAX


def _saturate(p: float, cap: float | None) -> float:
    """``cap * (1 - exp(-p / cap))``: ``p`` for small ``p``, never above ``cap``."""
    if cap is None:
        return p
    return -cap * math.expm1(-p / cap)


@attrs.frozen(slots=True, repr=False)
class ProspectValue:
    """The prospect-theory value function: concave for gains, steeper and convex for losses.

    .. code-block:: text

        v(x) =  x ** alpha            for x >= 0   (gains)
        v(x) = -lam * (-x) ** beta    for x <  0   (losses)

    Defaults are the median estimates of Tversky & Kahneman (1992), "Advances in prospect
    theory: cumulative representation of uncertainty", *Journal of Risk and Uncertainty*
    5(4): ``alpha = beta = 0.88`` (diminishing sensitivity) and ``lam = 2.25`` (a loss
    weighs about twice and a quarter as much as an equal gain).

    **Saturation (optional).** With ``gain_cap`` (or ``loss_cap``) set, the power is
    passed through ``cap * (1 - exp(-p / cap))``: unchanged for small ``p``, levelling
    off at ``cap`` — gains never exceed ``gain_cap``, losses never exceed
    ``lam * loss_cap``. Without caps (the default) this is exactly prospect theory.
    Delivery data often show a steep penalty over the first days late that then
    saturates, and only a small gain for being early: set both caps to express that
    shape, and :meth:`~promisekit.satisfaction.Disconfirmation.fit` estimates them.

    Args:
        alpha: Curvature for gains (``> 0``; below 1 is concave).
        beta: Curvature for losses (``> 0``; below 1 the first units of a loss hurt
            most).
        lam: Loss aversion ``lambda`` (``> 0``; above 1 losses loom larger).
        gain_cap: Saturation level of gains (``> 0``), or ``None``.
        loss_cap: Saturation level of the loss power (``> 0``), or ``None``.

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is not finite or not positive.

    Example:
        >>> v = ProspectValue()
        >>> v(1.0), v(-1.0), round(v(10.0), 4), round(v(-10.0), 3)
        (1.0, -2.25, 7.5858, -17.068)
        >>> round(ProspectValue(loss_cap=2.0)(-100.0), 3)   # never below -2.25 * 2
        -4.5

    .. versionadded:: 0.1.0
    """

    alpha: float = attrs.field(default=0.88, converter=_alpha)
    beta: float = attrs.field(default=0.88, converter=_beta)
    lam: float = attrs.field(default=2.25, converter=_lam)
    gain_cap: float | None = attrs.field(default=None, converter=_gain_cap, kw_only=True)
    loss_cap: float | None = attrs.field(default=None, converter=_loss_cap, kw_only=True)

    def __repr__(self) -> str:
        caps = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("gain_cap", "loss_cap")
            if getattr(self, name) is not None
        )
        return f"ProspectValue(alpha={self.alpha!r}, beta={self.beta!r}, lam={self.lam!r}{caps})"

    def __call__(self, x: float) -> float:
        """The value of a disconfirmation ``x`` (a finite number).

        .. versionadded:: 0.1.0
        """
        return self._fast(check_finite("x", x))

    def _fast(self, x: float) -> float:
        if x >= 0:
            return _saturate(_power(x, self.alpha), self.gain_cap)
        return -self.lam * _saturate(_power(-x, self.beta), self.loss_cap)

    # ----------------------------------------------------------------- fitting support

    @property
    def _param_names(self) -> tuple[str, ...]:
        names = ["alpha", "beta", "lam"]
        if self.gain_cap is not None:
            names.append("gain_cap")
        if self.loss_cap is not None:
            names.append("loss_cap")
        return tuple(names)

    def _params(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, name)) for name in self._param_names)

    def _scaled(self) -> tuple[bool, ...]:
        return tuple(name == "lam" for name in self._param_names)

    def _zero_ok(self) -> tuple[bool, ...]:
        return (False,) * len(self._param_names)

    def _bounds(self) -> tuple[tuple[float, float], ...]:
        table = {"alpha": (1e-4, 50.0), "beta": (1e-4, 50.0), "lam": (1e-8, 1e8)}
        return tuple(table.get(name, (1e-6, 1e6)) for name in self._param_names)

    def _with(self, params: tuple[float, ...]) -> ProspectValue:
        values = dict(zip(self._param_names, params, strict=True))
        return ProspectValue(
            values["alpha"],
            values["beta"],
            values["lam"],
            gain_cap=values.get("gain_cap"),
            loss_cap=values.get("loss_cap"),
        )


def _below(value: Any) -> float:
    return check_positive("below", value)


def _above(value: Any) -> float:
    return check_positive("above", value)


def _inside(value: Any) -> float:
    return check_non_negative("inside", value)


def _adequate(value: Any) -> float:
    return check_finite("adequate", value)


def _desired(value: Any) -> float:
    return check_finite("desired", value)


@attrs.frozen(slots=True)
class ToleranceValue:
    """A zone of tolerance: steep below ``adequate``, nearly flat inside, rising above ``desired``.

    .. code-block:: text

        v(x) = below  * (x - adequate)                                  x <  adequate
        v(x) = inside * (x - adequate)                                  adequate <= x <= desired
        v(x) = inside * (desired - adequate) + above * (x - desired)    x >  desired

    ``v`` is zero at ``adequate`` and continuous at both breakpoints. The zone of tolerance
    is the band between the *adequate* and the *desired* level of service, inside which
    customers barely notice differences (Zeithaml, Berry & Parasuraman 1993, "The nature
    and determinants of customer expectations of service", *Journal of the Academy of
    Marketing Science* 21(1)). The default slopes are promisekit's choice, not published
    estimates: ``below = 2.25`` mirrors prospect theory's loss aversion, ``inside = 0.1``
    is "nearly flat", ``above = 1.0`` is the gain slope.

    Args:
        adequate: Lower edge of the zone, on the disconfirmation scale (e.g. ``-0.1``:
            up to 10 % of the promised window late is still adequate).
        desired: Upper edge of the zone (``>= adequate``), e.g. ``0.5``: done in half the
            promised time.
        below: Slope below ``adequate`` (``> 0``).
        inside: Slope inside the zone (``>= 0``).
        above: Slope above ``desired`` (``> 0``).

    Raises:
        InvalidTypeError: A parameter is not a number.
        InvalidValueError: A parameter is not finite, a slope is out of range, or
            ``desired < adequate``.

    Example:
        >>> zone = ToleranceValue(adequate=0.0, desired=0.5)
        >>> zone(-0.2), zone(0.0), zone(0.5), zone(1.0)
        (-0.45, 0.0, 0.05, 0.55)

    .. versionadded:: 0.1.0
    """

    adequate: float = attrs.field(converter=_adequate)
    desired: float = attrs.field(converter=_desired)
    below: float = attrs.field(default=2.25, converter=_below, kw_only=True)
    inside: float = attrs.field(default=0.1, converter=_inside, kw_only=True)
    above: float = attrs.field(default=1.0, converter=_above, kw_only=True)

    _param_names: ClassVar[tuple[str, ...]] = ("below", "inside", "above")

    @desired.validator
    def _check_desired(self, attribute: attrs.Attribute[float], value: float) -> None:
        if value < self.adequate:
            raise InvalidValueError(
                f"'desired' must be >= 'adequate' ({self.adequate!r}) (got {value!r})"
            )

    def __call__(self, x: float) -> float:
        """The value of a disconfirmation ``x`` (a finite number).

        .. versionadded:: 0.1.0
        """
        return self._fast(check_finite("x", x))

    def _fast(self, x: float) -> float:
        a, d = self.adequate, self.desired
        if x < a:
            return self.below * (x - a)
        if x <= d:
            return self.inside * (x - a)
        return self.inside * (d - a) + self.above * (x - d)

    # ----------------------------------------------------------------- fitting support

    def _params(self) -> tuple[float, ...]:
        return (self.below, self.inside, self.above)

    def _scaled(self) -> tuple[bool, ...]:
        return (True, True, True)

    def _zero_ok(self) -> tuple[bool, ...]:
        return (True, True, True)

    def _bounds(self) -> tuple[tuple[float, float], ...]:
        # slopes in logit units; the lower bound keeps ``below`` and ``above`` positive
        return ((1e-9, 1e8),) * 3

    def _with(self, params: tuple[float, ...]) -> ToleranceValue:
        below, inside, above = params
        return ToleranceValue(self.adequate, self.desired, below=below, inside=inside, above=above)


#: A value function as the models use it.
ValueFunction = ProspectValue | ToleranceValue


def _anchors_scale(value: ValueFunction, has_gain: bool) -> bool:
    """Whether the value function fixes the unit of the value scale on the data.

    The gain side of :class:`ProspectValue` has a fixed coefficient (1), so rows early
    against their due date pin the unit; a :class:`ToleranceValue` has none.
    """
    return isinstance(value, ProspectValue) and has_gain


def _contiguous(index: Any) -> Any:
    """A slice for a run of consecutive indices (cheap to assign), else the indices."""
    if index.size and int(index[-1]) - int(index[0]) + 1 == index.size:
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


class _ProspectNp:
    """Vectorized prospect value: logs of ``|x|`` computed once, one ``exp`` per side."""

    def __init__(self, np: ModuleType, value: ProspectValue, x: FloatArray) -> None:
        self.np = np
        self.names = value._param_names
        self.n = int(x.shape[0])
        gains = np.flatnonzero(x > 0)
        losses = np.flatnonzero(x < 0)
        self.log_gain = np.log(x[gains])
        self.log_loss = np.log(-x[losses])
        self.gains = _contiguous(gains)
        self.losses = _contiguous(losses)

    def _side(self, log_x: FloatArray, power: float, cap: float | None) -> tuple[Any, Any, Any]:
        """Saturated power, its derivative in the power exponent, and in the cap."""
        np = self.np
        # log-space: the power is capped at exp(_LOG_MAX) (a documented, finite ceiling),
        # and the saturated derivatives ``p * exp(-p / cap)`` are formed as one ``exp``
        log_p = np.minimum(power * log_x, _LOG_MAX)
        p = np.exp(log_p)
        if cap is None:
            return p, p * log_x, None
        r = p / cap
        value = -cap * np.expm1(-r)
        damped = np.exp(log_p - r)  # p * exp(-r), zero once saturated
        return value, damped * log_x, -np.expm1(-r) - damped / cap

    def __call__(self, params: FloatArray) -> tuple[Any, Any]:
        np = self.np
        named = dict(zip(self.names, (float(p) for p in params), strict=True))
        lam = named["lam"]
        value = np.zeros(self.n)
        jac = np.zeros((len(self.names), self.n))
        row = {name: i for i, name in enumerate(self.names)}
        gain, d_alpha, d_gcap = self._side(self.log_gain, named["alpha"], named.get("gain_cap"))
        loss, d_beta, d_lcap = self._side(self.log_loss, named["beta"], named.get("loss_cap"))
        value[self.gains] = gain
        value[self.losses] = -lam * loss
        jac[row["alpha"], self.gains] = d_alpha
        jac[row["beta"], self.losses] = -lam * d_beta
        jac[row["lam"], self.losses] = -loss
        if d_gcap is not None:
            jac[row["gain_cap"], self.gains] = d_gcap
        if d_lcap is not None:
            jac[row["loss_cap"], self.losses] = -lam * d_lcap
        return value, jac


class _ToleranceNp:
    """Vectorized zone of tolerance (linear in its slopes)."""

    def __init__(self, np: ModuleType, x: FloatArray, adequate: float, desired: float) -> None:
        self.np = np
        low = x < adequate
        high = x > desired
        self.jac = np.stack(
            (
                np.where(low, x - adequate, 0.0),
                np.where(low, 0.0, np.minimum(x, desired) - adequate),
                np.where(high, x - desired, 0.0),
            )
        )

    def __call__(self, params: FloatArray) -> tuple[Any, Any]:
        below, inside, above = (float(p) for p in params)
        value = below * self.jac[0] + inside * self.jac[1] + above * self.jac[2]
        return value, self.jac.copy()


def _np_evaluator(value: ValueFunction, np: ModuleType, x: FloatArray) -> Any:
    """The vectorized form of ``value``'s family on the fixed points ``x``.

    Returns a callable ``params -> (values, jacobian)``, the jacobian of shape
    ``(len(params), len(x))``; ``params`` in the order of ``value._param_names``.
    """
    if isinstance(value, ProspectValue):
        return _ProspectNp(np, value, x)
    return _ToleranceNp(np, x, value.adequate, value.desired)


def _call_with(value: ValueFunction, x: float) -> float:
    """``value(x)`` without re-validating ``x`` (internal fast path)."""
    return value._fast(x)
