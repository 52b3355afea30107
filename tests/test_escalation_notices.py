"""Customer notices in English and Canadian French, in the customer's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest

from promisekit.errors import InvalidTypeError, InvalidValueError
from promisekit.escalation import (
    Compensate,
    EscalationPolicy,
    NoticeTemplate,
    NotifyCustomer,
    NotifyOwner,
    OverdueBy,
    ProposeRevision,
    RevisionRequest,
    Rule,
    TrackedPromise,
    draft_notice,
    format_datetime,
    format_money,
)
from tests.test_escalation_engine import CONTACT, make_track

MTL = ZoneInfo("America/Montreal")
UTC = timezone.utc
NBSP = "\u00a0"


def test_format_datetime_by_hand() -> None:
    moment = datetime(2026, 3, 10, 14, 30, tzinfo=MTL)
    assert format_datetime(moment, "en") == "Tuesday, March 10, 2026 at 2:30 PM"
    assert format_datetime(moment, "fr-CA") == f"le mardi 10 mars 2026 à 14{NBSP}h{NBSP}30"
    assert format_datetime(moment.replace(hour=9, minute=0), "fr") == (
        f"le mardi 10 mars 2026 à 9{NBSP}h"
    )
    assert format_datetime(moment.replace(hour=9, minute=5), "fr-CA").endswith(f"9{NBSP}h{NBSP}05")
    first = datetime(2026, 4, 1, 0, 15, tzinfo=MTL)
    assert format_datetime(first, "fr-CA") == f"le mercredi 1er avril 2026 à 0{NBSP}h{NBSP}15"
    assert format_datetime(first, "en") == "Wednesday, April 1, 2026 at 12:15 AM"
    assert format_datetime(first.replace(hour=12), "en").endswith("at 12:15 PM")
    # In the customer's zone: 18:30 UTC is 14:30 in Montreal (EDT).
    utc = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
    assert format_datetime(utc, "en", MTL) == "Tuesday, March 10, 2026 at 2:30 PM"
    assert format_datetime(datetime(2026, 8, 15, 8, tzinfo=MTL), "fr-CA").startswith(
        "le samedi 15 août 2026"
    )


def test_format_money() -> None:
    assert format_money(Decimal("1234.5"), "CAD", "en") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "CAD", "fr-CA") == f"1{NBSP}234,50{NBSP}$"
    assert format_money(Decimal("12"), "EUR", "fr-CA") == f"12,00{NBSP}€"
    assert format_money(Decimal("12"), "CHF", "en") == "12.00 CHF"
    assert format_money(Decimal("12"), None, "en") == "12.00"
    with pytest.raises(InvalidTypeError):
        format_money(12.0, "CAD")  # type: ignore[arg-type]


def new_date(request: RevisionRequest) -> datetime:
    return datetime(2026, 3, 12, 10, tzinfo=MTL)


def test_delay_and_apology_notices() -> None:
    # Due Tuesday 10 March 21:00 (after contact hours): sent Wednesday 08:00.
    made = datetime(2026, 3, 10, 9, tzinfo=MTL)
    track = make_track(
        made=made,
        due=datetime(2026, 3, 10, 21, tzinfo=MTL),
        contact_hours=CONTACT,
        locale="fr-CA",
        customer_tz="America/Montreal",
    )
    policy = EscalationPolicy(
        [
            Rule(
                "late",
                OverdueBy(0),
                [
                    ProposeRevision(new_date),
                    NotifyCustomer("delay"),
                    Compensate(Decimal("15"), per_promise=Decimal("10"), currency="CAD"),
                ],
            )
        ]
    )
    result = policy.evaluate(track, datetime(2026, 3, 11, 12, tzinfo=MTL))
    owner, delay, money = result.escalations
    assert money.amount == Decimal(10) and money.capped_by == "per_promise"
    notice = draft_notice(delay, track)
    assert notice.locale == "fr-CA" and notice.kind == "delay"
    assert notice.send_at == datetime(2026, 3, 11, 8, tzinfo=MTL)
    assert notice.subject == f"Votre réparation{NBSP}: une nouvelle date"
    assert f"soit le mardi 10 mars 2026 à 21{NBSP}h." in notice.body
    assert f"le jeudi 12 mars 2026 à 10{NBSP}h." in notice.body
    assert "[Expliquez honnêtement" in notice.body
    apology = money.draft(track, locale="en", explanation="A part was out of stock.")
    assert apology.kind == "apology"
    assert "due Tuesday, March 10, 2026 at 9:00 PM" in apology.body
    assert "we are crediting you $10.00" in apology.body
    assert "A part was out of stock." in apology.body
    assert "Thursday, March 12, 2026 at 10:00 AM" in apology.body
    with pytest.raises(InvalidValueError, match="customer-facing"):
        draft_notice(owner, track)


def test_progress_notice_and_templates() -> None:
    track = make_track(locale="en")
    policy = EscalationPolicy(
        [Rule("late", OverdueBy(0), [NotifyCustomer("progress"), NotifyOwner()])]
    )
    escalation = policy.evaluate(track, track.promise.due + timedelta(hours=1)).escalations[0]
    notice = escalation.draft(track, what="furnace repair")
    assert notice.subject == "An update on your furnace repair (P-1)"
    custom = {("fr", "progress"): NoticeTemplate("Dossier $promise_id", "Votre $what : $due")}
    french = draft_notice(escalation, track, locale="fr-CA", templates=custom)
    assert french.subject == "Dossier P-1"
    assert french.body.startswith("Votre réparation : le vendredi 6 mars 2026")
    with pytest.raises(InvalidValueError, match=r"unknown field \$when"):
        NoticeTemplate("x", "$when")
    stranger = TrackedPromise(promise=attrs.evolve(track.promise, id="P-9"))
    with pytest.raises(InvalidValueError, match="not for the track"):
        draft_notice(escalation, stranger)
