"""The limited process that turns a pasted packet expression into bytes.

tapwatch runs as root and the inject dialog evaluates text a stranger may have written,
on every keystroke. None of it runs in tapwatch's own process: a big value there would
take the interpreter (and the capture thread with it) for seconds and gigabytes. Here:

* ``protocol``: the framed raw bytes the front and the server exchange, and their bounds;
* ``server``: the program of the warm process that imports scapy once and forks one
  confined child per evaluation, killing it at its time or when a newer one replaces it;
* ``confine``: the walls of that child (limits, an empty network namespace, no privileges,
  no files, no descriptors);
* ``guard``: inside the child, no name lookup, socket, program or write, said in words;
* ``expression``: the whitelist evaluator; ``frame``: from the packet to the device's bytes.

The front, in the capturing process, is :mod:`tapwatch.craft`.
"""
