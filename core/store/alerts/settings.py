"""What a person configures: channels, rules and silences (``SqlAlertRepository`` inherits it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import DataError
from core.store.alerts.records import AlertRule, Channel, ExistsError, Silence, utc
from core.store.alerts.rows import (
    aware,
    missing,
    owner_is,
    rule_of,
    rule_values,
    silence_of,
    silence_values,
)
from core.store.db import NotFoundError, Store
from core.store.schema import alert_channels, alert_rules, alert_silences


class AlertSettings:
    """Channels, rules and silences, each kept per owner (None = the workspace)."""

    store: Store

    # ---- channels --------------------------------------------------------------------------------
    def add_channel(
        self, name: str, kind: str, url_sealed: str, url_masked: str, *, owner: str | None = None
    ) -> Channel:
        """A new channel; :class:`ExistsError` when the owner has one by that name."""
        values = dict(
            owner=owner, name=name, kind=kind, url_sealed=url_sealed, url_masked=url_masked
        )
        try:
            with self.store.writing() as conn:
                conn.execute(insert(alert_channels).values(**values))
        except DataError as err:
            if isinstance(err.__cause__, IntegrityError):
                raise ExistsError(
                    f"a channel named {name!r} exists already: choose another name, or delete it "
                    "first."
                ) from None
            raise
        return self.channel(name, owner=owner)

    def channels(self, *, owner: str | None = None) -> list[Channel]:
        """The owner's channels by name."""
        query = select(alert_channels).where(owner_is(alert_channels, owner))
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(alert_channels.c.name)).mappings().all()
        return [Channel(**aware(row)) for row in rows]

    def channel(self, name: str, *, owner: str | None = None) -> Channel:
        """One channel; :class:`NotFoundError` (listing the owner's) when there is none."""
        found = [c for c in self.channels(owner=owner) if c.name == name]
        if not found:
            raise NotFoundError(
                missing("channel", name, [c.name for c in self.channels(owner=owner)])
            )
        return found[0]

    def delete_channel(self, name: str, *, owner: str | None = None) -> None:
        """Delete a channel (rules naming it skip it, the log keeps its name)."""
        channel = self.channel(name, owner=owner)
        with self.store.writing() as conn:
            conn.execute(delete(alert_channels).where(alert_channels.c.id == channel.id))

    # ---- rules -----------------------------------------------------------------------------------
    def save_rule(self, rule: AlertRule, *, replace: bool = False) -> AlertRule:
        """Store a rule (``rule.owner`` owns it): new, or with ``replace`` overwriting one of that name."""
        values = rule_values(rule)
        with self.store.writing() as conn:
            existing = conn.execute(
                select(alert_rules.c.id).where(
                    owner_is(alert_rules, rule.owner), alert_rules.c.name == rule.name
                )
            ).scalar()
            if existing is not None and not replace:
                raise ExistsError(
                    f"a rule named {rule.name!r} exists already: edit it, or choose another name."
                )
            if existing is None:
                conn.execute(insert(alert_rules).values(**values))
            else:
                conn.execute(
                    update(alert_rules)
                    .where(alert_rules.c.id == existing)
                    .values(**values, updated=func.now())
                )
        return self.rule(rule.name, owner=rule.owner)

    def rules(self, *, owner: str | None = None, enabled_only: bool = False) -> list[AlertRule]:
        """The owner's rules by name (only the enabled ones with ``enabled_only``)."""
        query = select(alert_rules).where(owner_is(alert_rules, owner))
        if enabled_only:
            query = query.where(alert_rules.c.enabled.is_(True))
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(alert_rules.c.name)).mappings().all()
        return [rule_of(row) for row in rows]

    def rule(self, name: str, *, owner: str | None = None) -> AlertRule:
        """One rule; :class:`NotFoundError` when there is none."""
        found = [r for r in self.rules(owner=owner) if r.name == name]
        if not found:
            raise NotFoundError(missing("rule", name, [r.name for r in self.rules(owner=owner)]))
        return found[0]

    def delete_rule(self, name: str, *, owner: str | None = None) -> None:
        """Delete a rule (its log rows stay)."""
        rule = self.rule(name, owner=owner)
        with self.store.writing() as conn:
            conn.execute(delete(alert_rules).where(alert_rules.c.id == rule.id))

    # ---- silences --------------------------------------------------------------------------------
    def add_silence(self, silence: Silence) -> Silence:
        """Store a silence (its ``id`` is ignored); returns it with its id."""
        values = {k: v for k, v in silence_values(silence).items() if k not in ("id", "created")}
        with self.store.writing() as conn:
            new_id = conn.execute(
                insert(alert_silences).values(**values).returning(alert_silences.c.id)
            ).scalar_one()
        return self._silence(new_id, silence.owner)

    def silences(
        self, *, owner: str | None = None, active_at: datetime | None = None
    ) -> list[Silence]:
        """The owner's silences, newest first; with ``active_at`` only those muting at that time."""
        t = alert_silences
        query = select(t).where(owner_is(t, owner))
        if active_at is not None:
            at = utc(active_at)
            query = query.where(t.c.starts <= at, t.c.ends > at)
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(t.c.id.desc())).mappings().all()
        return [silence_of(row) for row in rows]

    def end_silence(self, silence_id: int, now: datetime, *, owner: str | None = None) -> Silence:
        """End a silence now (kept for the log's sake)."""
        self._silence(silence_id, owner)
        now = utc(now)
        with self.store.writing() as conn:
            conn.execute(
                update(alert_silences)
                .where(alert_silences.c.id == silence_id, alert_silences.c.ends > now)
                .values(ends=now)
            )
        return self._silence(silence_id, owner)

    def _silence(self, silence_id: int, owner: str | None) -> Silence:
        t = alert_silences
        with self.store.reading() as conn:
            row = (
                conn.execute(select(t).where(t.c.id == silence_id, owner_is(t, owner)))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"no silence #{silence_id}: `alerts silence list` shows them.")
        return silence_of(row)
