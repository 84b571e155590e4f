# syntax=docker/dockerfile:1.7
#
# The one `samling` binary, for every target: region services, the gateway,
# migrations and audit verification (see helm/samling and docs/operations.md).
#
#   docker build -t registry.samling.example/samling/samling:0.1.0 .
#   docker run --rm -p 50051-50056:50051-50056 -p 8080:8080 \
#       registry.samling.example/samling/samling:0.1.0        # all-in-one on SQLite
#
# No HEALTHCHECK: Docker's can only run a command, the image has no gRPC
# client, and the binary has no health subcommand. In Kubernetes the kubelet
# probes grpc.health.v1 natively (services) and GET /healthz, /readyz (gateway);
# see the chart's probes and docs/operations.md.

ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
# The slim Rust image brings gcc and libc6-dev, enough for the bundled SQLite;
# protobufs compile with protox (pure Rust), so no protoc is needed.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin samling \
    && install -D -m 0755 target/release/samling /out/usr/local/bin/samling
# The runtime user (uid/gid 10001, as the chart's securityContext expects) and
# its data directory; distroless has no useradd.
RUN install -d -m 0750 /out/var/lib/samling \
    && install -d /out/etc \
    && printf '%s\n' \
        'root:x:0:0:root:/root:/sbin/nologin' \
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
        'samling:x:10001:10001:samling:/var/lib/samling:/sbin/nologin' > /out/etc/passwd \
    && printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' 'samling:x:10001:' > /out/etc/group

FROM ${RUNTIME_IMAGE}
COPY --from=builder /out/etc/passwd /out/etc/group /etc/
COPY --from=builder /out/usr/local/bin/samling /usr/local/bin/samling
COPY --from=builder --chown=10001:10001 /out/var/lib/samling /var/lib/samling
USER 10001:10001
WORKDIR /var/lib/samling
# Listen on every interface inside the container; the chart sets the same.
ENV SAMLING_DATA_DIR=/var/lib/samling \
    SAMLING_LISTEN_HOST=0.0.0.0 \
    SAMLING_HTTP_ADDR=0.0.0.0:8080 \
    SAMLING_LOG_FORMAT=json
# gRPC of the first region (region i listens on 50051 + i in the all-in-one
# mode; one-region processes in Kubernetes always listen on 50051) and the
# gateway's HTTP.
EXPOSE 50051 8080
ENTRYPOINT ["/usr/local/bin/samling"]
CMD ["serve"]
