"""Which chats a push reaches: the same answer whether asked in IN lists (a few people)
or in one pass over a range of ids (a whole period's scorers)."""

from __future__ import annotations

import pytest

from bot.notify import reach
from bot.notify.reach import Chat, reachable_chats
from models import ChatIdentity
from tests.factories import T0, small_org


@pytest.fixture
def chats(session):
    """Everyone of a small org bound on Telegram, some on Slack too; one chat revoked,
    one blocked, one person never bound."""
    _group, people = small_org(session)
    everyone = sorted(
        (e for _inst, head, staff in people.values() for e in (head, *staff)), key=lambda e: e.id
    )
    for n, e in enumerate(everyone[:-1]):
        session.add(
            ChatIdentity(
                platform="telegram",
                external_id=f"t{e.id}",
                employee_id=e.id,
                bound_at=T0,
                revoked_at=T0 if n == 1 else None,
                unreachable=n == 2,
            )
        )
        if n % 2 == 0:
            session.add(
                ChatIdentity(
                    platform="slack", external_id=f"U{e.id}", employee_id=e.id, bound_at=T0
                )
            )
    session.flush()
    return everyone


def test_a_whole_period_and_a_few_people_reach_the_same_chats(session, chats, monkeypatch):
    # Every other person, so that people between the first and last asked are left out.
    asked = {e.id for e in chats[::2]} | {chats[1].id, chats[-1].id}
    by_lists = reachable_chats(session, asked)
    monkeypatch.setattr(reach, "IN_CHUNK", 2)  # now "a whole period": the one pass
    by_range = reachable_chats(session, asked)
    assert by_range == by_lists
    first, revoked, blocked = chats[0], chats[1], chats[2]
    assert by_range[first.id] == [Chat("telegram", f"t{first.id}"), Chat("slack", f"U{first.id}")]
    assert by_range[blocked.id] == [Chat("slack", f"U{blocked.id}")]  # Telegram blocked
    assert revoked.id not in by_range  # its only chat revoked
    assert chats[-1].id not in by_range  # never bound
    assert chats[3].id not in by_range  # bound, within the range, not asked for
    assert len(by_range) == len(asked) - 2
