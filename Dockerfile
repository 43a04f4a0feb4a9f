# The Contact Radar worker image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY radar radar
COPY streams streams
COPY schemas schemas
COPY sinks sinks
COPY infra infra
COPY config config
RUN pip install --no-cache-dir .
ENV RADAR_DATA_DIR=/var/lib/radar RADAR_HTTP_HOST=0.0.0.0
EXPOSE 9464
ENTRYPOINT ["radar"]
CMD ["worker"]
