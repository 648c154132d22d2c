"""SSH tunnels for zmqx connections (pyzmq's zmq.ssh.tunnel).

``tunnel_connection(sock, "tcp://10.0.0.5:5555", "user@gateway")`` picks a free local
port, has ssh forward it to 10.0.0.5:5555 as seen from the gateway, and connects the
socket to the local end. Two ways to run the tunnel:

- openssh (the default outside Windows): the system ``ssh`` client with ``-L``. It runs
  ``sleep <timeout>`` on the server, so an unused tunnel closes after `timeout` seconds
  while one in use lasts as long as its connections. A password, when one is needed, is
  given to ssh through SSH_ASKPASS (OpenSSH 8.4 or later), never on a command line.
- paramiko (Windows, or ``paramiko=True``; ``pip install paramiko``): a child process
  that forwards the port through a paramiko connection (zmqx.ssh.forward).

pyzmq drives ssh's password prompt with pexpect; zmqx needs no such dependency.
"""

import atexit
import getpass
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

try:
    import paramiko as _paramiko
except ImportError:
    _paramiko = None

__all__ = [
    "tunnel_connection", "ssh_tunnel", "openssh_tunnel", "paramiko_tunnel",
    "try_passwordless_ssh", "select_random_ports", "open_tunnel",
]


class MaxRetryExceeded(Exception):
    pass


def select_random_ports(n):
    """n distinct local TCP ports that are free now: all bound at once (so the OS cannot
    hand out one twice), then released."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _split_server(server):
    """'user@host:port' -> ('user@host', port or None); also accepts 'host', 'user@host'."""
    host, sep, port = server.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host, int(port)
    return server, None


def _ssh_base(server, keyfile):
    host, port = _split_server(server)
    cmd = ["ssh"]
    if port is not None:
        cmd += ["-p", str(port)]
    if keyfile:
        cmd += ["-i", keyfile]
    return cmd, host


def _default_paramiko(paramiko):
    return sys.platform == "win32" if paramiko is None else paramiko


def try_passwordless_ssh(server, keyfile=None, paramiko=None):
    """Whether `server` accepts us without a password (a key or an agent)."""
    if not _default_paramiko(paramiko):
        cmd, host = _ssh_base(server, keyfile)
        cmd += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", host, "exit"]
        try:
            return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    if _paramiko is None:
        raise ImportError("paramiko is not installed (pip install paramiko)")
    client = _paramiko_client()
    user, host, port = _paramiko_target(server)
    try:
        client.connect(host, port, username=user, key_filename=keyfile, look_for_keys=True)
    except _paramiko.AuthenticationException:
        return False
    client.close()
    return True


def _port_taken(port):
    # ssh listens on 127.0.0.1:port once its forward is set up: our bind then fails
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        return True
    finally:
        s.close()
    return False


def _askpass_script(directory):
    path = os.path.join(directory, "askpass")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nprintf "%s\\n" "$ZMQX_SSH_PASSWORD"\n')
    os.chmod(path, stat.S_IRWXU)
    return path


_tunnels = []       # the ssh processes started here (kept so they are reaped, not zombies)


@atexit.register
def _reap():
    for p in _tunnels:
        p.poll()


def openssh_tunnel(lport, rport, server, remoteip="127.0.0.1", keyfile=None, password=None,
                   timeout=60):
    """Forward 127.0.0.1:lport to remoteip:rport (as `server` sees it) with the system
    ssh client; returns the ssh process's pid once the forward is listening. The tunnel
    ends `timeout` seconds after it was made unless a connection through it is open.
    password None: a key/agent if that works, else asked for on the terminal;
    password False: never use one."""
    if password is None and not try_passwordless_ssh(server, keyfile, paramiko=False):
        password = getpass.getpass(f"{server}'s password: ")
    cmd, host = _ssh_base(server, keyfile)
    cmd += ["-S", "none", "-o", "ExitOnForwardFailure=yes",
            "-L", f"127.0.0.1:{lport}:{remoteip}:{rport}", host, "sleep", str(int(timeout))]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="zmqx-ssh-") as tmp:
        if password:
            env.update(SSH_ASKPASS=_askpass_script(tmp), SSH_ASKPASS_REQUIRE="force",
                       ZMQX_SSH_PASSWORD=password, DISPLAY=env.get("DISPLAY", ":0"))
        else:
            cmd[1:1] = ["-o", "BatchMode=yes"]
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        deadline = time.monotonic() + max(timeout, 10)
        while not _port_taken(lport):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip()
                raise RuntimeError(f"ssh tunnel to {server} failed (exit {proc.returncode})"
                                   + (f": {err}" if err else ""))
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise MaxRetryExceeded(f"ssh tunnel to {server}: no forward after {timeout}s")
            time.sleep(0.05)
    proc.stderr.close()
    _tunnels.append(proc)
    return proc.pid


def _paramiko_client():
    client = _paramiko.SSHClient()
    client.load_system_host_keys()
    client.set_missing_host_key_policy(_paramiko.WarningPolicy())
    return client


def _paramiko_target(server):
    host, port = _split_server(server)
    user, sep, host = host.rpartition("@")
    return (user or getpass.getuser()), host, (port or 22)


def _paramiko_forward(lport, rport, server, remoteip, keyfile, password):
    # in the child process: connect, then serve the local port until killed
    from .forward import forward_tunnel

    client = _paramiko_client()
    user, host, port = _paramiko_target(server)
    client.connect(host, port, username=user, key_filename=keyfile, look_for_keys=True,
                   password=password)
    forward_tunnel(lport, remoteip, rport, client.get_transport())


def paramiko_tunnel(lport, rport, server, remoteip="127.0.0.1", keyfile=None, password=None,
                    timeout=60):
    """The same tunnel through paramiko, served by a daemon child process (returned: a
    multiprocessing.Process; terminate() it to close the tunnel)."""
    import multiprocessing

    if _paramiko is None:
        raise ImportError("paramiko is not installed (pip install paramiko)")
    if password is None and not try_passwordless_ssh(server, keyfile, paramiko=True):
        password = getpass.getpass(f"{server}'s password: ")
    p = multiprocessing.Process(target=_paramiko_forward,
                                args=(lport, rport, server, remoteip, keyfile, password or None),
                                daemon=True)
    p.start()
    return p


ssh_tunnel = paramiko_tunnel if sys.platform == "win32" else openssh_tunnel


def open_tunnel(addr, server, keyfile=None, password=None, paramiko=None, timeout=60):
    """Tunnel tcp://ip:port through `server`; returns ('tcp://127.0.0.1:<lport>', tunnel)."""
    lport = select_random_ports(1)[0]
    transport, sep, rest = addr.partition("://")
    if transport != "tcp" or not sep:
        raise ValueError(f"only tcp:// endpoints can be tunnelled, not {addr!r}")
    ip, _, rport = rest.rpartition(":")
    ip = ip.strip("[]")
    if ip in ("*", ""):
        ip = "127.0.0.1"
    tunnelf = paramiko_tunnel if _default_paramiko(paramiko) else openssh_tunnel
    tunnel = tunnelf(lport, int(rport), server, remoteip=ip, keyfile=keyfile,
                     password=password, timeout=timeout)
    return f"tcp://127.0.0.1:{lport}", tunnel


def tunnel_connection(socket, addr, server, keyfile=None, password=None, paramiko=None,
                      timeout=60):
    """socket.connect(addr) for an addr only `server` can reach: through a new tunnel
    (returned: the ssh pid, or the paramiko Process)."""
    new_url, tunnel = open_tunnel(addr, server, keyfile=keyfile, password=password,
                                  paramiko=paramiko, timeout=timeout)
    socket.connect(new_url)
    return tunnel
