# syntax=docker/dockerfile:1
# The lightbulb agent (the Helm chart runs it as a DaemonSet). Build from
# the repository root:
#   docker build -f packaging/docker/agent.Dockerfile -t lightbulb-agent .
# Runs as a non-root user on a read-only root filesystem: it writes only its
# spool under /var/lib/lightbulb (a hostPath or volume); configuration and
# certificates are mounted under /etc/lightbulb. Probes: :9464/healthz and
# /readyz (set LIGHTBULB_HEALTH__LISTEN=0.0.0.0:9464 for the kubelet).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p lightbulb-agent \
    && strip target/release/lightbulb-agent

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/lightbulb-agent /usr/bin/lightbulb-agent
# distroless `nonroot`
USER 65532:65532
WORKDIR /var/lib/lightbulb
VOLUME ["/var/lib/lightbulb"]
EXPOSE 9464
ENV LIGHTBULB_SPOOL_DIR=/var/lib/lightbulb/spool \
    LIGHTBULB_HEALTH__LISTEN=0.0.0.0:9464
ENTRYPOINT ["/usr/bin/lightbulb-agent"]
CMD ["--config", "/etc/lightbulb/agent.toml"]
