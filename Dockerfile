# kwmserverd on Debian 12: build stage with the -dev packages, slim run stage with the
# shared libraries only. Configuration by environment as the original image (spec §7.5):
#   docker build -t kwmserverd .
#   docker run -p 8778:8778 -e KWMSERVERD_TURN_URIS="turn:turn.example:443" kwmserverd
# The admin tokens key comes from the Docker secret kwmserverd_admin_tokens_key, extra
# flags from ARGS (or the command).
FROM debian:12 AS build
COPY . /src
RUN /src/scripts/install-deps.sh \
 && cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKWM_BUILD_TESTS=OFF -DKWM_BUILD_BENCH=OFF \
 && cmake --build /build --target kwmserverd \
 && strip /build/kwmserverd

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcaf-core0.17 libcjose0 libfmt9 libjansson4 libre2-9 libspdlog1.10 libssl3 libyaml-cpp0.7 libsystemd0 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin kopano
COPY --from=build /build/kwmserverd /usr/local/bin/kwmserverd
COPY scripts/packaging/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY www /var/lib/kwmserverd/www
ENV KWMSERVERD_LISTEN=0.0.0.0:8778 \
    KWMSERVERD_METRICS_LISTEN=0.0.0.0:6778 \
    KWMSERVERD_LOG_TIMESTAMP=false \
    KWMSERVERD_WWW_ROOT=/var/lib/kwmserverd/www
USER kopano
EXPOSE 8778 6778
# With KWMSERVERD_TLS_CERT set the listener speaks HTTPS only; the check follows it.
HEALTHCHECK --interval=30s --timeout=5s CMD kwmserverd healthcheck --hostname 127.0.0.1:8778 ${KWMSERVERD_TLS_CERT:+--scheme https --insecure}
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
