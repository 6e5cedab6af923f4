FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY authserver ./authserver
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system --home /app authserver \
    && mkdir -p /app/keys /app/data && chown authserver /app/keys /app/data
# The state stays where 0.1 images kept it (the keys volume of compose.yaml).
ENV AUTHSERVER_DATA_DIR=/app/data AUTHSERVER_KEYS_DIR=/app/keys
USER authserver
EXPOSE 8000
CMD ["authserver", "serve", "--host", "0.0.0.0"]
