"""The panel users and the server get (``mockpanel.Panel``, ``build_panel``, the pytest fixture).

It is the domain's panel (domain/panel.py, over typed values) with what only a mock's user
or its server needs:

- ``add(key, service, fields)``: an ``add``'s wire fields read as the panel's dialect reads
  them (dialects/order_fields.py), then placed with the domain's ``place_order``;
- forcing orders and refills (control/forcing.py), and whole-state snapshots (control/snapshot.py);
- recording: every operation the domain lists in ``MUTATIONS`` tells the attached recorder
  (control/recording.py), so state files miss no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..dialects.order_fields import read_order_request
from ..domain.mutations import mutation
from . import snapshot
from .forcing import Forcing
from .recording import Recorder, record_mutations


class Panel(Forcing):
    """One mock panel: the domain's panel, with wire ``add``, forcing, snapshots and recording."""

    # Class defaults, so the domain's constructor (and ``reset``) serve as they are.
    recorder: Recorder | None = None  # persistence's, while a state file is attached
    replaying = False  # a state file is being replayed into the panel: record nothing

    def add(self, key: str, service_id: object, params: Mapping[str, str]) -> int:
        """Place an order from an ``add``'s fields; returns its id. Charges the price at once, or raises."""
        with self.lock:
            self.account(key)  # a bad key is reported before the service, the service before its fields
            service = self.find_service(service_id)
            request = read_order_request(
                service.type,
                params,
                min_quantity=service.min,
                max_quantity=service.max,
                dripfeed_allowed=service.dripfeed,
                rules=self.settings.rules,
            )
            return self.place_order(key, service.id, request)

    @mutation
    def restore_snapshot(self, data: Mapping[str, Any]) -> None:
        """Replace the whole state with an exported one (``snapshot.dump``)."""
        snapshot.restore(self, data)


record_mutations(Panel)  # last: the class has every listed operation by now
