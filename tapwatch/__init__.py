"""tapwatch: watch, record and answer the traffic of Linux tun/tap devices.

The words the code and its messages use, each for one thing:

record
    One packet as tapwatch holds it (:class:`tapwatch.ring.Record`): when, which
    way, which interface, its bytes, and its number (``seq``) in the ring.
direction
    Which way a packet crossed an interface, seen from the host, as libpcap and
    tcpdump say it: :class:`tapwatch.kinds.Direction`. OUTBOUND ("Out",
    "host→" in the packet list) is what the host sent into the device, which
    tapwatch reads; INBOUND ("In", "→host") is what the host received from it:
    written by tapwatch, a tunnel's far end or whoever holds the device.
    Records carry the Direction's value; its words are ``Direction.word`` and
    ``DIRECTION_ARROWS``.
source, kind
    Where packets come from (:mod:`tapwatch.sources`): a tun or tap device
    tapwatch holds, an observed interface, a capture file, fed records. Its
    ``kind`` (:data:`tapwatch.kinds.SourceKind`) says which, and "kind" means
    nothing else.
interface
    One numbered interface of a session (:class:`tapwatch.sources.InterfaceInfo`;
    a record's ``iface``). The session's first is its headline (``Session.info``).
device state
    What the kernel says of an interface a source reads
    (:data:`tapwatch.kinds.DeviceState`); a file has none (None).
live
    Packets can still arrive: a device, an interface or a pipe is being read.
    Capture's state is live, stopped (it ended: the device went, ``-c``, a
    signal) or offline (a finished file): :data:`tapwatch.kinds.CaptureState`.
peer, mode
    What answers what the host sends into a device: tapwatch itself
    (:class:`tapwatch.peer.Peer`, in a mode: drop, echo or reply), a tunnel's
    far end, or nobody (:data:`tapwatch.kinds.PeerRole`).
ring, pump, sink
    The ring holds the records; the session's pump is its one consumer and
    hands records to the sinks (:mod:`tapwatch.sinks`): the capture file, the
    printed lines, the peer, the tunnel.
capture filter, display filter
    A capture filter (BPF, tcpdump's expression) keeps packets out of the ring;
    a display filter only hides rows that are held.
summary, info
    A summary is the decoder's one-line account of one packet
    (:class:`tapwatch.decode.Summary`, what a printed line says); its ``info``
    is the Info column. Types named ``...Info`` describe a thing
    (``InterfaceInfo``, ``LinkInfo``, ``FrameInfo``).
status, exit line
    The status is one typed snapshot of a session for the status bar
    (:class:`tapwatch.snapshot.Status`); the exit line is what tapwatch says
    on stderr when a run ends (``Session.exit_line``).
losses
    Evicted: the ring let the oldest go to hold new ones. Missed: the ring
    wrapped before the pump processed them. Kernel drops: the kernel dropped
    them before tapwatch read them. Every one is counted and shown.
"""

__version__ = "0.1.0"
