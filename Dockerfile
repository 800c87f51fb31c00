# syntax=docker/dockerfile:1
# The service's image: the release binary, the web console, the ONNX Runtime library and
# the models, assembled by scripts/package (the same script CI runs), on Debian slim,
# running as an unprivileged user.
#
#   docker build -t copilot .
#   docker run -p 8080:8080 -e COPILOT_PLATFORM_TOKEN=… copilot            # API + workers, SQLite
#   docker run … copilot serve --role api | --role worker | migrate        # see helm/copilot

FROM rust:1.95-bookworm AS build
# Node.js 20 for the console, from the official image; Python 3 with venv for the model
# set; protoc for LanceDB's build scripts (scripts/ensure-build-tools would install it).
COPY --from=node:20-bookworm-slim /usr/local/bin/node /usr/local/bin/node
COPY --from=node:20-bookworm-slim /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler python3 python3-venv python3-pip curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV CARGO_TARGET_DIR=/src/target COPILOT_MODELS_DIR=/opt/models
RUN scripts/package /out --release

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 copilot \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/copilot --shell /usr/sbin/nologin copilot \
    && mkdir -p /var/lib/copilot && chown 10001:10001 /var/lib/copilot
COPY --from=build /out /opt/copilot
ENV PATH=/opt/copilot/bin:$PATH \
    COPILOT_LISTEN=0.0.0.0:8080 \
    COPILOT_DATA_DIR=/var/lib/copilot \
    COPILOT_MODELS_DIR=/opt/copilot/models \
    COPILOT_CONSOLE_DIR=/opt/copilot/console \
    COPILOT_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/copilot
VOLUME /var/lib/copilot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["copilot"]
CMD ["serve"]
