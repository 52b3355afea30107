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
    Escalation,
    EscalationPolicy,
    NoticeTemplate,
    NotifyCustomer,
    NotifyOwner,
    OverdueBy,
    ProposeRevision,
    Remaining,
    RevisionRequest,
    Rule,
    TrackedPromise,
    draft_firing,
    draft_notice,
    firing_letter,
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


# --------------------------------------------------------------------------- issue 13


def late_firing(track: TrackedPromise) -> list[Escalation]:
    """One firing of a rule with an apology, a compensation and a proposed date."""
    policy = EscalationPolicy(
        [
            Rule(
                "late",
                OverdueBy(0),
                [
                    NotifyOwner(),
                    ProposeRevision(new_date),
                    NotifyCustomer("apology"),
                    Compensate(Decimal("15"), per_promise=Decimal("20"), currency="CAD"),
                ],
            )
        ]
    )
    return list(policy.evaluate(track, datetime(2026, 3, 11, 12, tzinfo=MTL)))


@pytest.mark.parametrize(
    ("locale", "placeholder"),
    [("en", "[Explain honestly"), ("fr-CA", "[Expliquez honnêtement")],
)
def test_notice_lists_its_placeholders(locale: str, placeholder: str) -> None:
    track = make_track(
        made=datetime(2026, 3, 10, 9, tzinfo=MTL),
        due=datetime(2026, 3, 10, 17, tzinfo=MTL),
        locale=locale,
    )
    escalations = late_firing(track)
    apology = next(e for e in escalations if e.action == NotifyCustomer("apology"))
    draft = apology.draft(track)
    assert draft.placeholders == ("explanation",)
    assert draft.has_placeholder
    assert placeholder in draft.body
    done = apology.draft(track, explanation="A part was out of stock.")
    assert done.placeholders == () and not done.has_placeholder
    assert "[" not in done.body
    # A template without the field leaves nothing to fill in.
    progress = attrs.evolve(apology, action=NotifyCustomer("progress"))
    assert progress.draft(track).placeholders == ()
    custom = {(locale, "progress"): NoticeTemplate("$promise_id", "${explanation}!")}
    assert draft_notice(progress, track, templates=custom).placeholders == ("explanation",)


def test_progress_notice_after_a_pause_states_the_new_date() -> None:
    made = datetime(2026, 3, 10, 9, tzinfo=MTL)
    track = make_track(made=made, due=datetime(2026, 3, 10, 17, tzinfo=MTL), locale="en")
    # On hold from 10:00 to 13:00: the due moves from 17:00 to 20:00.
    paused = track.pause(datetime(2026, 3, 10, 10, tzinfo=MTL)).resume(
        datetime(2026, 3, 10, 13, tzinfo=MTL)
    )
    policy = EscalationPolicy([Rule("check-in", Remaining(hours=1), NotifyCustomer("progress"))])
    (escalation,) = policy.evaluate(paused, datetime(2026, 3, 10, 19, 30, tzinfo=MTL))
    assert paused.effective_due(escalation.at) == datetime(2026, 3, 10, 20, tzinfo=MTL)
    letter = escalation.draft(paused)
    assert "the work was on hold" in letter.body
    assert "Tuesday, March 10, 2026 at 5:00 PM, moves to Tuesday, March 10, 2026 at 8:00 PM" in (
        letter.body
    )
    assert "is still" not in letter.body
    assert letter.placeholders == ()
    french = escalation.draft(paused, locale="fr-CA")
    assert f"la date convenue était le mardi 10 mars 2026 à 17{NBSP}h" in french.body
    assert f"la nouvelle date est le mardi 10 mars 2026 à 20{NBSP}h" in french.body
    # Without a pause, the date is unchanged: "still".
    (plain,) = policy.evaluate(track, datetime(2026, 3, 10, 19, tzinfo=MTL))
    body = plain.draft(track).body
    assert "the date we gave you is still Tuesday, March 10, 2026 at 5:00 PM." in body
    assert "on hold" not in body


def test_one_letter_per_firing_the_compensation_apology_is_complete() -> None:
    track = make_track(
        made=datetime(2026, 3, 10, 9, tzinfo=MTL),
        due=datetime(2026, 3, 10, 17, tzinfo=MTL),
        locale="en",
    )
    escalations = late_firing(track)
    money = next(e for e in escalations if isinstance(e.action, Compensate))
    assert firing_letter(escalations) is money
    assert firing_letter(reversed(escalations)) is money
    letter = draft_firing(escalations, track, explanation="A part was out of stock.")
    assert letter is not None
    assert letter.kind == "apology" and letter.placeholders == ()
    # Explanation, new date sentence and compensation: nothing lost by merging.
    assert "A part was out of stock." in letter.body
    assert "We can commit to a realistic new date: Thursday, March 12, 2026 at 10:00 AM." in (
        letter.body
    )
    assert "we are crediting you $15.00" in letter.body
    assert letter == money.draft(track, explanation="A part was out of stock.")
    french = draft_firing(escalations, track, locale="fr")
    assert french is not None and french.placeholders == ("explanation",)
    assert f"un crédit de 15,00{NBSP}$" in french.body
    # Without compensation: delay, then apology, then progress.
    notices = [e for e in escalations if isinstance(e.action, NotifyCustomer)]
    progress = attrs.evolve(notices[0], action=NotifyCustomer("progress"))
    delay = attrs.evolve(notices[0], action=NotifyCustomer("delay"))
    assert firing_letter([progress, *notices]) is notices[0]
    assert firing_letter([progress, notices[0], delay]) is delay
    assert firing_letter([progress]) is progress
    owner_only = [e for e in escalations if isinstance(e.action, NotifyOwner)]
    assert draft_firing(owner_only, track) is None
    assert draft_firing([], track) is None
    other = attrs.evolve(money, promise_id="P-9")
    with pytest.raises(InvalidValueError, match="one promise"):
        draft_firing([money, other], track)
    with pytest.raises(InvalidTypeError, match="Escalation records"):
        draft_firing([money, "apology"], track)  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match="iterable of Escalation"):
        firing_letter(money)  # type: ignore[arg-type]
