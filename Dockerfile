# renewctl in a small image: built with the release profile, run as a non-root user, with CA
# certificates for the HTTPS endpoints of Alibaba Cloud and the chat webhooks.
#   docker build -t renewctl .
#   docker run --rm -v "$PWD:/work" -w /work -e ALIBABA_CLOUD_ACCESS_KEY_ID -e ALIBABA_CLOUD_ACCESS_KEY_SECRET renewctl plan
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin renewctl

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 65532 --no-create-home renewctl
COPY --from=build /src/target/release/renewctl /usr/local/bin/renewctl
USER 65532
ENTRYPOINT ["renewctl"]
