"""Schemathesis hooks for server/tests/schemathesis.sh: the `cidr` format.

The document (app/src/server/rest/formats.rs) declares a network as `format: cidr` with a
pattern for its shape. What no pattern can say is the rest of the format: the host bits are
zero (198.51.100.0/24, not 198.51.100.1/24, which the server refuses as a likely typo).
Schemathesis does not know the format, so these teach it: fuzzing draws real networks of
both families, and a schema-valid request whose network has host bits set, which the
coverage phase builds from the pattern alone, has them cleared before it is sent. Requests
meant to be invalid are left as they are.
"""

import ipaddress

import schemathesis
from hypothesis import strategies as st

v4 = st.builds(
    lambda addr, prefix: str(ipaddress.IPv4Network((addr, prefix), strict=False)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
# ::/0 is refused (more addresses than a counter holds); the pattern excludes it too.
v6 = st.builds(
    lambda addr, prefix: str(ipaddress.IPv6Network((addr, prefix), strict=False)),
    st.integers(0, 2**128 - 1),
    st.integers(1, 128),
)
schemathesis.openapi.format("cidr", v4 | v6)


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("cidr"), str):
        return
    try:
        body["cidr"] = str(ipaddress.ip_network(body["cidr"], strict=False))
    except ValueError:
        pass
