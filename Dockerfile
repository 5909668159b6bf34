# Builds fedsvc-controller, fedsvc-local-dns and the fedsvc command; runs as non-root.
#   docker build -t fedsvc-controller:0.1.0 .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p fedsvc-controller -p fedsvc-local-dns -p fedsvc-cli

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/fedsvc-controller /usr/local/bin/fedsvc-controller
COPY --from=build /src/target/release/fedsvc-local-dns /usr/local/bin/fedsvc-local-dns
COPY --from=build /src/target/release/fedsvc /usr/local/bin/fedsvc
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fedsvc-controller"]
