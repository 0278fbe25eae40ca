# syntax=docker/dockerfile:1
# Chat backend image: build with dev dependencies, run with production ones only.
#   docker build -t chat-backend .
#   docker run --rm -p 8080:8080 -e JWT_SECRET=... -e DATABASE_URL=... -e REDIS_URL=... -e KAFKA_BROKERS=... chat-backend

# ---- build: compile TypeScript and the Kafka client's native module ----------------------------
FROM node:20-bookworm-slim AS build

# librdkafka is compiled from the package's sources and linked against Debian's libraries
# (CKJS_LINKING=dynamic), the same way as on the development machines and in CI, so the image
# never depends on a prebuilt binary download. Debian packages are left unpinned on purpose: the
# suite's security updates must reach the next build (hadolint DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential python3 \
      libssl-dev libzstd-dev libcurl4-openssl-dev zlib1g-dev libsasl2-dev liblz4-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV CKJS_LINKING=dynamic

# Dependencies first: this layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --build-from-source=@confluentinc/kafka-javascript

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src

# Then production dependencies only; of the Kafka client keep the native module and the shared
# librdkafka it loads through its RUNPATH ($ORIGIN/../deps), not the ~280 MB of sources and objects.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && ckjs=node_modules/@confluentinc/kafka-javascript \
 && mkdir -p /tmp/ckjs/Release /tmp/ckjs/deps \
 && cp "$ckjs"/build/Release/*.node /tmp/ckjs/Release/ \
 && cp -P "$ckjs"/build/deps/librdkafka*.so* /tmp/ckjs/deps/ \
 && rm -rf "$ckjs/build" "$ckjs/deps" \
 && mv /tmp/ckjs "$ckjs/build" \
 && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime

# Only the shared libraries librdkafka was linked against (no compilers, no headers).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libssl3 libzstd1 libcurl4 zlib1g libsasl2-2 liblz4-1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0

WORKDIR /app
# Owned by root and read-only to the app user: the process cannot rewrite its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY drizzle ./drizzle
COPY public ./public

# The node image's unprivileged user (uid 1000).
USER node

EXPOSE 8080

# Readiness, not mere liveness: Compose starts nginx only once the instance can serve (database,
# Redis and Kafka answer), and marks it unhealthy while it shuts down.
HEALTHCHECK --interval=10s --timeout=3s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/actuator/health/readiness').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# main.ts drains on SIGTERM within SHUTDOWN_TIMEOUT_MS (30 s by default): give the container at
# least that long before the engine kills it (docker stop -t / stop_grace_period in Compose).
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
