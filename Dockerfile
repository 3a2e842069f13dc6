# syntax=docker/dockerfile:1
# Gatehouse: build with the dev dependencies, run with the production ones only, as a non-root user,
# on a read-only root filesystem. tini is PID 1, so SIGTERM reaches the gateway, which drains
# in-flight requests (listen.shutdownGrace) and exits 0; zombies are reaped.
#   docker build -t gatehouse .
#   docker run --read-only -p 8080:8080 -v "$PWD/gatehouse.yaml:/etc/gatehouse/config/gatehouse.yaml:ro" gatehouse

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gatehouse \
 && useradd --system --uid 10001 --gid gatehouse --home-dir /nonexistent --shell /usr/sbin/nologin gatehouse
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY examples ./examples
COPY schema ./schema
COPY dashboard ./dashboard
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/gatehouse.js"]
CMD ["start", "-c", "/etc/gatehouse/config/gatehouse.yaml"]
