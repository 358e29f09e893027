# syntax=docker/dockerfile:1
# The lightbulb collector with its dashboard built in. Build from the
# repository root:
#   docker build -f packaging/docker/collector.Dockerfile -t lightbulb-collector .
# Runs as a non-root user on a read-only root filesystem: it writes only
# /var/lib/lightbulb (mount a volume there); its configuration and
# certificates are mounted under /etc/lightbulb.

FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=web /src/web/dist web/dist
RUN cargo build --release --locked -p lightbulb-collector \
    && strip target/release/lightbulb-collector

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/lightbulb-collector /usr/bin/lightbulb-collector
COPY packaging/config/collector.toml /etc/lightbulb/collector.toml
# distroless `nonroot`
USER 65532:65532
WORKDIR /var/lib/lightbulb
VOLUME ["/var/lib/lightbulb"]
# REST API and dashboard; agents' mutual-TLS gRPC.
EXPOSE 8080 7443
# The REST listener stays on 127.0.0.1 until the mounted configuration opens
# it (http.listen = "0.0.0.0:8080") and says who may sign in (auth.mode):
# the collector refuses an open listener without one.
ENV LIGHTBULB_STORE__PATH=/var/lib/lightbulb/lightbulb.db
ENTRYPOINT ["/usr/bin/lightbulb-collector"]
CMD ["--config", "/etc/lightbulb/collector.toml"]
