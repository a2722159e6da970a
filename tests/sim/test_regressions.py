"""Deterministic replication scenarios, scripted step by step through the simulated world (the
real cores, the sim's shell and network; pings and deliveries chosen by the test)."""

from __future__ import annotations

import hiredis
import pytest

from resp_kv import keeper
from sim import mutations
from sim.world import CLOSE, DEAD_PINGS, MICRO, Client, Violation, World
from resp_kv.view import View

A, B, C = "a:1", "b:2", "c:3"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """One entry per transfer chunk, as in the random runs: a transfer of a few keys takes
    several round trips, so client batches can queue behind it."""
    monkeypatch.setattr(keeper, "CHUNK_PAIRS", 1)


def world(*names, seed=1, late=0.0) -> World:
    w = World(seed, names=names, clients=0, keys=1, auto_ping=False, late_replies=late)
    w.hot = False  # nothing strikes unless the test says so
    return w


def primary_of_view_1(w: World, name=A):
    w.start_node(name, genesis=True)
    w.ping_now(name)
    assert w.vs.view == View(1, name, "")
    w.ping_now(name)  # acknowledges view 1
    return w.nodes[name]


def join_as_backup(w: World, primary: str, backup: str) -> None:
    """``backup`` starts and becomes the backup; the primary sends it the state and acknowledges."""
    w.start_node(backup, genesis=False)
    w.ping_now(backup)
    assert w.vs.view.backup == backup
    w.ping_now(primary)  # learns the view, opens a link
    w.settle()  # link up, PB.RESUME refused NOTSYNCED, the state, PB.SYNCED
    w.ping_now(primary)  # acknowledges it
    assert w.vs.acked and w.nodes[primary].core.backup_synced


def write(w: World, n: int, *ops) -> Client:
    client = Client(w, n, list(ops))
    w.clients.append(client)
    client.start()
    return client


def done(client: Client) -> bool:
    return client.op is None and not client.script


def same_data(w: World, *names) -> None:
    digests = {w.nodes[n].keeper.store.digest() for n in names}
    assert len(digests) == 1, {n: w.nodes[n].keeper.store.data for n in names}


def advance(w: World, intervals: int = 1) -> None:
    for _ in range(intervals * MICRO):
        w.advance()


# --------------------------------------------------------------------------- old links


def test_a_refusal_on_an_old_link_after_a_view_change_is_ignored():
    """The bug: after a view change the first reply the primary saw came from the previous
    view's link, a NOTBACKUP refusal of a batch sent in the old view; the primary fenced itself
    and never sent the new view's backup the state, so the service stopped for good. Here the
    shell even dispatches that old link's replies (late_replies=1): the core must ignore them."""
    w = world(A, C, late=1.0)
    a = primary_of_view_1(w)
    join_as_backup(w, A, C)
    w.ping_now(C)  # c pinged view 2: a server that knew a view
    old = w.link_of(A)
    client = write(w, 1, ("set", b"k0"))
    w.settle(skip=(old,))  # the request runs on a; its batch waits on the old link
    assert old.fwd and not done(client)

    for _ in range(DEAD_PINGS):  # c stops pinging: viewd declares it dead
        w.viewd_tick()
        w.ping_now(A)
    assert w.vs.view == View(3, A, "")
    assert a.core.view.viewnum == 3 and old.late  # the old link is closed (its replies still come)
    w.settle(skip=(old,))
    assert done(client)  # no backup in view 3: released
    w.ping_now(A)  # acknowledges 3

    w.ping_now(C)  # c is back: the backup of view 4, without the state (same process, same link)
    assert w.vs.view == View(4, A, C) and w.nodes[C].core.view.viewnum == 4
    w.deliver_fwd(old)  # c refuses the old view's batch (the old link is not its primary's current one)
    assert old.back[-1][1].startswith(b"-NOTSYNCED")

    w.ping_now(A)  # a learns view 4, opens a new link
    new = w.link_of(A)
    w.deliver_fwd(new)  # connected
    w.deliver_back(new)  # link_up: PB.RESUME in flight on the new link
    link = a.core.link
    inflight = list(link.inflight)
    assert new.fwd and inflight
    w.deliver_back(old)  # the old link's refusal arrives first
    assert a.core.link is link and list(link.inflight) == inflight, "a reply on an old link was taken for the new one's"
    # The refusal of the report, word for word, on the old link:
    a.core.link_reply(old.link, hiredis.ReplyError("NOTBACKUP c:3 is not the backup of a:1 in view 2 (view is 4)"))
    w.drain(a)
    assert a.core.link is link and list(link.inflight) == inflight, "a reply on an old link was taken for the new one's"
    assert a.core.serving and a.core.fenced_view < 4, "a refusal from an old link fenced the primary"

    w.settle()
    w.ping_now(A)
    assert w.vs.acked and w.vs.view == View(4, A, C)
    assert w.nodes[C].core.state_view == 4 and a.core.backup_synced
    same_data(w, A, C)


def test_the_old_link_bug_put_back_is_caught_by_that_scenario():
    with mutations.applied("old-link-reply"), pytest.raises(AssertionError, match="taken for the new one's"):
        test_a_refusal_on_an_old_link_after_a_view_change_is_ignored()


# --------------------------------------------------------------------------- broken links

FAILURE_POINTS = ["connecting", "resuming", "syncing", "forwarding", "refused-tryagain"]


@pytest.mark.parametrize("point", FAILURE_POINTS)
def test_a_link_that_fails_at_any_point_is_retried_at_the_next_tick_until_the_view_changes(point):
    w = world(A, C)
    a = primary_of_view_1(w)
    write(w, 1, ("set", b"k0"))
    w.settle()  # one key in the state
    w.start_node(C, genesis=False)
    if point == "refused-tryagain":
        # c's Ping(0) reaches viewd (c becomes the backup of view 2) but its reply is lost:
        # a learns view 2 first, and c does not know it yet.
        w.vs.ping(C, 0)
        w.viewd_tick()
    else:
        w.ping_now(C)
    w.ping_now(A)
    assert w.vs.view == View(2, A, C) and a.core.link is not None
    first = a.core.link.id
    link = w.link_of(A)

    client = None
    if point == "connecting":
        w.cut(link)  # the connection never opens
    elif point == "resuming":
        w.deliver_fwd(link)
        w.deliver_back(link)  # up: PB.RESUME in flight
        w.cut(link)
    elif point == "syncing":
        w.deliver_fwd(link)
        w.deliver_back(link)
        w.deliver_fwd(link)  # PB.RESUME: NOTSYNCED
        w.deliver_back(link)  # the transfer starts
        assert a.core.link.phase == "syncing"
        w.deliver_fwd(link)  # PB.SYNC only
        w.cut(link)
    elif point == "forwarding":
        w.settle()
        assert a.core.backup_synced
        client = write(w, 2, ("set", b"k0"))
        w.settle(skip=(link,))  # its batch in flight
        w.cut(link)
    if point != "refused-tryagain":
        w.settle()  # both ends see the break
        assert a.core.link is None, "the broken link is still taken for current"
    else:
        w.settle()  # PB.RESUME refused TRYAGAIN: a new link at the next tick
        assert a.core.link is None
        w.ping_now(C)  # now c knows view 2
    advance(w)
    w.ping_now(A)  # the next tick
    assert a.core.link is not None and a.core.link.id != first, "no new link at the next tick"
    w.settle()
    assert a.core.backup_synced
    w.ping_now(A)
    assert w.vs.acked and w.vs.view == View(2, A, C)
    if client is not None:
        assert done(client)
    same_data(w, A, C)

    # Until the view changes: c goes silent, viewd removes it, and a stops trying.
    w.kill(w.nodes[C])
    w.settle()
    for _ in range(DEAD_PINGS):
        w.viewd_tick()
        advance(w)
        w.ping_now(A)
        w.settle()
    assert w.vs.view == View(3, A, "") and a.core.view.viewnum == 3
    advance(w, 3)
    w.ping_now(A)
    assert a.core.link is None and not a.links


# --------------------------------------------------------------------------- restarted backups


def test_a_backup_restarted_and_chosen_again_under_the_same_name_gets_the_state_again():
    w = world(A, C)
    primary_of_view_1(w)
    join_as_backup(w, A, C)
    w.ping_now(C)  # c knew view 2
    client = write(w, 1, ("set", b"k0"), ("puthash", b"k1"), ("set", b"k2"))
    w.settle()
    assert done(client)

    w.kill(w.nodes[C])
    w.settle()
    w.start_node(C, genesis=False)
    w.ping_now(C)  # Ping(0) from a server that knew a view: a restart; it is the only idle one
    assert w.vs.view == View(3, A, C)
    w.ping_now(A)
    w.settle()
    w.ping_now(A)
    assert w.vs.acked and w.vs.view.viewnum == 3
    assert w.nodes[C].core.state_view == 3 and w.nodes[A].core.backup_synced
    same_data(w, A, C)


def test_a_new_backup_that_restarts_before_viewd_sees_it_gets_the_state_again_and_nothing_is_released_early():
    """viewd/core.py, "what viewd cannot see": a new server made backup while it pinged 0
    receives the state and restarts before it pings a view number; viewd keeps it as backup of
    the acknowledged view. The primary sends the state again, and while it does, a client's
    write answered +QUEUED is not released (the view is acknowledged: +QUEUED is not enough)."""
    w = world(A, C)
    a = primary_of_view_1(w)
    writer = write(w, 1, *[("set", b"k%d" % i) for i in range(6)])  # six keys: a long transfer
    w.settle()
    assert done(writer)
    w.start_node(C, genesis=False)
    w.ping_now(C)  # Ping(0): c becomes the backup of view 2, and learns it from the reply
    w.ping_now(A)
    w.settle()
    w.ping_now(A)  # a acknowledges view 2; c never pinged 2
    assert w.vs.acked and w.vs.view == View(2, A, C)

    w.kill(w.nodes[C])
    w.settle()  # a's link is lost
    assert a.core.link is None
    w.start_node(C, genesis=False)
    w.ping_now(C)  # Ping(0) from a server that never knew a view: still the backup
    assert w.vs.view == View(2, A, C) and w.nodes[C].core.view.viewnum == 2
    advance(w)
    w.ping_now(A)  # the next tick: a new link
    link = w.link_of(A)
    w.deliver_fwd(link)
    w.deliver_back(link)
    w.deliver_fwd(link)  # PB.RESUME: NOTSYNCED
    w.deliver_back(link)  # the transfer starts: PB.SYNC and four chunks in flight
    assert a.core.link.phase == "syncing" and a.core.acked == 2
    client = write(w, 2, ("set", b"k0"))
    w.settle(skip=(link,))  # its batch follows the chunks on the link
    assert link.fwd[-1][1][0].startswith(b"*5\r\n$8\r\nPB.BATCH")
    while link.fwd:  # PB.SYNC, four chunks, the batch: the backup holds it (+QUEUED)
        w.deliver_fwd(link)
    w.settle(skip=(link,))
    assert any(item[0] != CLOSE and item[1] == b"+QUEUED\r\n" for item in link.back)
    while link.back:
        w.deliver_back(link)
        assert not done(client), "released on +QUEUED in an acknowledged view"
    w.settle()
    assert done(client)
    assert w.nodes[C].core.state_view == 2 and a.core.backup_synced
    same_data(w, A, C)


def test_the_queued_release_bug_put_back_is_caught_by_that_scenario():
    with mutations.applied("queued-release-after-ack"), pytest.raises(Violation, match="release-durable"):
        test_a_new_backup_that_restarts_before_viewd_sees_it_gets_the_state_again_and_nothing_is_released_early()
