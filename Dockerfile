# resp-kv: one image for all three programs (viewd, pbd, pbc); the default command is pbd.
#
#   docker build -t resp-kv .            (podman: podman build --format docker -t resp-kv .
#                                         since podman's default OCI format drops HEALTHCHECK)
#   docker run resp-kv viewd
#   docker run -e RESP_KV_VIEWD=viewd:26379 -e RESP_KV_ADVERTISE=pbd1:6379 resp-kv     (pbd)
#   docker run --rm resp-kv pbc --view viewd:26379
#   docker compose up                    (compose.yaml: viewd + two pbd on a private network)
#
# Two stages: the first installs the package and its dependencies into a virtualenv (pip, no
# cache; hiredis and uvloop come as manylinux wheels, so no compiler is ever installed), the
# second copies only that virtualenv onto a clean base, without pip or the sources.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY resp_kv ./resp_kv
COPY viewd ./viewd
RUN python -m venv /opt/resp-kv \
 && /opt/resp-kv/bin/pip install --no-cache-dir --only-binary=hiredis,uvloop . \
 && /opt/resp-kv/bin/pip uninstall --yes pip setuptools \
 && /opt/resp-kv/bin/python -m compileall -q /opt/resp-kv/lib \
 && /opt/resp-kv/bin/pbd --help >/dev/null && /opt/resp-kv/bin/viewd --help >/dev/null

FROM python:3.11-slim
LABEL org.opencontainers.image.title="resp-kv" \
      org.opencontainers.image.description="A primary/backup replicated key/value store that speaks the Redis protocol"
COPY --from=build /opt/resp-kv /opt/resp-kv
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin resp-kv
# Inside a container the programs listen on every interface (published ports and other
# containers must reach them); a flag on the command line still wins. A pbd must then be told
# the address the others reach it at: set RESP_KV_ADVERTISE (e.g. pbd1:6379) and RESP_KV_VIEWD.
ENV PATH=/opt/resp-kv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    RESP_KV_BIND=0.0.0.0
# Numeric, so that orchestrators can check it is not root (Kubernetes' runAsNonRoot).
USER 10001:10001
EXPOSE 6379 26379
# The programs exit 0 on SIGTERM (after closing their listener); exec-form CMD keeps them PID 1
# so they receive it directly: `docker stop` takes well under a second, never the 10 s kill.
STOPSIGNAL SIGTERM
# Health: PING the server over RESP (redis-cli is not in the image). The port is the --port on
# PID 1's command line (also found behind `--init`), else $RESP_KV_PORT, else whichever of 6379
# (pbd) and 26379 (viewd) answers; the address is --bind / $RESP_KV_BIND, or loopback when that
# is the wildcard. So it works unchanged for viewd and pbd, whatever port they were given.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["python", "-c", "\
import os, socket, sys\n\
argv = open('/proc/1/cmdline', 'rb').read().decode(errors='replace').split('\\0')\n\
def opt(flag):\n\
    for i, arg in enumerate(argv):\n\
        if arg == flag and i + 1 < len(argv): return argv[i + 1]\n\
        if arg.startswith(flag + '='): return arg[len(flag) + 1:]\n\
    return os.environ.get('RESP_KV_' + flag[2:].upper())\n\
host = opt('--bind') or '127.0.0.1'\n\
host = {'0.0.0.0': '127.0.0.1', '::': '::1', '': '127.0.0.1'}.get(host, host)\n\
port = opt('--port')\n\
for p in [int(port)] if port else [6379, 26379]:\n\
    try:\n\
        with socket.create_connection((host, p), timeout=2) as s:\n\
            s.sendall(b'*1\\r\\n$4\\r\\nPING\\r\\n')\n\
            if s.recv(64).startswith(b'+PONG'): sys.exit(0)\n\
    except OSError: pass\n\
sys.exit(1)\n\
"]
CMD ["pbd"]
