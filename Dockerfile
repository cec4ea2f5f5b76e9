# syntax=docker/dockerfile:1
# KeyDesk: one container, configured with environment variables (see .env.example).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# `prepare` compiles, so the sources must be present before `npm ci` runs it.
COPY src ./src
RUN npm ci --no-audit --no-fund \
 # The simulated tenant and the demo are for laptops and CI, never for a deployment.
 && rm -rf dist/simulator dist/demo

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    AUDIT_FILE=/var/lib/keydesk/audit.jsonl
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies in the image; `prepare` would need tsc, so scripts are skipped.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The audit trail must outlive the container: mount a volume here.
RUN mkdir -p /var/lib/keydesk && chown node:node /var/lib/keydesk
VOLUME ["/var/lib/keydesk"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Signals reach node directly (exec form): SIGTERM drains requests and closes the audit log.
CMD ["node", "dist/server/main.js"]
