"""The replication core, stepped by events (views, ticks, link events, PB.* messages) and
judged by the actions it returns. No sockets, no clocks."""

import hiredis

from resp_kv import pbwire
from resp_kv import replication as rp
from resp_kv.protocol import BIG, encode_command
from resp_kv.replication import Replica
from resp_kv.view import View

P, B, C = "10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3"


def of(replica, kind):
    """The actions of ``kind`` among those queued (all are taken)."""
    return [a for a in replica.take_actions() if isinstance(a, kind)]


def sent(actions):
    """The PB.* message names of Send actions."""
    out = []
    for a in actions:
        if isinstance(a, rp.Send):
            reader = hiredis.Reader()
            reader.feed(b"".join(a.message))
            out.append(reader.gets()[0])
    return out


def refusal(text):
    return hiredis.ReplyError(text)


def primary_of_view_1(me=P):
    r = Replica(me, genesis=True)
    assert r.ping_viewnum() == 0
    r.on_view(View(1, me, ""))
    r.ping_viewnum()
    r.take_actions()
    return r


def linked_primary(view=View(2, P, B)):
    """A primary of ``view`` whose link is up and whose PB.RESUME is in flight."""
    r = primary_of_view_1()
    r.on_view(view)
    (connect,) = of(r, rp.Connect)
    assert connect.address == view.backup
    r.link_up(connect.link)
    assert sent(r.take_actions()) == [pbwire.RESUME]
    return r, connect.link


def synced_primary(view=View(2, P, B)):
    r, link = linked_primary(view)
    r.link_reply(link, [0, b"synced"])
    r.take_actions()
    assert r.backup_synced
    return r, link


def write(r, waiter, now=5.0):
    r.turn_time(now)
    r.propagate(encode_command([b"SET", b"k", waiter.encode()]), [], waiter)
    r.end_turn()
    return r.batch_id


def backup_of(view=View(2, P, B), conn="link"):
    r = Replica(B, genesis=False)
    r.on_view(view)
    r.take_actions()
    return r


def msg(*words):
    return [w if isinstance(w, bytes) else str(w).encode() for w in words]


# ---------------------------------------------------------------------------- roles and viewd


def test_a_server_started_before_any_view_is_the_empty_primary_of_view_1():
    r = primary_of_view_1()
    assert r.serving and r.role == "primary"
    assert r.ping_viewnum() == 1  # acknowledges view 1


def test_a_restarted_server_named_primary_never_serves_and_pings_zero():
    r = Replica(P, genesis=False)  # viewd already had a view when this process started
    r.on_view(View(1, P, ""))
    assert not r.serving and r.role == "restarted"
    assert r.ping_viewnum() == 0  # so viewd counts it as dead
    r.on_view(View(7, P, B))
    assert not r.serving and r.ping_viewnum() == 0
    assert not of(r, rp.Connect)  # and it never links up with a backup


def test_backup_without_the_state_is_not_promoted_into_serving():
    r = backup_of()  # no transfer ever arrived
    r.on_view(View(3, B, ""))
    assert not r.serving and r.ping_viewnum() == 0


def test_a_server_that_skipped_a_view_holds_no_state_for_the_next():
    r = primary_of_view_1()
    r.on_view(View(3, P, ""))  # view 2 was never seen: whatever happened there is unknown
    assert not r.serving


def test_stale_or_repeated_views_change_nothing():
    r = primary_of_view_1()
    r.on_view(View(1, P, ""))
    r.on_view(View(0, "", ""))
    assert r.take_actions() == [] and r.view == View(1, P, "")


def test_a_role_change_closes_the_clients_and_an_idle_server_drops_its_data():
    r = primary_of_view_1()
    r.on_view(View(2, B, C))
    actions = r.take_actions()
    assert any(isinstance(a, rp.CloseClients) for a in actions)
    assert any(isinstance(a, rp.ClearData) for a in actions)


# ---------------------------------------------------------------------------- the primary's link


def test_primary_acknowledges_a_view_with_a_new_backup_only_after_the_transfer():
    r, link = linked_primary()
    assert r.ping_viewnum() == 1  # not 2: the backup holds nothing yet
    r.link_reply(link, refusal(f"{pbwire.NOT_SYNCED} no state"))
    actions = r.take_actions()
    assert sent(actions) == [pbwire.SYNC] and any(isinstance(a, rp.TakeSnapshot) for a in actions)
    r.snapshot_taken(link, iter([(pbwire.LOAD, [b"k", b"v"])]))
    assert sent(r.take_actions()) == [pbwire.LOAD, pbwire.SYNCED]
    for reply in (b"OK", b"OK"):
        r.link_reply(link, reply)
    assert r.ping_viewnum() == 1
    r.link_reply(link, 0)  # PB.SYNCED's reply
    assert r.backup_synced and r.ping_viewnum() == 2


def test_a_transfer_keeps_at_most_a_few_chunks_in_flight():
    r, link = linked_primary()
    r.link_reply(link, refusal(f"{pbwire.NOT_SYNCED} no state"))
    r.take_actions()
    r.snapshot_taken(link, iter([(pbwire.LOAD, [b"k%d" % i, b"v"]) for i in range(10)]))
    assert sent(r.take_actions()) == [pbwire.LOAD] * rp.LOADS_IN_FLIGHT
    r.link_reply(link, b"OK")  # PB.SYNC
    r.link_reply(link, b"OK")  # the first chunk: one more goes out
    assert sent(r.take_actions()) == [pbwire.LOAD]


def test_losing_the_link_after_the_transfer_keeps_the_view_acknowledged_and_links_again():
    # Otherwise a backup that dies right after its transfer would freeze the view for good:
    # viewd waits for the ack, and the primary would wait for a backup that is gone.
    r, link = synced_primary()
    assert r.ping_viewnum() == 2
    r.link_lost(link)
    assert not r.backup_synced and r.ping_viewnum() == 2
    r.tick(1.0)
    (connect,) = of(r, rp.Connect)
    assert connect.link != link


def test_a_reply_is_released_once_the_backup_holds_its_batch():
    r, link = synced_primary()
    batch = write(r, "w1")
    assert sent(r.take_actions()) == [pbwire.BATCH]
    r.link_reply(link, b"OK")
    assert of(r, rp.Release) == [rp.Release(["w1"])]
    assert batch == 1 and not r.unacked


def start_transfer(r, link, chunks):
    r.link_up(link)
    r.link_reply(link, refusal(f"{pbwire.NOT_SYNCED} no state"))
    r.snapshot_taken(link, iter([(pbwire.LOAD, [b"k%d" % i, b"v"]) for i in range(chunks)]))
    r.take_actions()


def test_a_queued_batch_releases_its_reply_only_while_the_view_is_unacknowledged():
    # Unacknowledged: the first transfer to the backup of view 2 (the primary still pings 1).
    r = primary_of_view_1()
    r.on_view(View(2, P, B))
    (connect,) = of(r, rp.Connect)
    start_transfer(r, connect.link, chunks=rp.LOADS_IN_FLIGHT + 1)
    write(r, "w1")
    for reply in [b"OK"] * (1 + rp.LOADS_IN_FLIGHT) + [b"QUEUED"]:  # PB.SYNC, chunks, the batch
        r.link_reply(connect.link, reply)
    assert r.ping_viewnum() == 1
    assert [a.waiters for a in r.take_actions() if isinstance(a, rp.Release)] == [["w1"]]

    # Acknowledged: view 2 was acknowledged, then the backup lost its state (it restarted
    # before viewd heard from it): batches held during the new transfer wait for PB.SYNCED.
    r, link = synced_primary()
    assert r.ping_viewnum() == 2
    r.link_lost(link)
    r.tick(1.0)
    (connect,) = of(r, rp.Connect)
    start_transfer(r, connect.link, chunks=rp.LOADS_IN_FLIGHT + 1)
    write(r, "w2")
    for reply in [b"OK"] * (1 + rp.LOADS_IN_FLIGHT) + [b"QUEUED"]:
        r.link_reply(connect.link, reply)
    assert not of(r, rp.Release)
    assert sent(r.take_actions()) == []  # the fifth chunk and PB.SYNCED went out already
    r.link_reply(connect.link, b"OK")  # the fifth chunk
    r.link_reply(connect.link, 1)  # PB.SYNCED: the backup holds batch 1
    assert [a.waiters for a in r.take_actions() if isinstance(a, rp.Release)] == [["w2"]]
    assert r.backup_synced


def test_a_reply_from_an_older_link_is_ignored():
    # The service once stopped for good: after a view change, the old backup's refusal on the
    # old link was taken for the new backup's, and the primary fenced itself at the old view.
    r, old = linked_primary(View(2, P, C))
    r.on_view(View(3, P, B))
    (new,) = of(r, rp.Connect)
    r.link_reply(old, refusal(f"{pbwire.NOT_BACKUP} {C} is not the backup of {P} in view 2 (view is 3)"))
    assert r.serving and r.role == "primary" and r.take_actions() == []
    r.link_up(new.link)
    assert sent(r.take_actions()) == [pbwire.RESUME]


def test_a_refusal_from_a_backup_that_moved_on_fences_the_primary_until_a_newer_view():
    r, link = synced_primary()
    write(r, "w1")
    r.take_actions()
    r.link_reply(link, refusal(f"{pbwire.NOT_BACKUP} moved on"))
    actions = r.take_actions()
    assert not r.serving and r.role == "fenced"
    assert [a.waiters for a in actions if isinstance(a, rp.Fail)] == [["w1"]]
    assert any(isinstance(a, rp.CloseClients) for a in actions)
    r.tick(5.0)
    assert not of(r, rp.Connect)  # a fenced primary does not link up again
    r.on_view(View(3, P, C))  # viewd kept it as primary (the backup was replaced)
    assert r.serving and of(r, rp.Connect)


def test_other_refusals_and_failed_connections_mean_a_new_link_at_the_next_tick():
    for trouble in ("TRYAGAIN view 2 is not known here yet", "NOTSYNCED batch 3 after 1", "lost", "connect"):
        r, link = synced_primary()
        write(r, "w1")
        r.take_actions()
        if trouble == "lost":
            r.link_lost(link)
        elif trouble == "connect":
            r.link_lost(link)
            r.tick(1.0)
            (attempt,) = of(r, rp.Connect)
            r.link_lost(attempt.link)  # the connection could not even be opened
        else:
            r.link_reply(link, refusal(trouble))
        assert r.serving and not r.backup_synced
        r.tick(2.0)
        (connect,) = of(r, rp.Connect)
        r.link_up(connect.link)
        r.take_actions()
        r.link_reply(connect.link, [0, b"synced"])  # the backup held nothing of batch 1
        assert sent(r.take_actions()) == [pbwire.BATCH]  # so it is sent again
        r.link_reply(connect.link, b"OK")
        assert of(r, rp.Release) == [rp.Release(["w1"])]


def test_the_resume_point_skips_what_the_backup_holds():
    r, link = synced_primary()
    write(r, "w1")
    write(r, "w2")
    r.take_actions()
    r.link_lost(link)
    r.tick(1.0)
    (connect,) = of(r, rp.Connect)
    r.link_up(connect.link)
    r.take_actions()
    r.link_reply(connect.link, [1, b"synced"])
    actions = r.take_actions()
    assert [a.waiters for a in actions if isinstance(a, rp.Release)] == [["w1"]]
    assert sent(actions) == [pbwire.BATCH]
    assert pbwire.batch(2, 2, 5.0, encode_command([b"SET", b"k", b"w2"]), []) in [a.message for a in actions if isinstance(a, rp.Send)]


def test_a_silent_backup_is_given_up_and_linked_again():
    r, link = synced_primary()
    r.tick(10.0)
    write(r, "w1")
    r.take_actions()
    r.tick(10.5)
    assert not r.take_actions()  # half a second: still waiting
    r.tick(11.5)
    actions = r.take_actions()
    assert rp.Disconnect(link) in actions and any(isinstance(a, rp.Connect) for a in actions)


def test_a_large_message_gives_the_backup_time_in_proportion_to_its_size():
    r, link = synced_primary()
    r.tick(10.0)
    r.turn_time(10.0)
    large = []
    r.propagate(pbwire.frames([[b"SET", b"k", b"x" * (2 * rp.LINK_RATE)]], large), large, "w1")  # 2 s worth
    r.end_turn()
    r.take_actions()
    r.tick(12.5)
    assert not r.take_actions()  # 1 s, and 2 s for the size: still waiting
    r.tick(13.5)
    assert rp.Disconnect(link) in r.take_actions()


def test_without_a_backup_waiting_replies_are_released_and_when_deposed_they_fail():
    r, link = synced_primary()
    write(r, "w1")
    r.on_view(View(3, P, ""))  # the backup died
    assert [a.waiters for a in r.take_actions() if isinstance(a, rp.Release)] == [["w1"]]
    r2, _ = synced_primary()
    write(r2, "w2")
    r2.on_view(View(3, B, C))
    fails = of(r2, rp.Fail)
    assert fails[0].waiters == ["w2"] and fails[0].error.startswith("READONLY")


def test_a_backup_chosen_again_under_the_same_name_in_a_new_view_needs_a_new_link():
    # It may have restarted within the dead time and been picked again as the only idle server.
    r, link = synced_primary()
    assert r.ping_viewnum() == 2
    r.on_view(View(3, P, B))
    actions = r.take_actions()
    assert rp.Disconnect(link) in actions and any(isinstance(a, rp.Connect) for a in actions)
    assert not r.backup_synced
    assert r.ping_viewnum() == 2  # view 3 is acknowledged only once B holds the state again


# ---------------------------------------------------------------------------- the backup


def test_backup_refuses_other_senders_older_views_and_unknown_views():
    r = backup_of(View(4, P, B))
    assert r.on_message("c", msg("PB.RESUME", 5, P)).startswith(pbwire.TRY_AGAIN)
    assert r.on_message("c", msg("PB.RESUME", 3, P)).startswith(pbwire.NOT_BACKUP)
    assert r.on_message("c", msg("PB.RESUME", 4, C)).startswith(pbwire.NOT_BACKUP)
    assert r.on_message("c", msg("PB.RESUME", 4, P)).startswith(pbwire.NOT_SYNCED)  # no state yet
    r.on_view(View(5, B, C))
    assert r.on_message("c", msg("PB.RESUME", 4, P)).startswith(pbwire.NOT_BACKUP)  # primary now


def receive_state(r, conn="link", view=2, covers=0):
    assert r.on_message(conn, msg("PB.RESUME", view, P)).startswith(pbwire.NOT_SYNCED)
    assert r.on_message(conn, msg("PB.SYNC", view, covers)) == "OK"
    assert r.on_message(conn, [b"PB.LOAD", b"%d" % view, b"0", b"k", b"-1", b"string", b"1", b"v"]) == "OK"
    return r


def test_a_backup_holds_batches_during_a_transfer_and_applies_them_after_it():
    r = receive_state(backup_of())
    batch = [b"PB.BATCH", b"2", b"1", b"3.5", encode_command([b"SET", b"a", b"1"])]
    actions = [a for a in r.take_actions() if not isinstance(a, rp.Log)]
    assert actions == [rp.BeginStaging(), rp.Stage(pbwire.LOAD, [b"0", b"k", b"-1", b"string", b"1", b"v"])]
    assert r.on_message("link", batch) == "QUEUED"
    assert not r.take_actions()  # held, not applied
    assert r.on_message("link", msg("PB.SYNCED", 2)) == 1
    actions = [a for a in r.take_actions() if not isinstance(a, rp.Log)]
    assert actions == [rp.Install(), rp.Apply([[b"SET", b"a", b"1"]], 3.5)]
    assert r.state_view == 2
    r.on_view(View(3, B, ""))
    assert r.serving  # promoted with the state it received


def test_a_backup_applies_batches_once_and_in_order():
    r = receive_state(backup_of(), covers=4)
    r.on_message("link", msg("PB.SYNCED", 2))
    r.take_actions()
    batch = lambda n: [b"PB.BATCH", b"2", b"%d" % n, b"1.0", encode_command([b"INCR", b"n"])]
    assert r.on_message("link", batch(4)) == "OK"  # covered by the snapshot: nothing to do
    assert r.on_message("link", batch(6)).startswith(pbwire.NOT_SYNCED)  # 5 is missing
    assert r.on_message("link", batch(5)) == "OK"
    assert r.on_message("link", batch(5)) == "OK"  # a duplicate
    assert len(of(r, rp.Apply)) == 1
    assert r.on_message("link2", msg("PB.RESUME", 2, P)) == [5, b"synced"]


def test_a_batch_carries_large_words_apart_and_the_backup_puts_them_back():
    r = receive_state(backup_of())
    r.on_message("link", msg("PB.SYNCED", 2))
    r.take_actions()
    big, other = b"x" * BIG, b"y" * (BIG + 1)
    large = []
    reqs = pbwire.frames([[b"SET", b"a", big], [b"GET", b"a"], [b"MSET", b"b", other, b"c", b"small"]], large)
    assert large == [big, other] and len(reqs) < 100  # the large words are not in the frames
    message = b"".join(pbwire.batch(2, 1, 1.0, reqs, large))
    reader = hiredis.Reader()
    reader.feed(message)
    assert r.on_message("link", reader.gets()) == "OK"
    assert of(r, rp.Apply)[0].requests == [[b"SET", b"a", big], [b"GET", b"a"], [b"MSET", b"b", other, b"c", b"small"]]


def test_a_backup_takes_messages_only_on_the_connection_last_resumed_on():
    r = receive_state(backup_of())
    r.on_message("link", msg("PB.SYNCED", 2))
    assert r.on_message("link2", msg("PB.RESUME", 2, P)) == [0, b"synced"]
    batch = [b"PB.BATCH", b"2", b"1", b"1.0", encode_command([b"SET", b"a", b"1"])]
    assert r.on_message("link", batch).startswith(pbwire.NOT_SYNCED)
    assert r.on_message("intruder", msg("PB.SYNCED", 2)).startswith(pbwire.NOT_SYNCED)


def test_a_backup_keeps_its_state_while_a_second_transfer_comes_in_and_breaks():
    r = receive_state(backup_of())
    r.on_message("link", msg("PB.SYNCED", 2))
    batch = [b"PB.BATCH", b"2", b"1", b"1.0", encode_command([b"SET", b"a", b"1"])]
    r.on_message("link", batch)
    r.take_actions()
    # The primary starts over on a new link and sends the state again.
    assert r.on_message("link2", msg("PB.RESUME", 2, P)) == [1, b"synced"]
    assert r.on_message("link2", msg("PB.SYNC", 2, 7)) == "OK"
    assert r.state_view == 2 and r.receiving  # still promotable with the full state it has
    r.conn_closed("link2")
    assert of(r, rp.DropStaging) and not r.receiving
    assert r.on_message("link3", msg("PB.RESUME", 2, P)) == [1, b"synced"]  # back where it was


def test_malformed_messages_are_refused_with_an_error():
    r = receive_state(backup_of())
    assert r.on_message("link", [b"PB.BATCH", b"2", b"x", b"1.0", b""]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.BATCH", b"2", b"1", b"now", b""]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.BATCH", b"2", b"1", b"1.0", b"+PING\r\n"]).startswith("ERR malformed")
    # A large word stands in for each ":0" element, no more, no fewer.
    two = b"*3\r\n$3\r\nSET\r\n:0\r\n:0\r\n"
    assert r.on_message("link", [b"PB.BATCH", b"2", b"1", b"1.0", two, b"k"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.BATCH", b"2", b"1", b"1.0", two, b"k", b"v", b"w"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.BATCH", b"2", b"1", b"1.0", b"*2\r\n$3\r\nGET\r\n:1\r\n"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.LOAD", b"2", b"0", b"k", b"-1", b"string"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.LOAD", b"2", b"16", b"k", b"-1", b"string", b"1", b"v"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.LOAD", b"2", b"0", b"k", b"soon", b"string", b"1", b"v"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.LOAD", b"2", b"0", b"k", b"-1", b"stream", b"1", b"v"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.LOAD", b"2", b"0", b"k", b"-1", b"hash", b"1", b"f"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.LOAD", b"2", b"0", b"k", b"-1", b"list", b"3", b"a", b"b"]).startswith("ERR malformed")
    assert r.on_message("link", [b"PB.SESSIONS", b"2", b"garbage"]).startswith("ERR malformed")
