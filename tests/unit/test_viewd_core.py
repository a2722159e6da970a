"""The view service's rules, fed events by hand: no sockets, no clocks, no sleeps.

The first part walks the seed's viewservice test (6.824 ``test_test.go``, Test1) scenario by
scenario, in the seed's order, with the seed's pings exactly (a new server pings 0 on every
iteration until it sees itself in the view); each test (``test_seed_scenario[<scenario>]``)
replays the scenarios before its own, so the last one is the whole of Test1. A loop iteration
of the seed ends with ``time.Sleep(PingInterval)``: here that is one ``tick()``.

The second part pins each rule on its own.
"""

from __future__ import annotations

import pytest

from viewd.core import ServerStatus, View, ViewService

DEAD = 5  # the seed's DeadPings

A, B, C, D = "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004"


class Clerk:
    """A server as the view service sees it: the seed's clerk, whose test says what it pings."""

    def __init__(self, vs: ViewService, me: str):
        self.vs = vs
        self.me = me

    def ping(self, viewnum: int) -> View:
        return self.vs.ping(self.me, viewnum)


def alive(vs: ViewService, server_id: str) -> bool:
    status = vs.server(server_id)
    return status is not None and status.alive


# --------------------------------------------------------------------------- the seed's Test1


class SeedTest:
    """The seed's Test1: three servers, one step per scenario, each step checking its outcome."""

    def __init__(self):
        self.vs = ViewService(DEAD)
        self.ck1, self.ck2, self.ck3 = (Clerk(self.vs, me) for me in (A, B, C))

    def sleep(self) -> None:
        self.vs.tick()

    def get(self) -> View:
        return self.vs.view

    def check(self, primary: str, backup: str, viewnum: int) -> None:
        assert self.get() == View(viewnum, primary, backup)

    def first_primary(self):
        ck1 = self.ck1
        assert self.get().primary == "", "there was a primary too soon"
        for _ in range(DEAD * 2):
            if ck1.ping(0).primary == ck1.me:
                break
            self.sleep()
        self.check(ck1.me, "", 1)

    def first_backup(self):
        ck1, ck2 = self.ck1, self.ck2
        vx = self.get()
        for _ in range(DEAD * 2):
            ck1.ping(1)
            if ck2.ping(0).backup == ck2.me:
                break
            self.sleep()
        self.check(ck1.me, ck2.me, vx.viewnum + 1)

    def backup_takes_over_if_primary_fails(self):
        ck1, ck2 = self.ck1, self.ck2
        ck1.ping(2)
        vx = ck2.ping(2)
        for _ in range(DEAD * 2):
            v = ck2.ping(vx.viewnum)
            if v.primary == ck2.me and v.backup == "":
                break
            self.sleep()
        self.check(ck2.me, "", vx.viewnum + 1)

    def restarted_server_becomes_backup(self):
        ck1, ck2 = self.ck1, self.ck2
        vx = self.get()
        ck2.ping(vx.viewnum)
        for _ in range(DEAD * 2):
            ck1.ping(0)
            v = ck2.ping(vx.viewnum)
            if v.primary == ck2.me and v.backup == ck1.me:
                break
            self.sleep()
        self.check(ck2.me, ck1.me, vx.viewnum + 1)

    def idle_third_server_becomes_backup_if_primary_fails(self):
        ck1, ck2, ck3 = self.ck1, self.ck2, self.ck3
        vx = self.get()
        ck2.ping(vx.viewnum)
        self.vs.take_changes()
        for _ in range(DEAD * 2):
            ck3.ping(0)  # also after a tick made it backup: it is new, not restarted
            v = ck1.ping(vx.viewnum)
            if v.primary == ck1.me and v.backup == ck3.me:
                break
            vx = v
            self.sleep()
        self.check(ck1.me, ck3.me, vx.viewnum + 1)
        # In one view change: no view in between without a backup.
        assert [view for view, _ in self.vs.take_changes()] == [self.get()]
        assert not self.vs.server(ck3.me).restarted  # the seed's issue 7: ck3 never knew a view

    def restarted_primary_treated_as_dead(self):
        ck1, ck3 = self.ck1, self.ck3
        vx = self.get()
        ck1.ping(vx.viewnum)
        for _ in range(DEAD * 2):
            ck1.ping(0)
            ck3.ping(vx.viewnum)
            if self.get().primary != ck1.me:
                break
            self.sleep()
        assert self.get().primary == ck3.me
        # Ours, beyond the seed: in one step, with the restarted ck1 as the only idle server.
        assert self.get() == View(6, ck3.me, ck1.me)

    def dead_backup_is_removed_from_view(self):
        ck3 = self.ck3
        for _ in range(DEAD * 3):
            vx = self.get()
            ck3.ping(vx.viewnum)
            self.sleep()
        v = self.get()
        assert (v.primary, v.backup) == (ck3.me, "")

    def viewserver_waits_for_primary_to_ack_view(self):
        ck1, ck3 = self.ck1, self.ck3
        # Set up primary ck3, backup ck1, and ck3 does not acknowledge.
        vx = self.get()
        for _ in range(DEAD * 3):
            ck1.ping(0)
            ck3.ping(vx.viewnum)
            if self.get().viewnum > vx.viewnum:
                break
            self.sleep()
        self.check(ck3.me, ck1.me, vx.viewnum + 1)
        vy = self.get()
        # ck3 is the primary but never acknowledged: let it die; ck1 must not be promoted.
        for _ in range(DEAD * 3):
            v = ck1.ping(vy.viewnum)
            if v.viewnum > vy.viewnum:
                break
            self.sleep()
        assert not alive(self.vs, ck3.me)
        self.check(ck3.me, ck1.me, vy.viewnum)

    def uninitialized_server_cannot_become_primary(self):
        ck1, ck2, ck3 = self.ck1, self.ck2, self.ck3
        for _ in range(DEAD * 2):
            v = self.get()
            ck1.ping(v.viewnum)
            ck2.ping(0)
            ck3.ping(v.viewnum)
            self.sleep()
        assert self.vs.acked
        for _ in range(DEAD * 2):
            ck2.ping(0)
            self.sleep()
        assert not alive(self.vs, ck1.me) and not alive(self.vs, ck3.me)
        vz = self.get()
        assert vz.primary != ck2.me, "uninitialized backup promoted to primary"
        assert vz == View(8, ck3.me, ck1.me)  # stuck: both of the view's servers are dead

    STEPS = [first_primary, first_backup, backup_takes_over_if_primary_fails,
             restarted_server_becomes_backup, idle_third_server_becomes_backup_if_primary_fails,
             restarted_primary_treated_as_dead, dead_backup_is_removed_from_view,
             viewserver_waits_for_primary_to_ack_view, uninitialized_server_cannot_become_primary]

    @classmethod
    def through(cls, last) -> "SeedTest":
        """Run the seed's scenarios in order, up to and including ``last``."""
        seed = cls()
        for step in cls.STEPS[: cls.STEPS.index(last) + 1]:
            step(seed)
        return seed


@pytest.mark.parametrize("scenario", SeedTest.STEPS, ids=[step.__name__ for step in SeedTest.STEPS])
def test_seed_scenario(scenario):
    SeedTest.through(scenario)


# --------------------------------------------------------------------------- rule by rule


def acked_view(primary: str, backup: str = "", idle: tuple[str, ...] = ()) -> ViewService:
    """A service whose current view is (primary, backup), acknowledged, with idle servers live."""
    vs = ViewService(DEAD)
    view = vs.ping(primary, 0)
    if backup:
        vs.ping(primary, view.viewnum)
        view = vs.ping(backup, 0)
        assert view.backup == backup
        vs.ping(backup, view.viewnum)
    for server_id in idle:
        vs.ping(server_id, view.viewnum)
    vs.ping(primary, view.viewnum)
    assert vs.acked and vs.view == View(view.viewnum, primary, backup)
    vs.take_changes()
    return vs


def keep_alive(vs: ViewService, *server_ids: str) -> None:
    for server_id in server_ids:
        vs.ping(server_id, vs.view.viewnum)


def test_there_is_no_view_before_the_first_ping():
    vs = ViewService(DEAD)
    assert vs.view == View(0, "", "")
    for _ in range(DEAD * 3):
        vs.tick()
    assert vs.view == View(0, "", "") and vs.take_changes() == []


def test_first_pinger_is_primary_of_view_1_whatever_view_number_it_sends():
    vs = ViewService(DEAD)
    assert vs.ping(A, 7) == View(1, A, "")
    assert vs.take_changes() == [(View(1, A, ""), "first primary")]


def test_no_new_view_until_the_primary_pings_the_current_view_number():
    vs = ViewService(DEAD)
    vs.ping(A, 0)
    assert vs.ping(B, 0) == View(1, A, "")  # view 1 is not acknowledged yet
    for wrong in (0, 2, 5):
        vs.ping(A, wrong)
        assert not vs.acked and vs.view == View(1, A, "")
    vs.ping(B, 1)  # only the primary acknowledges
    assert not vs.acked
    assert vs.ping(A, 1) == View(2, A, B)  # acknowledged: the idle server fills the backup slot


def test_server_is_dead_after_dead_pings_ticks_without_a_ping():
    vs = ViewService(DEAD)
    vs.ping(A, 0)
    for _ in range(DEAD - 1):
        vs.tick()
    assert alive(vs, A) and vs.server(A).ticks_since_ping == DEAD - 1
    vs.tick()
    assert not alive(vs, A)


def test_dead_primary_is_replaced_by_backup_exactly_at_its_death():
    vs = acked_view(A, B)
    for _ in range(DEAD - 1):
        vs.tick()
        keep_alive(vs, B)
    assert vs.view.primary == A
    vs.tick()
    assert vs.view == View(3, B, "")


def test_dead_primary_is_replaced_in_one_step_by_backup_and_idle_server():
    vs = acked_view(A, B, idle=(C,))
    for _ in range(DEAD):
        vs.tick()
        keep_alive(vs, B, C)
    assert vs.take_changes() == [(View(3, B, C), f"primary {A} dead: backup promoted")]


def test_restart_ping_0_from_acked_primary_takes_effect_at_once():
    vs = acked_view(A, B, idle=(C,))
    assert vs.ping(A, 0) == View(3, B, C)
    assert vs.take_changes() == [(View(3, B, C), f"primary {A} restarted: backup promoted")]


def test_restarted_primary_becomes_the_new_backup_if_no_other_server_is_idle():
    vs = acked_view(A, B)
    assert vs.ping(A, 0) == View(3, B, A)
    assert vs.server(A) == ServerStatus(A, "backup", True, 0, False)


def test_idle_server_alive_longest_is_chosen_as_backup():
    vs = acked_view(A, B, idle=(C, D))
    vs.ping(A, 0)
    assert vs.view == View(3, B, C)


def test_restarted_server_queues_behind_the_idle_servers():
    vs = acked_view(A, B, idle=(C,))
    assert vs.ping(A, 0) == View(3, B, C)  # A restarted, and left the view: now idle, last in line
    vs.ping(D, 0)
    assert vs.ping(B, 3) == View(3, B, C)
    assert vs.ping(C, 0) == View(4, B, A)  # C restarts: A has been idle longer than D


def test_server_that_died_and_came_back_queues_behind_the_others():
    vs = acked_view(A, B, idle=(C, D))
    for _ in range(DEAD):  # C dies, and is forgotten
        vs.tick()
        keep_alive(vs, A, B, D)
    assert vs.server(C) is None
    vs.ping(C, 0)
    vs.ping(B, 0)  # the backup restarts: the longest-alive idle server replaces it
    assert vs.view == View(3, A, D)


def test_dead_backup_is_removed_and_replaced_by_idle_server():
    vs = acked_view(A, B, idle=(C,))
    for _ in range(DEAD):
        vs.tick()
        keep_alive(vs, A, C)
    assert vs.take_changes() == [(View(3, A, C), f"backup {B} dead")]


def test_dead_backup_is_removed_when_no_idle_server_is_left():
    vs = acked_view(A, B)
    for _ in range(DEAD):
        vs.tick()
        keep_alive(vs, A)
    assert vs.view == View(3, A, "")


def test_restart_ping_0_from_acked_backup_removes_it_at_once():
    vs = acked_view(A, B, idle=(C,))
    assert vs.ping(B, 0) == View(3, A, C)
    assert vs.take_changes() == [(View(3, A, C), f"backup {B} restarted")]


def test_restarted_backup_gets_a_new_view_even_if_it_is_the_only_candidate():
    # The new view number is what tells the primary to transfer its state again.
    vs = acked_view(A, B)
    assert vs.ping(B, 0) == View(3, A, B)


def test_stuck_when_primary_and_backup_die_together():
    vs = acked_view(A, B, idle=(C,))
    for _ in range(DEAD * 4):
        vs.tick()
        keep_alive(vs, C)
    assert vs.view == View(2, A, B)
    assert vs.take_changes() == []


def test_idle_server_never_becomes_primary_when_the_lone_primary_dies():
    vs = acked_view(A)
    for _ in range(DEAD):
        vs.tick()
    assert not alive(vs, A)
    for _ in range(DEAD * 4):
        keep_alive(vs, C)
        vs.tick()
    assert vs.view == View(1, A, "")  # stuck: C is neither promoted nor made backup of a dead primary


def test_lone_primary_that_restarts_is_stuck_until_it_pings_a_view_number():
    vs = acked_view(A)
    assert vs.ping(A, 0) == View(1, A, "")  # its restart counts as death, and there is no backup
    assert vs.ping(C, 0) == View(1, A, "")  # so not even the backup slot is filled
    assert vs.ping(A, 1) == View(2, A, C)  # the restart is forgotten: the view moves on


def test_dead_primary_that_comes_back_before_being_replaced_keeps_its_place():
    vs = acked_view(A, B)
    for _ in range(DEAD * 2):  # B is dead too: stuck
        vs.tick()
    assert vs.view == View(2, A, B)
    vs.ping(A, 2)
    assert vs.view == View(3, A, "")  # A is back; the dead backup is removed


def test_primary_that_dies_before_acknowledging_deadlocks_the_service():
    vs = acked_view(A)
    assert vs.ping(B, 0) == View(2, A, B)  # A never acknowledges view 2
    for _ in range(DEAD * 4):
        vs.tick()
        keep_alive(vs, B)
    assert not alive(vs, A)
    assert vs.view == View(2, A, B)  # the known deadlock: B is not promoted


def test_dead_backup_is_not_removed_before_the_view_is_acknowledged():
    vs = acked_view(A)
    vs.ping(B, 0)  # view 2 = (A, B), not acknowledged
    for _ in range(DEAD):
        vs.tick()
        vs.ping(A, 1)
    assert not alive(vs, B) and vs.view == View(2, A, B)
    assert vs.ping(A, 2) == View(3, A, "")


def test_restart_ping_0_while_view_cannot_change_is_forgotten_after_a_nonzero_ping():
    vs = acked_view(A)
    vs.ping(B, 0)  # view 2 = (A, B), not acknowledged
    vs.ping(B, 2)  # B knows view 2 ...
    vs.ping(B, 0)  # ... and restarts while the view cannot change
    assert vs.server(B).restarted
    vs.ping(B, 2)  # ... but then pings a view number: the restart is forgotten
    assert not vs.server(B).restarted
    assert vs.ping(A, 2) == View(2, A, B)


def test_restart_ping_0_while_view_cannot_change_takes_effect_at_acknowledgement():
    vs = acked_view(A)
    assert vs.ping(C, 0) == View(2, A, C)  # view 2 waits for A's acknowledgement
    vs.ping(D, 0)
    vs.ping(C, 2)
    vs.ping(C, 0)  # C restarts while the view cannot change
    assert vs.view == View(2, A, C) and vs.server(C).restarted
    assert vs.ping(A, 2) == View(3, A, D)


def test_primary_restart_while_view_cannot_change_is_forgotten_after_a_nonzero_ping():
    vs = acked_view(A)
    vs.ping(B, 0)  # view 2 = (A, B), not acknowledged
    vs.ping(A, 0)  # A, which knew view 1, restarts before it heard of view 2
    assert vs.server(A).restarted and vs.view == View(2, A, B)
    assert vs.ping(A, 2) == View(2, A, B)  # acknowledged, restart forgotten
    assert vs.acked and not vs.server(A).restarted


def test_new_server_made_backup_by_a_tick_that_keeps_pinging_0_is_not_restarted():
    # The seed's clerk pings 0 while idle. Made backup by a tick, its next Ping(0) is still a
    # new server's: it never pinged a view number, so it knew no view to forget (issue 7).
    vs = acked_view(A, B)
    for _ in range(DEAD):
        vs.ping(C, 0)
        vs.ping(A, 2)  # as in the seed's loop, A pings the view it started the loop with
        vs.tick()
    assert vs.view == View(3, A, C)  # B died at the last tick; C was made backup
    vs.ping(C, 0)
    assert not vs.server(C).restarted
    assert vs.ping(A, 3) == View(3, A, C) and vs.acked  # C stays backup: no new view
    assert vs.take_changes() == [(View(3, A, C), f"backup {B} dead")]
    vs.ping(C, 3)  # now it knows view 3 ...
    assert vs.ping(C, 0) == View(4, A, C)  # ... so a Ping(0) is a restart: a new view, a new transfer
    assert not vs.server(C).restarted


def test_new_backup_that_restarts_before_pinging_a_view_number_stays_backup():
    # What viewd cannot tell apart: a new server that learned view 2 from the reply to its
    # Ping(0), received the state, and restarted before its next ping. pbd copes (the primary's
    # link breaks and the state is sent again): tests/integration/test_new_backup_restart.py.
    vs = acked_view(A)
    assert vs.ping(C, 0) == View(2, A, C)
    assert vs.ping(A, 2) == View(2, A, C) and vs.acked
    assert vs.ping(C, 0) == View(2, A, C)
    assert vs.server(C) == ServerStatus(C, "backup", True, 0, False)
    for _ in range(DEAD):  # the primary dies: the backup is promoted, whatever it holds
        vs.tick()
        vs.ping(C, 0)
    assert vs.view == View(3, C, "")


def test_ping_0_from_a_primary_that_never_pinged_a_view_number_is_not_a_restart():
    vs = ViewService(DEAD)
    vs.ping(A, 0)
    vs.ping(B, 0)
    vs.ping(A, 0)  # A pings 0 again before it heard of view 1: it is still new
    assert not vs.server(A).restarted
    assert vs.ping(A, 1) == View(2, A, B)


def test_dead_primary_that_comes_back_with_ping_0_is_still_a_restart():
    vs = acked_view(A, B)
    for _ in range(DEAD):  # both die: stuck
        vs.tick()
    assert not alive(vs, A) and not alive(vs, B) and vs.view == View(2, A, B)
    assert vs.ping(A, 0) == View(2, A, B)  # A knew view 2 before it died: it lost its state
    assert vs.server(A).restarted
    assert vs.ping(B, 2) == View(3, B, A)  # the backup comes back: promoted, A is a new idle server
    assert vs.server(A) == ServerStatus(A, "backup", True, 0, False)


def test_a_further_ping_0_keeps_the_restart_mark():
    vs = acked_view(A)
    vs.ping(C, 0)  # view 2 = (A, C), not acknowledged
    vs.ping(C, 2)
    vs.ping(C, 0)  # C restarts while the view cannot change
    vs.ping(C, 0)  # and pings 0 again: still restarted (it knows no view now, but lost one)
    assert vs.server(C).restarted
    assert vs.ping(A, 2) == View(3, A, C)  # acted on: C, the only candidate, gets a new view


def test_restarted_server_that_left_the_view_is_a_new_server():
    vs = acked_view(A, B)
    assert vs.ping(A, 0) == View(3, B, A)  # A restarted: it leaves, and comes back as a new backup
    vs.ping(A, 0)  # still pinging 0, as a new server does: not a restart
    assert vs.ping(B, 3) == View(3, B, A) and vs.acked


def test_idle_server_that_knew_a_view_and_pings_0_is_a_new_server():
    vs = acked_view(A, B, idle=(C,))  # C pinged view 2 while idle
    vs.ping(C, 0)  # C restarts while idle: nothing to act on, and it now knows no view
    assert vs.ping(B, 0) == View(3, A, C)  # the backup restarts: C replaces it
    vs.ping(C, 0)
    assert not vs.server(C).restarted
    assert vs.ping(A, 3) == View(3, A, C)


def test_ping_from_an_idle_server_with_0_is_not_a_restart():
    vs = acked_view(A, B, idle=(C,))
    vs.ping(C, 0)
    assert vs.server(C) == ServerStatus(C, "idle", True, 0, False)
    assert vs.view == View(2, A, B)


def test_dead_idle_servers_are_forgotten_but_view_members_are_not():
    vs = acked_view(A, B, idle=(C,))
    for _ in range(DEAD * 2):
        vs.tick()
    summary = vs.summary()
    assert [s.id for s in summary.servers] == [A, B]
    assert summary.alive == 0 and summary.ticks == DEAD * 2 and summary.acked


def test_summary_reports_roles_liveness_and_restarts():
    vs = acked_view(A)
    vs.ping(B, 0)  # view 2 = (A, B), not acknowledged
    vs.ping(C, 0)
    vs.ping(A, 0)  # A knew view 1: a restart, to act on once the view can change
    vs.tick()
    summary = vs.summary()
    assert summary.view == View(2, A, B) and not summary.acked and summary.ticks == 1
    assert summary.servers == (ServerStatus(A, "primary", True, 1, True),
                               ServerStatus(B, "backup", True, 1, False),
                               ServerStatus(C, "idle", True, 1, False))
    assert summary.alive == 3


def test_take_changes_returns_each_view_once_in_order():
    vs = ViewService(DEAD)
    vs.ping(A, 0)
    vs.ping(B, 0)
    vs.ping(A, 1)
    assert [view for view, _ in vs.take_changes()] == [View(1, A, ""), View(2, A, B)]
    assert vs.take_changes() == []


def test_same_events_give_the_same_views():
    def run() -> list:
        vs = ViewService(DEAD)
        for step in range(60):
            for i, server_id in enumerate((A, B, C, D)):
                if (step + i) % (3 + i) and not (20 <= step < 30 and server_id == vs.view.primary):
                    vs.ping(server_id, vs.view.viewnum if step % 7 else 0)
            vs.tick()
        return vs.take_changes()

    first = run()
    assert len(first) > 2 and run() == first


@pytest.mark.parametrize("server_id, viewnum", [("", 0), (A, -1)])
def test_malformed_ping_is_refused(server_id, viewnum):
    vs = ViewService(DEAD)
    with pytest.raises(ValueError):
        vs.ping(server_id, viewnum)
    assert vs.view == View()


def test_dead_pings_must_be_positive():
    with pytest.raises(ValueError):
        ViewService(0)
