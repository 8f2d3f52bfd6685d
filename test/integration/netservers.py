# SPDX-License-Identifier: MIT
"""Real network middlemen for the integration tests, run as plain processes
on free loopback ports with their config in the test's own directory (no
system service): a certificate authority made with the openssl command,
nginx terminating TLS in front of a receiver, haproxy balancing TCP
connections over several receivers."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from receivers import free_port, stop_process, wait_until


def _run(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


class Pki:
    """Keys and certificates under workdir/pki, made with openssl (P-256
    keys: fast to make). ca(name) makes a self-signed CA; issue() a leaf
    signed by one, for a DNS name (server) or a client; days < 0 gives a
    certificate that expired before it began."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pki")
        os.makedirs(self.dir, exist_ok=True)

    def path(self, name, ext):
        return os.path.join(self.dir, f"{name}.{ext}")

    def _key_and_csr(self, name, subject):
        _run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", self.path(name, "key"), "-out", self.path(name, "csr"),
             "-subj", subject)

    def ca(self, name):
        _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.path(name, "key"),
             "-out", self.path(name, "pem"), "-days", "30", "-subj", f"/CN={name}")
        return name

    def issue(self, name, ca, dns=None, days=30):
        """A leaf: a server certificate for dns, or a client certificate
        (dns None) whose subject is CN=name."""
        self._key_and_csr(name, f"/CN={name}")
        ext = self.path(name, "ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            if dns:
                f.write(f"subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\n")
            else:
                f.write("extendedKeyUsage=clientAuth\n")
        _run("openssl", "x509", "-req", "-in", self.path(name, "csr"),
             "-CA", self.path(ca, "pem"), "-CAkey", self.path(ca, "key"),
             "-CAcreateserial", "-days", str(days), "-extfile", ext,
             "-out", self.path(name, "pem"))
        return name

    def install(self, name, cert_path, key_path):
        """Copies a certificate and its key to where a reader expects them,
        each replaced at once (rename), as a rotation does."""
        for src, dst in ((self.path(name, "pem"), cert_path), (self.path(name, "key"), key_path)):
            shutil.copyfile(src, dst + ".new")
            os.rename(dst + ".new", dst)


def served_certificate(port, timeout=5):
    """The DER certificate a TLS server on 127.0.0.1:port presents."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def pem_to_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class Nginx:
    """Debian's nginx as a plain process (its own prefix, pid and logs):
    one TLS server per entry of servers, each {"cert", "key", optional
    "client_ca" (then ssl_verify_client on)}, proxying to upstream (host:port
    of an HTTP receiver). Each server's access log (server<i>.log) has per
    request: connection serial, session reused (r or .), client subject,
    status. reload() is nginx -s reload: new certificates, no restart."""

    FIELDS = ["conn", "reused", "client", "status", "uri"]

    def __init__(self, workdir, upstream, servers):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        self.ports = [free_port() for _ in servers]
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(self._config(upstream, servers))
        self.proc = None

    def _config(self, upstream, servers):
        d = self.dir
        text = ("daemon off;\nmaster_process on;\nworker_processes 1;\n"
                + ("user root;\n" if os.geteuid() == 0 else "")
                + f"pid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\n"
                "events { worker_connections 256; }\nhttp {\n"
                "  log_format t '$connection $ssl_session_reused \"$ssl_client_s_dn\" "
                "$status $request_uri';\n"
                # The bodies stay in memory: no temp files to own.
                "  client_body_buffer_size 16m;\n  client_max_body_size 64m;\n"
                f"  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n"
                f"  fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n"
                f"  scgi_temp_path {d}/scgi;\n"
                f"  upstream rx {{ server {upstream}; keepalive 8; }}\n")
        for i, (port, s) in enumerate(zip(self.ports, servers)):
            text += (f"  server {{\n    listen 127.0.0.1:{port} ssl;\n"
                     f"    access_log {d}/logs/server{i}.log t;\n"
                     f"    ssl_certificate {s['cert']};\n    ssl_certificate_key {s['key']};\n")
            if s.get("client_ca"):
                text += (f"    ssl_verify_client on;\n"
                         f"    ssl_client_certificate {s['client_ca']};\n")
            text += ("    location / { proxy_pass http://rx; proxy_http_version 1.1;\n"
                     "      proxy_set_header Connection \"\"; }\n  }\n")
        return text + "}\n"

    def start(self):
        self.proc = subprocess.Popen(
            [shutil.which("nginx") or "/usr/sbin/nginx", "-p", self.dir, "-c", self.conf,
             "-e", os.path.join(self.dir, "logs", "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for port in self.ports:
            wait_until(lambda p=port: self.proc.poll() is None and served_certificate(p, 2),
                       30, f"nginx on {port}")
        return self

    def reload(self, port, cert):
        """Re-reads the config and certificates (SIGHUP), and waits until
        the server on port presents cert (a PEM path)."""
        want = pem_to_der(cert)
        self.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: served_certificate(port, 2) == want, 30, "nginx to reload")

    def access(self, i):
        """Server i's requests so far: dicts of FIELDS."""
        try:
            with open(os.path.join(self.dir, "logs", f"server{i}.log")) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            conn, reused, rest = line.split(" ", 2)
            client, status, uri = rest.rsplit(" ", 2)
            out.append(dict(zip(self.FIELDS, [conn, reused, client.strip('"'), status, uri])))
        return out

    def stop(self):
        stop_process(self.proc, signal.SIGQUIT)  # graceful: waits for requests


class Haproxy:
    """Debian's haproxy in TCP mode, round robin over backends (host:port),
    as a plain process. stats() reads its runtime counters per backend
    server: connections (stot) and bytes in (bin)."""

    def __init__(self, workdir, backends):
        self.dir = os.path.join(workdir, "haproxy")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        # A unix socket's path must fit 108 bytes: not under tmp_path.
        self.sock_dir = tempfile.mkdtemp(prefix="haproxy-")
        self.sock = os.path.join(self.sock_dir, "admin.sock")
        self.conf = os.path.join(self.dir, "haproxy.cfg")
        self.url = f"http://127.0.0.1:{self.port}/api/v1/write"
        with open(self.conf, "w") as f:
            f.write(f"global\n  stats socket {self.sock} mode 600 level admin\n"
                    "defaults\n  mode tcp\n  timeout connect 5s\n"
                    "  timeout client 5m\n  timeout server 5m\n"
                    f"frontend in\n  bind 127.0.0.1:{self.port}\n  default_backend lts\n"
                    "backend lts\n  balance roundrobin\n"
                    + "".join(f"  server b{i} {b}\n" for i, b in enumerate(backends)))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", self.conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is None and os.path.exists(self.sock), 30,
                   "haproxy")
        return self

    def stats(self):
        """{server name: {"stot": connections, "bin": bytes from clients}}."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("pxname") == "lts" and row.get("svname", "").startswith("b"):
                out[row["svname"]] = {"stot": int(row["stot"]), "bin": int(row["bin"])}
        return out

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.sock_dir, ignore_errors=True)


wait_for = wait_until  # the name the TLS and load balancer tests use
