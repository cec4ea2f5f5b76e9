# syntax=docker/dockerfile:1
# KeyDesk: one container, configured with environment variables (see .env.example).
# Node 24 is an LTS line (supported until 2028); KeyDesk also runs on 22.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# Only the production sources: the simulated tenant and the demo (simulator/) never enter the image.
COPY src ./src
RUN npm ci --ignore-scripts --no-audit --no-fund && npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim AS runtime
# V8 sizes its heap from the host's memory: on a large host it lets the old space grow to about
# four times the live data before collecting (a 35 MB live set peaked at 240 MB RSS under 64
# connections, bench/RESULTS.md). A 512 MB limit makes V8 collect at about 1.4 times, and 8 MB
# semi-spaces bound the young generation: about 140 MB at the same load, whatever the host.
# Override NODE_OPTIONS to change it (keep the old space well above the live set).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=8" \
    HOST=0.0.0.0 \
    PORT=8080 \
    AUDIT_FILE=/var/lib/keydesk/audit.jsonl
WORKDIR /app
COPY package.json package-lock.json ./
# No dev dependencies in the image; `prepare` would need tsc, so scripts are skipped.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The audit trail must outlive the container: mount a volume here. Only KeyDesk's user may read it.
RUN mkdir -p /var/lib/keydesk && chown node:node /var/lib/keydesk && chmod 0700 /var/lib/keydesk
VOLUME ["/var/lib/keydesk"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Signals reach node directly (exec form): SIGTERM drains requests and closes the audit log.
CMD ["node", "dist/src/server/main.js"]
