"""Customer notices: draft messages in English and Canadian French, dates in the customer's zone.

Every customer-facing escalation can be rendered as a draft :class:`Notice` — an apology, a
placeholder for an honest explanation, and the realistic new date — in ``"en"`` or ``"fr-CA"``
(Quebec businesses must communicate with customers in French). Dates are written by hand in
the customer's time zone and language: ``"Tuesday, March 10, 2026 at 2:30 PM"``,
``"le mardi 10 mars 2026 à 14 h 30"``. Templates are :class:`string.Template` strings with
named fields, overridable per locale and kind. Imports :mod:`._actions` and :mod:`._track`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import check_aware, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._actions import Compensate, NotifyCustomer
from promisekit.escalation._track import TrackedPromise, _convert_locale

if TYPE_CHECKING:
    from promisekit.escalation._records import Escalation

__all__ = [
    "DEFAULT_TEMPLATES",
    "Notice",
    "NoticeTemplate",
    "draft_notice",
    "format_datetime",
    "format_money",
]

_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_NBSP = "\u00a0"


def format_datetime(moment: datetime, locale: str = "en", tz: tzinfo | None = None) -> str:
    """Write a date and time for a customer, by hand (no system locale involved).

    * ``"en"``: ``"Tuesday, March 10, 2026 at 2:30 PM"``
    * ``"fr-CA"``: ``"le mardi 10 mars 2026 à 14 h 30"`` (``"à 9 h"`` on the hour,
      ``"1er"`` for the first of the month), Office québécois de la langue française style.

    Args:
        moment: An aware datetime.
        locale: ``"en"`` or ``"fr-CA"`` (aliases such as ``"fr"`` accepted).
        tz: Zone to write it in (default: the datetime's own).

    .. versionadded:: 0.1.0
    """
    check_aware("moment", moment)
    lang = _convert_locale(locale)
    local = moment.astimezone(tz) if tz is not None else moment
    if lang == "fr-CA":
        day = "1er" if local.day == 1 else str(local.day)
        time = f"{local.hour}{_NBSP}h" + (f"{_NBSP}{local.minute:02d}" if local.minute else "")
        return (
            f"le {_FR_DAYS[local.weekday()]} {day} {_FR_MONTHS[local.month - 1]} "
            f"{local.year} à {time}"
        )
    hour = local.hour % 12 or 12
    suffix = "AM" if local.hour < 12 else "PM"
    return (
        f"{_EN_DAYS[local.weekday()]}, {_EN_MONTHS[local.month - 1]} {local.day}, "
        f"{local.year} at {hour}:{local.minute:02d} {suffix}"
    )


_SYMBOLS = {"CAD": "$", "USD": "$", "AUD": "$", "EUR": "€", "GBP": "£"}


def format_money(amount: Decimal, currency: str | None = None, locale: str = "en") -> str:
    """Write an amount: ``"$1,234.50"`` in English, ``"1 234,50 $"`` in Canadian French.

    Without a known symbol the ISO code follows the amount (``"12.00 CHF"``).

    .. versionadded:: 0.1.0
    """
    if not isinstance(amount, Decimal):
        raise InvalidTypeError(f"'amount' must be a Decimal (got {type(amount).__name__})")
    lang = _convert_locale(locale)
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, _, cents = f"{rounded:,.2f}".partition(".")
    symbol = _SYMBOLS.get((currency or "").upper())
    if lang == "fr-CA":
        number = whole.replace(",", _NBSP) + "," + cents
        unit = symbol or currency
        return f"{number}{_NBSP}{unit}" if unit else number
    number = f"{whole}.{cents}"
    if symbol:
        return f"{symbol}{number}"
    return f"{number} {currency}" if currency else number


def _check_template(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"{describe(attribute.name)} must be a string.Template text (got "
            f"{type(value).__name__})"
        )
    try:
        string.Template(value).substitute(_SAMPLE)
    except KeyError as exc:
        raise InvalidValueError(
            f"{describe(attribute.name)} uses the unknown field ${exc.args[0]} "
            f"(expected some of: {', '.join('$' + name for name in sorted(_SAMPLE))})"
        ) from None
    except ValueError as exc:
        raise InvalidValueError(
            f"{describe(attribute.name)} is not a valid template: {exc}"
        ) from None


_SAMPLE = dict.fromkeys(
    (
        "what",
        "promise_id",
        "customer_id",
        "due",
        "new_due",
        "new_due_sentence",
        "explanation",
        "amount",
        "compensation",
    ),
    "",
)


@attrs.frozen
class NoticeTemplate:
    """A subject and a body, as :class:`string.Template` texts.

    Fields: ``$what`` (what was promised), ``$promise_id``, ``$customer_id``, ``$due`` (the
    date given), ``$new_due`` (the proposed date, or a promise to confirm one),
    ``$new_due_sentence``, ``$explanation`` (an honest explanation, or a placeholder to
    fill), ``$amount`` and ``$compensation`` (a sentence, empty without compensation).

    .. versionadded:: 0.1.0
    """

    subject: str = attrs.field(validator=_check_template)
    body: str = attrs.field(validator=_check_template)


_EN = {
    "progress": NoticeTemplate(
        "An update on your $what ($promise_id)",
        "Hello,\n\nHere is an update on your $what: we are working on it, and the date we "
        "gave you is still $due. We will keep you informed.\n\nThank you for your patience.",
    ),
    "delay": NoticeTemplate(
        "Your $what: a new date",
        "Hello,\n\nWe are sorry: we will not be able to keep the date we gave you for your "
        "$what, $due. $explanation\n\n$new_due_sentence\n\nPlease accept our apologies.",
    ),
    "apology": NoticeTemplate(
        "Our apologies about your $what",
        "Hello,\n\nWe did not keep our promise for your $what, due $due, and we sincerely "
        "apologize. $explanation\n\n$new_due_sentence$compensation\n\nThank you for your "
        "patience.",
    ),
}
_FR = {
    "progress": NoticeTemplate(
        "Des nouvelles de votre $what ($promise_id)",
        f"Bonjour,\n\nVoici des nouvelles de votre $what{_NBSP}: nous y travaillons, et la "
        f"date convenue demeure $due. Nous vous tiendrons au courant.\n\nMerci de votre "
        f"patience.",
    ),
    "delay": NoticeTemplate(
        f"Votre $what{_NBSP}: une nouvelle date",
        f"Bonjour,\n\nNous sommes désolés{_NBSP}: nous ne pourrons pas respecter la date "
        f"prévue pour votre $what, soit $due. $explanation\n\n$new_due_sentence\n\nVeuillez "
        f"accepter nos excuses.",
    ),
    "apology": NoticeTemplate(
        "Toutes nos excuses pour votre $what",
        "Bonjour,\n\nNous n'avons pas tenu notre promesse pour votre $what, prévue $due, et "
        "nous vous présentons nos sincères excuses. $explanation\n\n"
        "$new_due_sentence$compensation\n\nMerci de votre patience.",
    ),
}
#: The built-in templates, by ``(locale, kind)``.
DEFAULT_TEMPLATES: Mapping[tuple[str, str], NoticeTemplate] = {
    **{("en", kind): template for kind, template in _EN.items()},
    **{("fr-CA", kind): template for kind, template in _FR.items()},
}

_PHRASES = {
    "en": {
        "explanation": "[Explain honestly what happened.]",
        "new_due": "a new date we will confirm shortly",
        "with_date": "We can commit to a realistic new date: $new_due.",
        "without_date": "We will confirm a realistic new date shortly.",
        "compensation": "\n\nTo make up for it, we are crediting you $amount.",
    },
    "fr-CA": {
        "explanation": "[Expliquez honnêtement ce qui s'est passé.]",
        "new_due": "une nouvelle date que nous vous confirmerons sous peu",
        "with_date": f"Nous nous engageons sur une nouvelle date réaliste{_NBSP}: $new_due.",
        "without_date": "Nous vous confirmerons sous peu une nouvelle date réaliste.",
        "compensation": "\n\nPour nous faire pardonner, nous vous accordons un crédit de $amount.",
    },
}
# What was promised, in French, for the common kinds (any other kind is used as written).
_FR_KINDS = {
    "callback": "rappel",
    "repair": "réparation",
    "parcel": "colis",
    "delivery": "livraison",
    "quote": "soumission",
    "visit": "visite",
    "refund": "remboursement",
    "order": "commande",
}


@attrs.frozen
class Notice:
    """A draft message to a customer, to review and send.

    Attributes:
        customer_id: Who it is for.
        promise_id: Which promise it is about.
        locale: ``"en"`` or ``"fr-CA"``.
        kind: ``"progress"``, ``"delay"`` or ``"apology"``.
        send_at: When to send it (the escalation's ``at``: within contact hours).
        subject: The subject line.
        body: The text.

    .. versionadded:: 0.1.0
    """

    customer_id: str
    promise_id: str
    locale: str
    kind: str
    send_at: datetime
    subject: str
    body: str


# What a notice reads from an escalation. Checked by shape: the escalation records (one level
# up) draft their notices through this module, which therefore does not import them.
_ESCALATION_FIELDS = ("rule", "action", "promise_id", "due", "at", "proposed_due", "amount")


def draft_notice(
    escalation: Escalation,
    track: TrackedPromise,
    *,
    locale: str | None = None,
    tz: tzinfo | None = None,
    what: str | None = None,
    explanation: str | None = None,
    templates: Mapping[tuple[str, str], NoticeTemplate] | None = None,
) -> Notice:
    """Render the customer notice of a customer-facing escalation.

    A :class:`NotifyCustomer` renders its kind; a :class:`Compensate` renders an apology
    stating the amount granted (nothing is promised when the caps left nothing).

    Args:
        escalation: A customer-facing escalation for ``track``'s promise.
        track: The tracked promise (for its locale and customer time zone).
        locale: Override of ``track.locale``.
        tz: Override of ``track.customer_zone``.
        what: What was promised, in the customer's language (default: the promise's
            kind, translated for common kinds in French).
        explanation: The honest explanation; default: a placeholder to fill in.
        templates: Templates replacing the built-in ones, by ``(locale, kind)``.

    Raises:
        InvalidValueError: The escalation is not customer-facing, or is for another promise.

    .. versionadded:: 0.1.0
    """
    if not all(hasattr(escalation, field) for field in _ESCALATION_FIELDS):
        raise InvalidTypeError(
            f"'escalation' must be an Escalation (got {type(escalation).__name__})"
        )
    if not isinstance(track, TrackedPromise):
        raise InvalidTypeError(f"'track' must be a TrackedPromise (got {type(track).__name__})")
    if escalation.promise_id != track.promise.id:
        raise InvalidValueError(
            f"the escalation is for promise {describe(escalation.promise_id)}, not for the track's "
            f"promise {describe(track.promise.id)}"
        )
    action = escalation.action
    if isinstance(action, NotifyCustomer):
        kind = action.kind
    elif isinstance(action, Compensate):
        kind = "apology"
    else:
        raise InvalidValueError(
            f"only customer-facing escalations have a notice (got {action.describe()!r} "
            f"of rule {describe(escalation.rule)})"
        )
    lang = _convert_locale(locale if locale is not None else track.locale)
    zone = tz if tz is not None else track.customer_zone
    table = dict(DEFAULT_TEMPLATES)
    if templates is not None:
        for key, template in templates.items():
            if not isinstance(template, NoticeTemplate):
                raise InvalidTypeError(
                    f"'templates' values must be NoticeTemplate (got {type(template).__name__} "
                    f"for {describe(key)})"
                )
            table[(_convert_locale(key[0]), key[1])] = template
    template = table[(lang, kind)]
    phrases = _PHRASES[lang]
    kind_text = track.promise.kind
    if what is None:
        what = _FR_KINDS.get(kind_text.lower(), kind_text) if lang == "fr-CA" else kind_text
    new_due = (
        format_datetime(escalation.proposed_due, lang, zone)
        if escalation.proposed_due is not None
        else phrases["new_due"]
    )
    sentence = (
        string.Template(phrases["with_date"]).substitute(new_due=new_due)
        if escalation.proposed_due is not None
        else phrases["without_date"]
    )
    amount = ""
    compensation = ""
    if isinstance(action, Compensate) and escalation.amount:
        amount = format_money(escalation.amount, action.currency, lang)
        compensation = string.Template(phrases["compensation"]).substitute(amount=amount)
    fields = {
        "what": what,
        "promise_id": track.promise.id,
        "customer_id": track.promise.customer_id,
        "due": format_datetime(escalation.due, lang, zone),
        "new_due": new_due,
        "new_due_sentence": sentence,
        "explanation": explanation if explanation is not None else phrases["explanation"],
        "amount": amount,
        "compensation": compensation,
    }
    return Notice(
        customer_id=track.promise.customer_id,
        promise_id=track.promise.id,
        locale=lang,
        kind=kind,
        send_at=escalation.at.astimezone(zone),
        subject=string.Template(template.subject).substitute(fields),
        body=string.Template(template.body).substitute(fields),
    )
