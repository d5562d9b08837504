"""The main screen's tools, one module each.

``widgets.main_screen.MainScreen`` is assembled from one class per tool:
the detail pane and its worker (``detail``), the display filter
(``filtering``), find, go to and sort (``find_sort``), writing files and
marks (``export_marks``), the peer's actions (``peer``) and the analysis
tools' screens (``analysis``). Each is a ``Screen`` subclass holding its own
actions, workers, messages and state; they share ``base.ScreenBase`` (the
session, the panes, the message line and the refresh that catches up with
the ring). Bindings, reactives and ``@on`` handlers of every tool class
work on the assembled screen, as Textual merges them along the MRO.
"""
