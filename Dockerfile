# mockpanel serve in a container (docs/docker.md). The build needs no network: it installs wheels built
# beforehand, with the base image's Python version, from the checkout's root:
#
#   python3.12 -m pip wheel . -w dist/wheels        # mockpanel and every dependency, as wheels
#   docker build -t mockpanel .                      # --build-arg BASE=... for another base image
#   docker run --rm -p 8080:8080 mockpanel           # http://127.0.0.1:8080/api/v2, key test-key
#
# Every serve option is an environment variable (MOCKPANEL_DIALECT, MOCKPANEL_KEYS, MOCKPANEL_ADMIN_TOKEN, ...).
ARG BASE=python:3.12-slim
FROM ${BASE}

# A virtual environment: the same steps on an official Python image and on a Debian one (whose
# system Python refuses pip installs, PEP 668).
COPY dist/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/mockpanel \
    && /opt/mockpanel/bin/python -m pip install --no-index --find-links /tmp/wheels --no-cache-dir --disable-pip-version-check mockpanel \
    && rm -rf /tmp/wheels \
    && mkdir /data && chown 10001:10001 /data

# 0.0.0.0: the published port reaches the server from outside the container. The control API (/_mock/)
# still answers only loopback clients unless MOCKPANEL_ADMIN_TOKEN is set (docs/docker.md).
ENV PATH=/opt/mockpanel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MOCKPANEL_HOST=0.0.0.0 \
    MOCKPANEL_PORT=8080

# Not root; numeric, so that a runtime can check it (Kubernetes' runAsNonRoot) without a passwd entry.
USER 10001:10001
WORKDIR /data
EXPOSE 8080

# Slim images have no curl: the image's own Python asks /_mock/health (no key, no token needed).
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_mock/health' % os.environ.get('MOCKPANEL_PORT', '8080'), timeout=4)"]

ENTRYPOINT ["mockpanel"]
CMD ["serve"]
