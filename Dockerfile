# Builds fedsvc-controller, fedsvc-local-dns and the fedsvc command; runs as non-root.
#   docker build -t fedsvc:0.1.0 .
# One image, three binaries: the controller is the default entrypoint; the in-cluster DNS
# responder's Deployment (deploy/local-dns) runs /usr/local/bin/fedsvc-local-dns.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Each package on its own, with its default features, exactly as `cargo install --path` builds
# it: building them together would unify their features and could hide one a binary lacks.
RUN cargo build --release --locked -p fedsvc-controller \
 && cargo build --release --locked -p fedsvc-local-dns \
 && cargo build --release --locked -p fedsvc-cli

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/fedsvc-controller /usr/local/bin/fedsvc-controller
COPY --from=build /src/target/release/fedsvc-local-dns /usr/local/bin/fedsvc-local-dns
COPY --from=build /src/target/release/fedsvc /usr/local/bin/fedsvc
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/fedsvc-controller"]
