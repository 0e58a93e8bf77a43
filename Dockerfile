# One image for every Shoal role: `docker run <image> <role>` runs `node bin/shoal.mjs <role>`,
# the same entry point as `npm run shoal -- <role>` (roles: bridge, runtime, gateway, console,
# query, alerts, reports; deploy/k8s sets one per Deployment).
#
# The base is pinned by tag only (no digest: take the digest from your registry's mirror when you
# promote an image). Checked by test/unit/deploy/dockerfile.test.ts: pinned base, non-root user, no
# secrets in the image, the command line. Not built on the machines that run the tests (no
# container engine there).
#
# Production runs the TypeScript sources through tsx (a dependency, not a dev dependency), as every
# test does: no compile step. The build stage only bundles the console's browser app.

FROM node:20.19-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The operators' console (docs/adr/0018-console.md): esbuild bundles src/console-app into
# dist/console, served by `shoal console` and `shoal query` (console.appDir "" = dist/console).
RUN npm run build:console

FROM node:20.19-bookworm-slim
ENV NODE_ENV=production \
    SHOAL_ENV=prod
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY actors ./actors
COPY config ./config
COPY --from=build /app/dist/console ./dist/console
# Files stay root-owned and read-only for the process: it runs with a read-only root filesystem
# and writes only to /tmp (tsx's compile cache; a volume in Kubernetes) and to data volumes.
RUN groupadd --system --gid 10001 shoal \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shoal
USER 10001:10001
# status (/metrics /healthz /readyz), admin gRPC, query gRPC, console + gRPC-web, gateway gRPC, gateway metrics
EXPOSE 8080 50055 50057 50058 50061 50062
# node is PID 1, without tini: bin/shoal.mjs handles SIGTERM/SIGINT/SIGHUP itself (forwards them to
# its one child, the role process, and exits with it), so signals reach the role and no orphan
# outlives it long enough to need reaping.
ENTRYPOINT ["node", "bin/shoal.mjs"]
CMD ["runtime"]
