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
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import attrs

from promisekit._validation import check_aware, describe
from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation._actions import Compensate, NotifyCustomer
from promisekit.escalation._time import to_us
from promisekit.escalation._track import TrackedPromise, _convert_locale

if TYPE_CHECKING:
    from promisekit.escalation._records import Escalation

__all__ = [
    "DEFAULT_TEMPLATES",
    "Notice",
    "NoticeTemplate",
    "draft_firing",
    "draft_notice",
    "firing_letter",
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
        "due_sentence",
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
    date given), ``$new_due`` (the proposed date, or a promise to confirm one; in a
    progress notice after a pause that moved the date, the new date),
    ``$new_due_sentence``, ``$due_sentence`` (progress: "the date is still …", or "the
    work was on hold, the date moves from … to …"), ``$explanation`` (an honest
    explanation, or a placeholder to fill: see :attr:`Notice.placeholders`), ``$amount``
    and ``$compensation`` (a sentence, empty without compensation).

    .. versionadded:: 0.1.0
    """

    subject: str = attrs.field(validator=_check_template)
    body: str = attrs.field(validator=_check_template)


_EN = {
    "progress": NoticeTemplate(
        "An update on your $what ($promise_id)",
        "Hello,\n\nHere is an update on your $what: $due_sentence We will keep you informed."
        "\n\nThank you for your patience.",
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
        f"Bonjour,\n\nVoici des nouvelles de votre $what{_NBSP}: $due_sentence Nous vous "
        f"tiendrons au courant.\n\nMerci de votre patience.",
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
        "still": "we are working on it, and the date we gave you is still $due.",
        "moved": "the work was on hold while we waited on you, so the date we gave you, $due, "
        "moves to $new_due. We are working on it.",
    },
    "fr-CA": {
        "explanation": "[Expliquez honnêtement ce qui s'est passé.]",
        "new_due": "une nouvelle date que nous vous confirmerons sous peu",
        "with_date": f"Nous nous engageons sur une nouvelle date réaliste{_NBSP}: $new_due.",
        "without_date": "Nous vous confirmerons sous peu une nouvelle date réaliste.",
        "compensation": "\n\nPour nous faire pardonner, nous vous accordons un crédit de $amount.",
        "still": "nous y travaillons, et la date convenue demeure $due.",
        "moved": f"les travaux ont été suspendus en attendant votre retour{_NBSP}: la date "
        "convenue était $due, la nouvelle date est $new_due. Nous y travaillons.",
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
        placeholders: The template fields left as a placeholder to fill in before
            sending (``("explanation",)`` when no explanation was given and the
            template asks for one); empty when the letter is complete.

    .. versionadded:: 0.1.0
    """

    customer_id: str
    promise_id: str
    locale: str
    kind: str
    send_at: datetime
    subject: str
    body: str
    placeholders: tuple[str, ...] = ()

    @property
    def has_placeholder(self) -> bool:
        """Whether something is left to fill in before sending (see :attr:`placeholders`).

        .. versionadded:: 0.1.0
        """
        return bool(self.placeholders)


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

    A :class:`NotifyCustomer` renders its kind; a :class:`Compensate` renders a complete
    apology: the explanation, the new date (the rule's proposed date, or a promise to
    confirm one) and the amount granted (nothing is promised when the caps left nothing).
    A ``"progress"`` notice drafted after a pause that moved the date states the new date
    (:meth:`TrackedPromise.effective_due` at the sending instant), not the old one.
    Fields left as a placeholder (the explanation, when none is given) are listed in
    :attr:`Notice.placeholders`.

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
    given = format_datetime(escalation.due, lang, zone)
    due_sentence = ""
    if kind == "progress":
        # What the customer was told, and the date now in force (a pause moves it).
        literal = track.promise_at(escalation.revision).due
        moved = track.effective_due(escalation.at)
        if to_us(moved) > to_us(literal):
            given = format_datetime(literal, lang, zone)
            new_due = format_datetime(moved, lang, zone)
            due_sentence = string.Template(phrases["moved"]).substitute(due=given, new_due=new_due)
        else:
            due_sentence = string.Template(phrases["still"]).substitute(due=given)
    fields = {
        "what": what,
        "promise_id": track.promise.id,
        "customer_id": track.promise.customer_id,
        "due": given,
        "new_due": new_due,
        "new_due_sentence": sentence,
        "due_sentence": due_sentence,
        "explanation": explanation if explanation is not None else phrases["explanation"],
        "amount": amount,
        "compensation": compensation,
    }
    used = _fields_of(template.subject) | _fields_of(template.body)
    placeholders = ("explanation",) if explanation is None and "explanation" in used else ()
    return Notice(
        customer_id=track.promise.customer_id,
        promise_id=track.promise.id,
        locale=lang,
        kind=kind,
        send_at=escalation.at.astimezone(zone),
        subject=string.Template(template.subject).substitute(fields),
        body=string.Template(template.body).substitute(fields),
        placeholders=placeholders,
    )


def _fields_of(text: str) -> set[str]:
    """The field names a :class:`string.Template` text uses."""
    found = set()
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            found.add(name)
    return found


# The order in which one firing's escalations are turned into its single letter: the
# compensation (a complete apology stating the amount), then a customer notice by kind.
_FIRING_ORDER = ("delay", "apology", "progress")


def draft_firing(
    escalations: Iterable[Escalation], track: TrackedPromise, **options: Any
) -> Notice | None:
    """The one letter for the escalations of one firing (a rule firing once for a promise).

    A rule with ``notify_customer:apology`` and ``compensate`` gives two customer-facing
    escalations; sending both would write two near-identical apologies. This drafts one:
    the :class:`Compensate` escalation's (an apology with the explanation, the new date
    and the amount, so nothing is lost), else the first :class:`NotifyCustomer` of kind
    ``"delay"``, then ``"apology"``, then ``"progress"``. The others are merged into it.

    Args:
        escalations: The escalations of one firing (any order; owner-facing ones are
            ignored).
        track: The tracked promise.
        **options: As for :func:`draft_notice` (``locale``, ``tz``, ``what``,
            ``explanation``, ``templates``).

    Returns:
        The letter, or ``None`` when no escalation of the group is customer-facing.

    Raises:
        InvalidTypeError: An item is not an escalation.
        InvalidValueError: An escalation is for another promise than the track's.

    .. versionadded:: 0.1.0
    """
    if not isinstance(track, TrackedPromise):
        raise InvalidTypeError(f"'track' must be a TrackedPromise (got {type(track).__name__})")
    chosen = firing_letter(escalations)
    if chosen is None:
        return None
    return draft_notice(chosen, track, **options)


def firing_letter(escalations: Iterable[Escalation]) -> Escalation | None:
    """The escalation whose letter stands for a whole firing (see :func:`draft_firing`).

    The other customer-facing escalations of the group are merged into its letter: mark
    them so, and send only this one's.

    Raises:
        InvalidTypeError: An item is not an escalation.
        InvalidValueError: The escalations are for different promises.

    .. versionadded:: 0.1.0
    """
    if isinstance(escalations, (str, bytes)) or not isinstance(escalations, Iterable):
        raise InvalidTypeError(
            f"'escalations' must be an iterable of Escalation (got "
            f"{type(escalations).__name__} {describe(escalations)})"
        )
    group = list(escalations)
    for item in group:
        if not all(hasattr(item, field) for field in _ESCALATION_FIELDS):
            raise InvalidTypeError(
                f"'escalations' must contain only Escalation records (got {type(item).__name__})"
            )
    ids = {item.promise_id for item in group}
    if len(ids) > 1:
        raise InvalidValueError(
            f"'escalations' must all be about one promise (one firing) (got promises "
            f"{', '.join(describe(i) for i in sorted(ids))})"
        )
    for escalation in group:
        if isinstance(escalation.action, Compensate):
            return escalation
    for kind in _FIRING_ORDER:
        for escalation in group:
            action = escalation.action
            if isinstance(action, NotifyCustomer) and action.kind == kind:
                return escalation
    return None
