"""The LocalStack that backends/localstack.py starts: reachable on loopback only, found again or started by
ensure_localstack, stopped by the function it returns."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from backends.localstack import LocalStack, answers, ensure_localstack
from tests.conftest import LOCALSTACK_VENV, free_port

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp{,6}


def listening_addresses(port: int) -> list[str]:
    """The local addresses of the sockets listening on `port`, from /proc/net/tcp and /proc/net/tcp6."""
    found = []
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        with open(table) as handle:
            next(handle)
            for line in handle:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state != LISTEN or int(hex_port, 16) != port:
                    continue
                # The kernel prints each 32-bit word of the address in host (little-endian) order.
                raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8))
                found.append(str(ipaddress.ip_address(raw[:width])))
    return found


def test_localstack_listens_on_loopback_only(localstack: LocalStack) -> None:
    # Read from the kernel's socket tables, not by connecting to another interface: traffic from tests stays on
    # loopback. (With LocalStack's default server this reads 0.0.0.0: it ignores the host it is given.)
    assert listening_addresses(localstack.port) == ["127.0.0.1"]


def test_ensure_localstack_uses_the_one_that_answers(localstack: LocalStack) -> None:
    assert ensure_localstack(localstack.url + "/", directory=LOCALSTACK_VENV) == (localstack.url, None)


def test_ensure_localstack_starts_one_and_stops_it() -> None:
    silent = f"http://127.0.0.1:{free_port()}"
    url, stop = ensure_localstack(silent, directory=LOCALSTACK_VENV)
    try:
        assert url != silent and url.startswith("http://127.0.0.1:")
        assert answers(url)
        assert listening_addresses(int(url.rsplit(":", 1)[1])) == ["127.0.0.1"]
    finally:
        assert stop is not None
        stop()
    assert not answers(url)
    stop()  # twice is harmless


def test_started_localstack_serves_s3(localstack: LocalStack, tmp_path: Path) -> None:
    from tests.conftest import make_client

    s3 = make_client("s3", localstack.url)
    s3.create_bucket(Bucket="loopback-only")
    s3.put_object(Bucket="loopback-only", Key="k", Body=b"v")
    assert s3.get_object(Bucket="loopback-only", Key="k")["Body"].read() == b"v"
