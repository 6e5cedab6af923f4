# Built from the wheel, as a PyPI user installs it: the image holds no source checkout.
#   docker build -t authserver .
#   docker run -p 8000:8000 -v authserver-data:/var/lib/authserver authserver
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY authserver ./authserver
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /var/lib/authserver --shell /usr/sbin/nologin authserver \
    && install -d -o authserver -g authserver -m 0700 /var/lib/authserver
# The database (embedded mode), signing keys and outbox; mount a volume here.
ENV AUTHSERVER_DATA_DIR=/var/lib/authserver \
    AUTHSERVER_HOST=0.0.0.0 \
    PYTHONDONTWRITEBYTECODE=1
VOLUME /var/lib/authserver
WORKDIR /var/lib/authserver
USER authserver
EXPOSE 8000
# /readyz: the database, Redis (when set) and a signing key are available.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('AUTHSERVER_PORT', '8000'), timeout=2)"]
CMD ["authserver", "serve"]
