"""The pydnsbl peer of the check benchmark: checks every address in a file against the
given zones with pydnsbl as shipped (its default concurrency), through the resolver in
/etc/resolv.conf, and prints what it found and how long it took as JSON."""
import json
import sys
import time

from pydnsbl import DNSBLIpChecker
from pydnsbl.providers import Provider

zones = sys.argv[1].split(",")
with open(sys.argv[2]) as f:
    ips = [line.strip() for line in f if line.strip()]

# One try per query, as ipvet asks; the timeout is ipvet's CheckTimeout in the benchmark.
checker = DNSBLIpChecker(providers=[Provider(z) for z in zones], timeout=5, tries=1)
start = time.monotonic()
results = checker.bulk_check(ips)
seconds = time.monotonic() - start
print(json.dumps({
    "seconds": seconds,
    "listed": sorted(r.addr for r in results if r.blacklisted),
    "failed": sum(1 for r in results if r.failed_providers),
}))
