"""The replication role machine, stepped by events: views from viewd, replies from a backup."""

from resp_kv.replication import NOT_BACKUP, NOT_SYNCED, TRY_AGAIN, Replica
from viewd.core import View

P, B, C = "10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3"


def primary_of_view_1(me=P):
    r = Replica(me, genesis=True)
    assert r.ping_viewnum() == 0
    r.on_view(View(1, me, ""))
    return r


def test_a_server_started_before_any_view_is_the_empty_primary_of_view_1():
    r = primary_of_view_1()
    assert r.serving and r.role == "primary"
    assert r.ping_viewnum() == 1  # acknowledges view 1


def test_a_restarted_server_named_primary_never_serves_and_pings_zero():
    r = Replica(P, genesis=False)  # viewd already had a view when this process started
    change = r.on_view(View(1, P, ""))
    assert not r.serving and r.role == "restarted" and change.new_role == "restarted"
    assert r.ping_viewnum() == 0  # so viewd counts it as dead
    r.on_view(View(7, P, B))
    assert not r.serving and r.ping_viewnum() == 0


def test_primary_acknowledges_a_view_with_a_new_backup_only_after_the_transfer():
    r = primary_of_view_1()
    r.ping_viewnum()
    change = r.on_view(View(2, P, B))
    assert change.new_backup and r.serving
    assert r.ping_viewnum() == 1  # not 2: the backup holds nothing yet
    assert r.on_backup_synced(2)
    assert r.ping_viewnum() == 2


def test_losing_the_link_after_the_transfer_keeps_the_view_acknowledged():
    # Otherwise a backup that dies right after its transfer would freeze the view for good:
    # viewd waits for the ack, and the primary would wait for a backup that is gone.
    r = primary_of_view_1()
    r.ping_viewnum()
    r.on_view(View(2, P, B))
    r.on_backup_synced(2)
    r.on_backup_link_lost()
    assert not r.backup_synced  # the next link starts with a transfer
    assert r.ping_viewnum() == 2


def test_a_backup_keeps_its_state_while_a_second_transfer_comes_in():
    r = Replica(B, genesis=False)
    r.on_view(View(2, P, B))
    r.begin_transfer(2, P)
    r.end_transfer(2, P)
    assert r.begin_transfer(2, P) is None  # the primary lost the link and starts again
    assert r.state_view == 2  # still promotable with the full state it has
    r.on_view(View(3, B, ""))
    assert r.serving


def test_backup_that_received_the_state_is_promoted_with_it():
    r = Replica(B, genesis=False)
    r.on_view(View(2, P, B))
    assert r.role == "backup" and r.begin_transfer(2, P) is None
    assert r.check_forward(2, P) is None  # forwards during the transfer are taken (and held)
    assert r.end_transfer(2, P) is None
    change = r.on_view(View(3, B, ""))
    assert change.role_changed and r.serving and r.ping_viewnum() == 3


def test_backup_without_the_state_is_not_promoted_into_serving():
    r = Replica(B, genesis=False)
    r.on_view(View(2, P, B))  # no transfer ever arrived
    r.on_view(View(3, B, ""))
    assert not r.serving and r.ping_viewnum() == 0


def test_a_server_that_skipped_a_view_holds_no_state_for_the_next():
    r = primary_of_view_1()
    r.on_view(View(3, P, ""))  # view 2 was never seen: whatever happened there is unknown
    assert not r.serving


def test_backup_refuses_forwards_from_others_older_views_and_before_a_transfer():
    r = Replica(B, genesis=False)
    r.on_view(View(4, P, B))
    assert r.check_forward(5, P).startswith(TRY_AGAIN)
    assert r.check_forward(3, P).startswith(NOT_BACKUP)
    assert r.check_forward(4, C).startswith(NOT_BACKUP)
    assert r.check_forward(4, P).startswith(NOT_SYNCED)
    r.on_view(View(5, B, C))
    assert r.check_forward(4, P).startswith(NOT_BACKUP)  # it is the primary now


def test_refusal_from_a_backup_that_moved_on_fences_the_primary_until_a_newer_view():
    r = primary_of_view_1()
    r.on_view(View(2, P, B))
    r.on_backup_synced(2)
    assert r.on_backup_refused(2, NOT_BACKUP + " moved on") == "fence"
    assert not r.serving and r.role == "fenced"
    r.on_view(View(3, P, C))  # viewd kept it as primary (the backup was replaced)
    assert r.serving


def test_other_refusals_mean_resend_the_state():
    r = primary_of_view_1()
    r.on_view(View(2, P, B))
    assert r.on_backup_refused(2, TRY_AGAIN + " x") == "retry"
    assert r.on_backup_refused(2, NOT_SYNCED + " x") == "resync"
    assert r.serving


def test_stale_or_repeated_views_change_nothing():
    r = primary_of_view_1()
    assert r.on_view(View(1, P, "")) is None
    assert r.on_view(View(0, "", "")) is None


def test_a_backup_chosen_again_under_the_same_name_in_a_new_view_needs_a_new_link():
    # It may have restarted within the dead time and been picked again as the only idle server.
    r = primary_of_view_1()
    r.ping_viewnum()
    r.on_view(View(2, P, B))
    r.on_backup_synced(2)
    assert r.ping_viewnum() == 2
    change = r.on_view(View(3, P, B))
    assert change.new_backup and not r.backup_synced
    assert r.ping_viewnum() == 2  # view 3 is acknowledged only once B holds the state again
