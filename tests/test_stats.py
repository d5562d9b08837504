"""Per-protocol counters: every layer counted, rates per second, history for sparklines."""

from __future__ import annotations

from tapwatch.stats import Stats

S = 1_000_000_000


def test_counts_each_layer_of_a_packet() -> None:
    st = Stats()
    st.add(("IPv4", "UDP", "DNS"), 60, 10 * S)
    st.add(("IPv4", "ICMP"), 84, 10 * S)
    rows = {r.name: r for r in st.rows(10 * S)}
    assert rows["IPv4"].packets == 2 and rows["IPv4"].bytes == 144
    assert rows["UDP"].packets == 1 and rows["DNS"].depth == 2
    assert [r.name for r in st.rows(10 * S)] == ["IPv4", "ICMP", "UDP", "DNS"]
    assert st.total_packets == 2 and st.total_bytes == 144


def test_rate_is_last_complete_second_and_history_has_gaps() -> None:
    st = Stats()
    for _ in range(5):
        st.add(("IPv6",), 40, 100 * S)
    st.add(("IPv6",), 40, 101 * S + 5)
    assert st.pps(101 * S + 10) == 5.0
    (row,) = st.rows(104 * S)
    assert row.history[-4:] == [5, 1, 0, 0]
    assert row.pps == 0.0
    assert st.pps(200 * S) == 0.0


def test_reset() -> None:
    st = Stats()
    st.add(("ARP",), 42, S)
    st.reset()
    assert st.rows(S) == [] and st.total_packets == 0


def test_depths_make_one_tree_over_a_tun_and_an_ethernet_interface() -> None:
    """A tun's raw IP and an Ethernet interface in one session (``-i any`` under a VPN):
    each row is indented one step under its parent protocol's row, whichever link type
    brought a protocol first, so ICMP never looks like IPv4's sibling nor UDP like ICMP's
    child."""
    s = Stats()
    s.add(("Ethernet", "ARP"), 42, 0)
    s.add(("IPv4", "ICMP"), 84, 0)  # the tun: raw IP
    s.add(("Ethernet", "IPv4", "UDP", "WireGuard"), 170, 0)  # the veth under it
    depth = {r.name: r.depth for r in s.rows(0)}
    assert depth["ICMP"] == depth["IPv4"] + 1
    assert depth["UDP"] == depth["IPv4"] + 1
    assert depth["WireGuard"] == depth["UDP"] + 1
    assert depth["ARP"] == depth["Ethernet"] + 1
