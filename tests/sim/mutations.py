"""Bugs put back on purpose, to show the simulation finds them.

Each mutation patches ``Replica`` methods in this process only, for the duration of
:func:`applied` (nothing under ``resp_kv/`` is edited). They wrap the real methods where they
can, so they keep working while the core evolves. :func:`hunt` runs seeds until the first
violation; ``./dev sim --mutations`` prints, for each, how many seeds that took.
"""

from __future__ import annotations

from contextlib import contextmanager

from resp_kv.replication import Replica
from resp_kv.view import View

MUTATIONS: dict[str, tuple[str, object]] = {}


def mutation(name: str, what: str):
    def register(install):
        MUTATIONS[name] = (what, install)
        return install
    return register


@contextmanager
def applied(name: str):
    """Replica with the mutation ``name`` in place, then as it was."""
    _, install = MUTATIONS[name]
    patches = install()
    saved = {attr: Replica.__dict__[attr] for attr in patches}
    try:
        for attr, fn in patches.items():
            setattr(Replica, attr, fn)
        yield
    finally:
        for attr, fn in saved.items():
            setattr(Replica, attr, fn)


@mutation("queued-release-after-ack",
          "the primary releases a batch on +QUEUED even after it acknowledged the view")
def _queued_release_after_ack():
    real = Replica.link_reply

    def link_reply(self, link_id, reply):
        link = self.link
        head = link.inflight[0] if link is not None and link.id == link_id and link.inflight else None
        real(self, link_id, reply)
        if head is not None and head[0] == "batch" and reply == b"QUEUED":
            self._release_upto(head[1])
    return {"link_reply": link_reply}


@mutation("old-connection-batch",
          "the backup takes PB.* from any connection of its primary, not only the one it resumed on")
def _old_connection_batch():
    def _check_link(self, conn, viewnum):
        return self._check_sender(viewnum, self.view.primary)
    return {"_check_link": _check_link}


@mutation("resume-resends-nothing",
          "after PB.RESUME the primary resends nothing from the backup's resume point")
def _resume_resends_nothing():
    def _forward_from(self, link, held):
        pass
    return {"_forward_from": _forward_from}


@mutation("resume-releases-all",
          "after PB.RESUME the primary releases every waiting batch instead of resending those after held")
def _resume_releases_all():
    real = Replica._forward_from

    def _forward_from(self, link, held):
        self._release_upto(self.batch_id)
        real(self, link, held)
    return {"_forward_from": _forward_from}


@mutation("promote-without-state",
          "a server named primary serves even if it does not hold the previous view's state")
def _promote_without_state():
    real = Replica.on_view

    def on_view(self, view):
        if view.viewnum > self.view.viewnum and view.primary == self.me:
            if view.viewnum == 1:
                self.genesis = True
            elif self.state_view != view.viewnum - 1 or self.view.viewnum != view.viewnum - 1:
                self.view = View(view.viewnum - 1, self.view.primary, self.view.backup)
                self.state_view = view.viewnum - 1  # pretends to hold it
        real(self, view)
    return {"on_view": on_view}


@mutation("backup-promoted-without-state",
          "the backup of the previous view is promoted even if its transfer never completed")
def _backup_promoted_without_state():
    real = Replica.on_view

    def on_view(self, view):
        if (view.primary == self.me and self.view.viewnum == view.viewnum - 1 and self.view.backup == self.me
                and self.state_view != self.view.viewnum):
            self.state_view = self.view.viewnum
        real(self, view)
    return {"on_view": on_view}


@mutation("no-fence", "a NOTBACKUP refusal does not fence the primary")
def _no_fence():
    def _fence(self, viewnum):
        pass
    return {"_fence": _fence}


@mutation("old-link-reply",
          "a reply is taken for the current link whatever link it came on (the NOTBACKUP-after-view-change bug)")
def _old_link_reply():
    real = Replica.link_reply

    def link_reply(self, link_id, reply):
        if self.link is not None and self.link.id != link_id:
            link_id = self.link.id
        real(self, link_id, reply)
    return {"link_reply": link_reply}


@mutation("ack-before-synced",
          "the primary acknowledges a view with a new backup before the backup holds the state")
def _ack_before_synced():
    def ping_viewnum(self):
        v = self.view
        if v.viewnum and v.primary == self.me and self.state_view != v.viewnum:
            return 0
        self.acked = v.viewnum
        return v.viewnum
    return {"ping_viewnum": ping_viewnum}


def hunt(name: str, limit: int, steps: int | None = None, start: int = 0):
    """Run seeds start, start+1, ... with mutation ``name`` until one breaks a rule: returns
    (seeds run, that seed's Outcome) or (limit, None)."""
    from .schedule import DEFAULT_STEPS, run_seed

    for i in range(limit):
        outcome = run_seed(start + i, steps or DEFAULT_STEPS, mutation=name)
        if outcome.status == "violation":
            return i + 1, outcome
    return limit, None
