# syntax=docker/dockerfile:1
# One Dockerfile for every plantmesh service image:
#   docker build --build-arg PACKAGE=mqtt-reader -t plantmesh/plantmesh-mqtt-reader:0.1.0 .
# scripts/build-images.sh builds and pushes them all with the chart's tags.
# Pin it by digest for a release build: NODE_IMAGE=node:20-bookworm-slim@sha256:... scripts/build-images.sh
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
RUN npm install -g pnpm@10.34.9
# Dependencies first, so that a source change does not re-fetch them.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
COPY packages/ packages/
COPY tests/package.json tests/
RUN pnpm install --frozen-lockfile
COPY tsconfig.base.json tsconfig.build.json ./
RUN pnpm build
ARG PACKAGE
# The package with its production dependencies only, workspace packages as their built output, and
# the CycloneDX SBOM of exactly that (it travels in the image as /app/sbom.cdx.json).
RUN pnpm --filter "@plantmesh/${PACKAGE}" deploy --legacy --prod /out
COPY scripts/sbom.ts scripts/
RUN node --import tsx scripts/sbom.ts /out "plantmesh-${PACKAGE}" "$(node -p 'require("/out/package.json").version')" > /tmp/sbom.cdx.json \
 && mv /tmp/sbom.cdx.json /out/sbom.cdx.json

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=1000:1000 /out /app
# The published schemas of the standards the catalog and `plantmesh catalog apply` validate against.
COPY standards/ /app/standards/
ENV PLANTMESH_STANDARDS_DIR=/app/standards
# uid 1000 ("node" in the base image): the chart runs every service as 1000 with a read-only root.
USER 1000
CMD ["node", "dist/main.js"]
