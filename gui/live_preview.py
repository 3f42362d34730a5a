"""Live model preview while a marker or the range band is dragged.

Every pointer move only records the latest request; one posted event evaluates it when the
event loop is free again. Moves that arrive while an evaluation runs overwrite the request, so
the work never queues: at most one evaluation is pending, always of the latest position. The
event is posted at normal priority, so it runs before the window's (low-priority) repaint:
the marker's move and the new curves are painted once, together. The
model comes from ``xpsfit.evaluate_model`` — the engine's own evaluation at the shown fit's
values with the dragged one replaced, no fit — and the refit still happens on release.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal

import xpsfit

_RUN = QEvent.Type(QEvent.registerEventType())


def marker_parameters(result, species: str, position: float) -> dict[str, float] | None:
    """The fitted values of ``result`` with ``species``' position at ``position`` (None when
    the component is not in the result)."""
    try:
        name = result.component(species).parameters["position"]
    except KeyError:
        return None
    values = {n: r.value for n, r in result.parameters.items()}
    values[name] = float(position)
    return values


class LivePreview(QObject):
    """Coalesces drag requests of one :class:`~xpsfit_gui.spectrum_view.SpectrumView` and draws
    the model at the latest one (``view.show_preview``)."""

    #: the preview curves (xarray Dataset) just drawn
    previewed = Signal(object)

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self._latest: tuple | None = None
        self._posted = False
        self.evaluated = 0             # evaluations done (requests coalesced away are not)
        self.requested = 0
        self.last_error = ""           # one line: why the latest request could not be drawn
        self.seconds: list[float] = []  # evaluation + curve update per preview (benchmarks)

    def request_marker(self, species: str, position: float) -> None:
        self._request(("marker", species, float(position)))

    def request_range(self, lo: float, hi: float) -> None:
        self._request(("range", float(min(lo, hi)), float(max(lo, hi))))

    def _request(self, what: tuple) -> None:
        self.requested += 1
        self._latest = what
        if not self._posted:
            self._posted = True
            QCoreApplication.postEvent(self, QEvent(_RUN))

    def event(self, event) -> bool:  # noqa: D401 - Qt API
        if event.type() == _RUN:
            self._posted = False
            self._run()
            return True
        return super().event(event)

    def cancel(self) -> None:
        """Drop a request not yet evaluated (a new spectrum or fit is being shown); an event
        already posted finds nothing to do."""
        self._latest = None

    def flush(self) -> None:
        """Evaluate the pending request now (tests, benchmarks)."""
        if self._latest is not None:
            self._run()

    def _run(self) -> None:
        what, self._latest = self._latest, None
        view = self.view
        result, spectrum = view.result, view.spectrum
        if what is None or result is None or spectrum is None:
            return
        t0 = time.perf_counter()
        try:
            if what[0] == "marker":
                values = marker_parameters(result, what[1], what[2])
                if values is None:
                    return
                curves = xpsfit.evaluate_model(spectrum, result.recipe, values)
            else:
                recipe = xpsfit.set_range(result.recipe, what[1], what[2])
                curves = xpsfit.evaluate_model(spectrum, recipe, result)
        except xpsfit.XpsfitError as exc:
            # e.g. a range with too few points: the last preview stays, the release reports it
            self.last_error = exc.one_line()
            return
        self.last_error = ""
        view.show_preview(curves)
        self.evaluated += 1
        self.seconds.append(time.perf_counter() - t0)
        self.previewed.emit(curves)
