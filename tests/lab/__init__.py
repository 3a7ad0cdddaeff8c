"""A small estate of real hosts for end-to-end tests: network namespaces on a bridge, each with
its own address, host name, snmpd and sshd (see ``tests/lab/netns.py``)."""
