"""Acting as the peer: echo, reply or drop, resend the selected packet, inject a crafted one.

These keys exist only where there is a device to write into: ``check_action``
leaves them out of the key hints, the palette and the help's active list
elsewhere, and their keys say why instead of doing nothing.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from tapwatch.kinds import PEER_MODES
from tapwatch.widgets import keys
from tapwatch.widgets.dialogs import action_errors
from tapwatch.widgets.dialogs.craft import CraftScreen
from tapwatch.widgets.screen.base import ScreenBase

PEER_ACTIONS = {"mode", "resend", "craft"}

#: what a refused peer key is called in its message
REFUSED_WHAT = {
    "mode('echo')": "echo",
    "mode('reply')": "reply",
    "mode('drop')": "drop mode",
    "resend": "resending",
    "craft": "injecting",
}


#: the peer keys again, after their own bindings: a key whose tool cannot act here says why
#: instead of doing nothing (the screen lists them after ``keys.bindings()``: Textual tries a
#: key's bindings in order, and merging bindings along the MRO would keep only one class's)
REFUSING_BINDINGS: list[BindingType] = [
    Binding(t.key, f"unavailable({t.action!r})", t.name, show=False)
    for t in keys.TOOLS
    if t.section == keys.PEER and t.key
]


class PeerActions(ScreenBase):
    """``e`` ``r`` ``d`` ``s`` ``i``: what tapwatch writes into the device."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Peer keys exist only where there is a device to write into."""
        if action in PEER_ACTIONS:
            return self.session.write_problem("x") is None
        if action == "unavailable":
            tool = keys.tool_for(str(parameters[0]) if parameters else "")
            return tool is not None and self.check_action(tool.action.split("(")[0], ()) is False
        return super().check_action(action, parameters)

    def action_unavailable(self, action: str) -> None:
        what = REFUSED_WHAT.get(action, action)
        problem = self.session.write_problem(what) or f"{what} is not available here"
        self.say(problem, "error")

    def action_mode(self, mode: str) -> None:
        if mode not in PEER_MODES:  # bindings name the mode as a string
            return
        try:
            self.session.set_mode(mode)
        except action_errors() as e:
            self.say(f"cannot switch to {mode}: {e}", "error")
            return
        what = {
            "drop": "drop: tapwatch stays silent",
            "echo": "echo: every frame the host sends is written back; echoed requests come "
            "back as requests, so the host drops them and ping sees no reply",
            "reply": "reply: answering ARP/NDP and pings",
        }[mode]
        self.say(f"mode {what}")
        self.tick()

    def action_resend(self) -> None:
        rec = self.packet_list.selected_record()
        if rec is None:
            self.say("no packet selected (or it was evicted)", "warning")
            return
        try:
            self.session.inject(rec.data)
        except action_errors() as e:
            self.say(f"resend: {e}", "error")
            return
        self.say(f"sent packet {rec.seq} again ({len(rec.data)} bytes)")

    def action_craft(self) -> None:
        problem = self.session.write_problem("injecting")
        if problem:
            self.say(problem, "error")
            return

        def sent(size: int | None) -> None:
            if size:
                self.say(f"sent a crafted packet ({size} bytes)")

        self.open_tool(CraftScreen(self.session), sent)
