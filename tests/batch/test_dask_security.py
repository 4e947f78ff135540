"""The Dask executor's local cluster admits only its own client (TLS) and serves no web pages.

Everything listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import math
import os
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import sweep_dict, write_scenario, write_sweep_file

import benefitshare as bs
from benefitshare.batch.executors import DaskExecutor, ExecutorError

pytest.importorskip("dask.distributed")

#: Pages of Dask's dashboard and of the scheduler's and workers' other HTTP routes.
PAGES = ("/status", "/health", "/metrics", "/info/main/workers.html", "/json/counts.json")


@pytest.fixture(scope="module")
def local():
    """One executor-started local cluster for the module (one worker process)."""
    with DaskExecutor(workers=1) as ex:
        yield ex


def listening_ports() -> set[tuple[str, int]]:
    """(host, port) of every socket this process and its children listen on."""
    import psutil

    me = psutil.Process()
    found = set()
    for proc in (me, *me.children(recursive=True)):
        for conn in proc.net_connections("inet"):
            if conn.status == psutil.CONN_LISTEN:
                found.add((conn.laddr.ip, conn.laddr.port))
    return found


def http_answers(ex: DaskExecutor) -> dict[tuple[int, str], int]:
    """HTTP status of each of PAGES on the scheduler's and the workers' HTTP servers."""
    info = ex._client.scheduler_info()
    ports = [info["services"]["dashboard"]]
    ports += [w["services"]["dashboard"] for w in info["workers"].values()]
    got = {}
    for port in ports:
        for page in PAGES:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{page}", timeout=10) as r:
                    got[port, page] = r.status
            except urllib.error.HTTPError as exc:
                got[port, page] = exc.code
    return got


class WatchedDask(DaskExecutor):
    """A Dask executor that notes the listening sockets and web pages while the sweep runs."""

    def imap_unordered(self, fn, items):
        self.seen = listening_ports(), http_answers(self)
        yield from super().imap_unordered(fn, items)


def test_a_sweep_on_the_secured_local_cluster_matches_serial_and_serves_no_page(tmp_path):
    scenario = write_scenario(tmp_path)
    spec = sweep_dict(scenario, draws=6, shares=(0.2, 0.8), growth=(0.0, 0.02))
    serial = bs.sweep(spec, executor="serial", out=tmp_path / "serial", progress=False)
    ex = WatchedDask(workers=1)
    dask = bs.sweep(spec, executor=ex, out=tmp_path / "dask", progress=False)
    assert serial.n_done == dask.n_done == 4
    pd.testing.assert_frame_equal(dask.frame, serial.frame, check_exact=True)
    assert dask.executor["cluster"] == "local"
    assert dask.executor["scheduler"].startswith("tls://127.0.0.1:")
    ports, pages = ex.seen
    # no dashboard on 8787 (Dask's default, used even with dashboard_address=None), nothing
    # beyond loopback, and no page on the HTTP servers that Dask opens anyway
    assert ports and all(host == "127.0.0.1" for host, _ in ports)
    assert 8787 not in {port for _, port in ports}
    assert len(pages) == 2 * len(PAGES) and set(pages.values()) == {404}


def test_a_client_without_the_credentials_cannot_connect(local):
    from distributed import Client
    from distributed.security import Security

    address = local._client.scheduler.address
    assert address.startswith("tls://127.0.0.1:")
    host, port = address.removeprefix("tls://").rsplit(":", 1)
    # a plain connection: the scheduler expects a TLS handshake
    with pytest.raises(OSError):
        Client(f"tcp://{host}:{port}", timeout="5s")
    # TLS trusting the scheduler's certificate (which it shows to anyone), with a client
    # certificate of its own making: the scheduler refuses a certificate it did not sign
    own = Security.temporary()
    thief = Security(
        require_encryption=True,
        tls_ca_file=local._client.security.tls_ca_file,
        tls_client_cert=own.tls_client_cert,
        tls_client_key=own.tls_client_key,
    )
    with pytest.raises(OSError, match="(?i)certificate|TLS"):
        Client(address, timeout="5s", security=thief)
    # TLS with no client certificate at all: the scheduler asks for one and hangs up
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with context.wrap_socket(raw) as tls:
            with pytest.raises(ssl.SSLError, match="(?i)certificate"):
                tls.sendall(b"x" * 64)
                tls.recv(1)
    # the executor's own credentials get in and run code
    with Client(address, timeout="5s", security=local._client.security) as client:
        assert client.submit(math.sqrt, 9.0).result() == 3.0


def test_an_existing_cluster_is_reached_with_the_security_given(local):
    address = local._client.scheduler.address
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler.*DASK_DISTRIBUTED"):
        DaskExecutor(scheduler=address).start()
    with DaskExecutor(scheduler=address, security=local._client.security) as ex:
        got = list(ex.imap_unordered(math.sqrt, [16.0]))
        assert ex.describe() == {
            "name": "dask",
            "workers": 1,
            "scheduler": address,
            "cluster": "existing",
        }
    assert got == [(16.0, 4.0, None)]
    assert local._client.status == "running"  # the cluster outlives a client of its own


def test_the_cli_takes_tls_settings_from_dask_environment_variables(local, tmp_path):
    """As the README says: certificate files named in DASK_DISTRIBUTED__COMM__TLS__... ."""
    security = local._client.security
    files = {}
    for name, pem in [
        ("ca_file", security.tls_ca_file),
        ("client__cert", security.tls_client_cert),
        ("client__key", security.tls_client_key),
    ]:
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_text(pem, encoding="ascii")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    env.update({f"DASK_DISTRIBUTED__COMM__TLS__{k.upper()}": str(p) for k, p in files.items()})
    sweep_file = write_sweep_file(tmp_path, write_scenario(tmp_path), draws=2, growth=(0.0,))
    command = [
        str(Path(sys.executable).parent / "benefitshare"),
        "sweep",
        str(sweep_file),
        "--executor",
        "dask",
        "--scheduler",
        local._client.scheduler.address,
        "--out",
        str(tmp_path / "out"),
        "--quiet",
        "--no-progress",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert bs.load_sweep(tmp_path / "out")["variant"].nunique() == 3
    # without them, exit 2 with the way to give them
    env = {k: v for k, v in env.items() if not k.startswith("DASK_")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "DASK_DISTRIBUTED__COMM__TLS__CA_FILE" in done.stderr


def test_without_cryptography_the_local_cluster_is_refused_not_left_open(monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)  # import cryptography fails
    with pytest.raises(ExecutorError, match="needs the cryptography package"):
        DaskExecutor(workers=1, processes=False).start()


def test_a_dashboard_is_served_when_asked_for():
    with DaskExecutor(workers=1, processes=False, dashboard_address="127.0.0.1:0") as ex:
        pages = http_answers(ex)
    assert pages[next(iter(pages))[0], "/health"] == 200  # the scheduler's routes are back
